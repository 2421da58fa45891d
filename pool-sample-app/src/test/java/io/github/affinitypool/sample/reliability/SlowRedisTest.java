package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import io.github.affinitypool.core.AcquireTimeoutException;
import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.core.PendingAcquireLimitException;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.redis.RedisLease;
import io.github.affinitypool.sample.reliability.RedisFrozenTest.Timed;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

import static io.github.affinitypool.sample.reliability.RedisFrozenTest.onLoop;
import static io.github.affinitypool.sample.reliability.RedisFrozenTest.timed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 3: a slow Redis ({@code DEBUG SLEEP}) while every exclusive lease is held by a slow command. New borrowers
 * wait, then fail at acquire-timeout with the message naming the pool state; with {@code max-pending-acquires = 0}
 * they fail at once with the pending-limit error instead of waiting.
 */
@RedisTest
class SlowRedisTest {

    private static final int MAX_OPEN = 2;

    private static final int SLEEP_SECONDS = 2;

    private static final int BORROWERS = 6;

    private static final Pattern WAITED_AND_TIMED_OUT = Pattern.compile("Redis pool 'rel' \\(worker \\d\\): "
            + "no connection within 500 ms \\(open 2/2, idle 0, pending [1-9]\\d*\\); "
            + "raise affinity-pool\\.redis\\.pool\\.max-open or acquire-timeout");

    private static final String NO_WAITING = "no connection free and waiting is disabled (open 2/2, idle 0, pending 0, "
            + "max-pending-acquires 0); raise affinity-pool.redis.pool.max-pending-acquires or max-open";

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void borrowersWaitThenFailAtAcquireTimeoutNamingThePoolState(RedisServer redis) {
        try (ReliabilityApp app = ReliabilityApp.start(redis, "affinity-pool.redis.pool.max-open=" + MAX_OPEN,
                "affinity-pool.redis.pool.acquire-timeout=500ms")) {
            RedisAffinityPool<String, String> pool = app.pool;
            int workers = pool.loops().size();
            warmUpHttp(app);
            SlowLeases slow = SlowLeases.holdAll(pool);

            List<Timed> borrowers = Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < BORROWERS; i++) {
                timed(onLoop(pool, i % workers, pool::acquire)).subscribe(borrowers::add);
            }
            List<HttpLoad.Outcome> http = Flux.range(0, BORROWERS)
                    .flatMap(i -> timedGet(app, "/reliability/lease/slow" + i))
                    .collectList().block(Duration.ofSeconds(20));
            await().atMost(Duration.ofSeconds(10)).until(() -> borrowers.size() == BORROWERS);

            for (Timed borrower : borrowers) {
                assertThat(borrower.error()).isInstanceOf(AcquireTimeoutException.class);
                assertThat(borrower.error().getMessage()).matches(WAITED_AND_TIMED_OUT);
                assertThat(borrower.millis()).as("waited, ms").isBetween(500L, 1500L);
            }
            for (HttpLoad.Outcome outcome : http) {
                assertThat(outcome.status()).as("%s", outcome).isEqualTo(503);
                assertThat(outcome.body()).startsWith(AcquireTimeoutException.class.getName() + ": ");
                assertThat(outcome.body().substring(outcome.body().indexOf(": ") + 2)).matches(WAITED_AND_TIMED_OUT);
                assertThat(outcome.millis()).as("waited, ms").isBetween(500L, 1500L);
            }
            // Then the leases go back and the pool serves again.
            slow.releaseAndAwait();
            assertThat(app.get("/reliability/lease/after").block(Duration.ofSeconds(10)).status()).isEqualTo(200);
            AffinityPoolStats stats = pool.stats();
            assertThat(stats.total().timeouts()).as("acquire timeouts counted").isEqualTo(2L * BORROWERS);
            assertThat(stats.total().acquired()).isZero();
            assertThat(stats.total().pending()).isZero();
            new Figures("3 slow, waiting").put("borrowerWaitMs", range(borrowers))
                    .put("httpWaitMs", http.stream().mapToLong(HttpLoad.Outcome::millis).min().orElse(-1) + ".."
                            + http.stream().mapToLong(HttpLoad.Outcome::millis).max().orElse(-1))
                    .put("slowCommandMs", slow.slowCommandMillis())
                    .report();
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void withNoPendingAcquiresAllowedBorrowersFailAtOnce(RedisServer redis) {
        try (ReliabilityApp app = ReliabilityApp.start(redis, "affinity-pool.redis.pool.max-open=" + MAX_OPEN,
                "affinity-pool.redis.pool.acquire-timeout=5s", "affinity-pool.redis.pool.max-pending-acquires=0")) {
            RedisAffinityPool<String, String> pool = app.pool;
            int workers = pool.loops().size();
            warmUpHttp(app);
            SlowLeases slow = SlowLeases.holdAll(pool);

            List<Timed> borrowers = Flux.range(0, BORROWERS)
                    .flatMap(i -> timed(onLoop(pool, i % workers, pool::acquire)))
                    .collectList().block(Duration.ofSeconds(10));
            List<HttpLoad.Outcome> http = Flux.range(0, BORROWERS)
                    .flatMap(i -> timedGet(app, "/reliability/lease/nowait" + i))
                    .collectList().block(Duration.ofSeconds(10));

            for (Timed borrower : borrowers) {
                assertThat(borrower.error()).isInstanceOf(PendingAcquireLimitException.class);
                assertThat(borrower.error().getMessage()).matches("Redis pool 'rel' \\(worker \\d\\): "
                        + Pattern.quote(NO_WAITING));
                // At once: far below the 5 s acquire timeout, while the slow leases are still held.
                assertThat(borrower.millis()).as("failed after, ms").isLessThan(1000L);
            }
            for (HttpLoad.Outcome outcome : http) {
                assertThat(outcome.status()).as("%s", outcome).isEqualTo(503);
                assertThat(outcome.body()).startsWith(PendingAcquireLimitException.class.getName() + ": ")
                        .endsWith(NO_WAITING);
                assertThat(outcome.millis()).as("failed after, ms").isLessThan(1000L);
            }
            slow.releaseAndAwait();
            assertThat(app.get("/reliability/lease/after").block(Duration.ofSeconds(10)).status()).isEqualTo(200);
            AffinityPoolStats stats = pool.stats();
            assertThat(stats.total().timeouts()).as("nobody waited for a timeout").isZero();
            assertThat(stats.total().acquired()).isZero();
            assertThat(stats.total().pending()).isZero();
            new Figures("3 slow, max-pending-acquires 0").put("borrowerFailMs", range(borrowers))
                    .put("httpFailMs", http.stream().mapToLong(HttpLoad.Outcome::millis).max().orElse(-1))
                    .report();
        }
    }

    /** Opens the client's connections first, so that the timings below are the server's, not connection set-up. */
    private static void warmUpHttp(ReliabilityApp app) {
        Flux.range(0, BORROWERS).flatMap(i -> app.get("/reliability/local"), BORROWERS)
                .blockLast(Duration.ofSeconds(10));
    }

    private static Mono<HttpLoad.Outcome> timedGet(ReliabilityApp app, String path) {
        return Mono.defer(() -> {
            long start = System.nanoTime();
            return app.get(path).map(reply -> new HttpLoad.Outcome(path, start, System.nanoTime(), reply.status(),
                    reply.body(), null));
        });
    }

    private static String range(List<Timed> timings) {
        return timings.stream().mapToLong(Timed::millis).min().orElse(-1) + ".."
                + timings.stream().mapToLong(Timed::millis).max().orElse(-1);
    }

    /**
     * Every exclusive connection leased: one runs DEBUG SLEEP (the whole server sleeps), the others a PING queued
     * behind it in Redis. Each lease is released once its command has answered and the test has called
     * {@link #release()}, so the borrowers' outcome does not depend on how fast this loaded machine runs the sleep.
     */
    static final class SlowLeases {

        private final long heldAt = System.nanoTime();

        private volatile long commandsDoneAt;

        private final Sinks.Empty<Void> releaseSignal = Sinks.empty();

        private final List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());

        private final CountDownLatch completed = new CountDownLatch(1);

        static SlowLeases holdAll(RedisAffinityPool<String, String> pool) {
            List<RedisLease<String, String>> leases = Flux.range(0, MAX_OPEN)
                    .flatMap(i -> onLoop(pool, i % pool.loops().size(), pool::acquire))
                    .collectList().block(Duration.ofSeconds(10));
            SlowLeases slow = new SlowLeases();
            Flux.range(0, leases.size())
                    .flatMap(i -> {
                        RedisLease<String, String> lease = leases.get(i);
                        Mono<String> work = i == 0 ? debugSleep(lease, SLEEP_SECONDS) : lease.reactive().ping();
                        return work.doOnError(slow.errors::add).onErrorResume(error -> Mono.empty())
                                .doFinally(signal -> slow.commandsDoneAt = System.nanoTime())
                                .then(slow.releaseSignal.asMono())
                                .then(lease.release());
                    })
                    .then()
                    .doFinally(signal -> slow.completed.countDown())
                    .subscribe();
            return slow;
        }

        /** DEBUG SLEEP: the whole server sleeps, so every command on every connection waits behind it. */
        static Mono<String> debugSleep(RedisLease<String, String> lease, int seconds) {
            return lease.reactive().<String>dispatch(CommandType.DEBUG, new StatusOutput<>(StringCodec.UTF8),
                    new CommandArgs<>(StringCodec.UTF8).add("SLEEP").add(seconds)).next();
        }

        /** Lets the leases go once their slow commands have answered, and waits until they have. */
        void releaseAndAwait() {
            releaseSignal.tryEmitEmpty();
            try {
                assertThat(completed.await(10, TimeUnit.SECONDS)).as("slow leases released").isTrue();
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new AssertionError(ex);
            }
            // The slow commands themselves succeed: the command timeout (5 s) is longer than the sleep.
            assertThat(errors).as("errors of the slow commands").isEmpty();
        }

        /** @return how long the slow commands took */
        long slowCommandMillis() {
            return TimeUnit.NANOSECONDS.toMillis(commandsDoneAt - heldAt);
        }
    }
}
