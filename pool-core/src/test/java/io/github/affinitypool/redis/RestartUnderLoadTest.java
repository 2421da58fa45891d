package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

import io.lettuce.core.RedisException;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.core.PoolClosedException;
import io.github.affinitypool.core.PoolExhaustedException;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/**
 * Redis killed and restarted while both paths are under concurrent load: both recover, every error is a clear one
 * and comes quickly, and the pool's clients in {@code CLIENT LIST} never exceed max-open + shared connections.
 */
@RedisTest(perMethod = true)
class RestartUnderLoadTest {

    private static final int WORKERS = 2;

    private static final int MAX_OPEN = 4;

    private static final int CALLERS = 16;

    @Test
    void bothPathsRecoverFromAKilledRedisWithoutLeaking(RedisServer redis) throws Exception {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("restart")
                .workers(WORKERS)
                .commandTimeout(Duration.ofSeconds(1))
                .poolConfig(AffinityPoolConfig.builder().maxOpen(MAX_OPEN).maxIdlePerWorker(2)
                        .acquireTimeout(Duration.ofSeconds(1)).build())
                .build()) {
            int cap = MAX_OPEN + pool.sharedConnections();
            Load shared = new Load(pool, () -> pool.commands().incr("restart:shared"));
            Load leased = new Load(pool, () -> pool.withConnection(c -> c.incr("restart:leased")).then());
            ClientCounter clients = new ClientCounter(redis, "affinity-pool.restart.");
            try {
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> shared.successes.get() > 200 && leased.successes.get() > 200);

                redis.kill();
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> shared.errors.get() > 50 && leased.errors.get() > 50);
                long sharedBefore = shared.successes.get();
                long leasedBefore = leased.successes.get();
                redis.start();

                await().atMost(Duration.ofSeconds(15)).until(
                        () -> shared.successes.get() > sharedBefore + 200
                                && leased.successes.get() > leasedBefore + 200);
            }
            finally {
                shared.stop();
                leased.stop();
                clients.stop();
            }

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                AffinityPoolStats stats = pool.stats();
                assertThat(stats.total().acquired()).isZero();
                assertThat(stats.total().pending()).isZero();
            });
            assertThat(clients.maximum.get()).as("pool clients in CLIENT LIST, sampled %d times", clients.samples.get())
                    .isBetween(1, cap);
            assertThat(clients.samples.get()).isGreaterThan(5);
            assertThat(redis.clientNames("affinity-pool.restart.")).hasSizeLessThanOrEqualTo(cap);

            for (Load load : List.of(shared, leased)) {
                assertThat(load.unexpected).as("errors that are neither Redis nor pool errors").isEmpty();
                assertThat(load.slowestErrorNanos.get()).as("slowest failure")
                        .isLessThan(Duration.ofSeconds(3).toNanos());
            }
            assertThat(shared.errorTypes).containsKey(RedisPoolConnectionException.class.getSimpleName());
            // Both paths serve again on every worker.
            for (int worker = 0; worker < WORKERS; worker++) {
                assertThat(PoolFixtures.onLoop(pool.loops(), worker, () -> pool.commands().ping()).value())
                        .isEqualTo("PONG");
                assertThat(PoolFixtures.onLoop(pool.loops(), worker, () -> pool.withConnection(c -> c.ping())).value())
                        .isEqualTo("PONG");
            }
        }
    }

    /** Callers on every worker loop, issuing one operation after the other. */
    static final class Load {

        final AtomicLong successes = new AtomicLong();

        final AtomicLong errors = new AtomicLong();

        final AtomicLong slowestErrorNanos = new AtomicLong();

        final Map<String, AtomicInteger> errorTypes = new ConcurrentHashMap<>();

        final List<Throwable> unexpected = java.util.Collections.synchronizedList(new ArrayList<>());

        private final Disposable.Composite callers = Disposables.composite();

        private final AtomicBoolean running = new AtomicBoolean(true);

        Load(RedisAffinityPool<String, String> pool, Supplier<Mono<?>> operation) {
            for (int caller = 0; caller < CALLERS; caller++) {
                int worker = caller % WORKERS;
                callers.add(Mono.defer(() -> {
                    long start = System.nanoTime();
                    return operation.get().then()
                            .doOnSuccess(ignored -> successes.incrementAndGet())
                            .onErrorResume(error -> {
                                record(error, System.nanoTime() - start);
                                // Back off a little on errors so a down Redis does not spin the loops.
                                return Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(5, 15)),
                                        pool.loops().scheduler(worker)).then();
                            });
                }).subscribeOn(pool.loops().scheduler(worker)).repeat(running::get).subscribe());
            }
        }

        private void record(Throwable error, long nanos) {
            errors.incrementAndGet();
            slowestErrorNanos.accumulateAndGet(nanos, Math::max);
            errorTypes.computeIfAbsent(error.getClass().getSimpleName(), ignored -> new AtomicInteger())
                    .incrementAndGet();
            // I/O errors of the broken socket arrive as RedisPoolConnectionException
            // ("... connection to ... lost: ...").
            boolean expected = (error instanceof RedisException || error instanceof PoolExhaustedException
                    || error instanceof PoolClosedException) && error.getMessage() != null
                    && !error.getMessage().isBlank()
                    && (!(error instanceof RedisPoolConnectionException)
                            || error.getMessage().startsWith("Redis pool 'restart' (worker "));
            if (!expected) {
                unexpected.add(error);
            }
        }

        void stop() {
            running.set(false);
            callers.dispose();
        }
    }

    /** Samples the pool's clients in CLIENT LIST in the background. */
    static final class ClientCounter {

        final AtomicInteger maximum = new AtomicInteger();

        final AtomicInteger samples = new AtomicInteger();

        private final Thread thread;

        private volatile boolean running = true;

        ClientCounter(RedisServer redis, String prefix) {
            thread = new Thread(() -> {
                while (running) {
                    try {
                        int count = redis.clientNames(prefix).size();
                        maximum.accumulateAndGet(count, Math::max);
                        samples.incrementAndGet();
                    }
                    catch (RuntimeException redisDown) {
                        // Not reachable while it is killed: nothing to count.
                    }
                    // Sampling cadence, not synchronisation: keep the 2-core machine for the load.
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                }
            }, "client-counter");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join(TIMEOUT.toMillis());
        }
    }
}
