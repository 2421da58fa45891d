package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import io.github.affinitypool.core.AcquireTimeoutException;
import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.redis.RedisLease;
import io.github.affinitypool.redis.RedisPoolConnectionException;
import io.github.affinitypool.sample.reliability.HttpLoad.Outcome;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;
import io.lettuce.core.RedisCommandTimeoutException;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import static io.github.affinitypool.sample.reliability.RedisKilledUnderLoadTest.millis;
import static io.github.affinitypool.sample.reliability.RedisKilledUnderLoadTest.okAfter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 2: Redis frozen with SIGSTOP for 5 s (no TCP reset: the sockets stay open, nothing answers). Commands time
 * out at command-timeout; borrowers time out at acquire-timeout with the documented message; no event loop blocks
 * (they keep serving a non-Redis endpoint and running tasks); after SIGCONT everything recovers; and the connections
 * whose commands timed out are closed, never handed to the next borrower: exclusive ones on release, the shared ones
 * when the health-check PING that a timeout starts goes unanswered too.
 */
@RedisTest
class RedisFrozenTest {

    private static final int MAX_OPEN = 4;

    private static final Duration ACQUIRE_TIMEOUT = Duration.ofMillis(500);

    private static final Duration COMMAND_TIMEOUT = Duration.ofMillis(2000);

    private static final Duration FREEZE = Duration.ofSeconds(5);

    /** How late past its timeout a failure may arrive (the "+ 1 s"). */
    private static final long SLACK_MILLIS = 1000;

    private static final int EXTRA_BORROWERS = 8;

    private static final String LOCAL = "/reliability/local";

    private static final String SHARED = "/reliability/shared/";

    private static final String LEASE = "/reliability/lease/";

    /** The documented acquire-timeout message, for this pool with every connection held. */
    private static final Pattern ALL_HELD_TIMEOUT = Pattern.compile("Redis pool 'rel' \\(worker \\d\\): no connection "
            + "within 500 ms \\(open 4/4, idle 0, pending [1-9]\\d*\\); "
            + "raise affinity-pool\\.redis\\.pool\\.max-open or acquire-timeout");

    /**
     * The documented acquire-timeout message, whatever the state: while connections to the frozen Redis are being
     * opened it names them and advises on the opening instead.
     */
    private static final Pattern ANY_TIMEOUT = Pattern.compile("io\\.github\\.affinitypool\\.core\\."
            + "AcquireTimeoutException: Redis pool 'rel' \\(worker \\d\\): no connection within 500 ms "
            + "\\(open \\d/4(, connecting \\d)?, idle \\d, pending \\d+\\); "
            + "(raise affinity-pool\\.redis\\.pool\\.max-open or acquire-timeout|opening a connection takes longer"
            + " than the acquire timeout: check the server, or raise "
            + "affinity-pool\\.redis\\.pool\\.acquire-timeout or max-concurrent-connects)");

    /**
     * A shared command's failure once its connection was closed for not answering the health check: in flight then,
     * or waiting for the reconnect, whose handshake the frozen server does not answer either.
     */
    private static final Pattern SHARED_CLOSED = Pattern.compile("io\\.github\\.affinitypool\\.redis\\."
            + "RedisPoolConnectionException: Redis pool 'rel' \\(worker \\d\\): "
            + "(connection to redis://127\\.0\\.0\\.1:\\d+ lost: "
            + "no answer to a health-check PING within 2000 ms after a command timed out"
            + "|shared connection to redis://127\\.0\\.0\\.1:\\d+ is unavailable: .*)");

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void timeoutsFireOnTimeLoopsStayFreeAndTimedOutConnectionsAreClosed(RedisServer redis) throws Exception {
        try (ReliabilityApp app = ReliabilityApp.start(redis,
                "affinity-pool.redis.pool.max-open=" + MAX_OPEN,
                "affinity-pool.redis.pool.acquire-timeout=" + ACQUIRE_TIMEOUT.toMillis() + "ms",
                "affinity-pool.redis.command-timeout=" + COMMAND_TIMEOUT.toMillis() + "ms")) {
            RedisAffinityPool<String, String> pool = app.pool;
            int workers = pool.loops().size();
            assertThat(app.get(SHARED + "warm").block(Duration.ofSeconds(10)).status()).isEqualTo(200);
            assertThat(app.get(LEASE + "warm").block(Duration.ofSeconds(10)).status()).isEqualTo(200);

            // Every exclusive connection leased, one per worker in turn; note which Redis clients they are.
            List<RedisLease<String, String>> held = new ArrayList<>();
            Set<Long> heldIds = new HashSet<>();
            for (int i = 0; i < MAX_OPEN; i++) {
                RedisLease<String, String> lease = onLoop(pool, i % workers, pool::acquire)
                        .block(Duration.ofSeconds(10));
                held.add(lease);
                heldIds.add(lease.reactive().clientId().block(Duration.ofSeconds(10)));
            }

            Map<Integer, Long> sharedIds = new TreeMap<>();
            for (int worker = 0; worker < workers; worker++) {
                sharedIds.put(worker,
                        onLoop(pool, worker, () -> pool.commands().clientId()).block(Duration.ofSeconds(10)));
            }

            List<Timed> commands = Collections.synchronizedList(new ArrayList<>());
            List<Timed> sharedCommands = Collections.synchronizedList(new ArrayList<>());
            List<Timed> borrowers = Collections.synchronizedList(new ArrayList<>());
            List<Outcome> outcomes;
            long frozenAt;
            long resumedAt;
            long worstLoopWait;
            try (LoopProbe loopProbe = new LoopProbe(pool.loops())) {
                redis.pause();
                frozenAt = System.nanoTime();
                // A shared command on each worker, sent before any other: each times out, and starts its connection's
                // health check.
                for (int worker = 0; worker < workers; worker++) {
                    timed(onLoop(pool, worker, () -> pool.commands().incr("frozen"))).subscribe(sharedCommands::add);
                }
                HttpLoad load = new HttpLoad(app, 24, i -> switch (i % 3) {
                    case 0 -> LOCAL;
                    case 1 -> SHARED + "f" + i;
                    default -> LEASE + "f" + i;
                }, Duration.ofSeconds(15));
                try {
                    // A command on each held connection: times out, and the lease is released after the failure.
                    for (RedisLease<String, String> lease : held) {
                        timed(onLoop(pool, lease.worker(), () -> lease.reactive().incr("frozen")))
                                .flatMap(result -> lease.release().thenReturn(result))
                                .subscribe(commands::add);
                    }
                    // Borrowers beyond max-open wait, then time out.
                    for (int i = 0; i < EXTRA_BORROWERS; i++) {
                        timed(onLoop(pool, i % workers, pool::acquire)).subscribe(borrowers::add);
                    }
                    // The freeze lasts 5 s, or until every worker's shared connection was closed by its health check
                    // (about twice the command timeout after the first shared command, so within the 5 s as a rule).
                    await().atMost(Duration.ofSeconds(30)).until(() -> System.nanoTime() - frozenAt >= FREEZE.toNanos()
                            && commands.size() == MAX_OPEN && sharedCommands.size() == workers
                            && borrowers.size() == EXTRA_BORROWERS && pool.sharedStats().open() == 0);

                    redis.resume();
                    resumedAt = System.nanoTime();
                    await().atMost(Duration.ofSeconds(15)).until(() -> load.count(okAfter(SHARED, resumedAt)) >= 50
                            && load.count(okAfter(LEASE, resumedAt)) >= 50);
                }
                finally {
                    if (redis.isPaused()) {
                        redis.resume();
                    }
                    assertThat(load.stop(Duration.ofSeconds(20))).as("every client's last request ended").isTrue();
                }
                outcomes = load.outcomes();
                worstLoopWait = loopProbe.worstWaitMillis();
            }

            // Commands on the frozen server failed at command-timeout (plus at most the slack), not earlier.
            assertThat(sharedCommands).hasSize(workers);
            for (Timed command : concat(commands, sharedCommands)) {
                assertThat(command.error()).as("command on a frozen Redis")
                        .isInstanceOf(RedisCommandTimeoutException.class);
                assertThat(command.millis())
                        .isBetween(COMMAND_TIMEOUT.toMillis(), COMMAND_TIMEOUT.toMillis() + SLACK_MILLIS);
            }
            // Borrowers failed at acquire-timeout with the documented message naming the pool state.
            for (Timed borrower : borrowers) {
                assertThat(borrower.error()).isInstanceOf(AcquireTimeoutException.class);
                assertThat(borrower.error().getMessage()).matches(ALL_HELD_TIMEOUT);
                assertThat(borrower.millis()).isBetween(ACQUIRE_TIMEOUT.toMillis(),
                        ACQUIRE_TIMEOUT.toMillis() + SLACK_MILLIS);
            }

            // Over HTTP, during the freeze: the non-Redis endpoint kept answering at once; shared commands failed with
            // a command timeout, leases with an acquire timeout (or a command timeout), each on time.
            List<Outcome> frozen = outcomes.stream()
                    .filter(o -> o.startNanos() >= frozenAt && o.startNanos() < resumedAt).toList();
            List<Outcome> local = frozen.stream().filter(o -> o.path().equals(LOCAL)).toList();
            assertThat(local).as("non-Redis requests during the freeze").hasSizeGreaterThan(100)
                    .allSatisfy(o -> assertThat(o.status()).isEqualTo(200));
            long slowestLocal = local.stream().mapToLong(Outcome::millis).max().orElseThrow();
            assertThat(slowestLocal).as("slowest non-Redis request during the freeze, ms")
                    .isLessThan(COMMAND_TIMEOUT.toMillis());
            // A loop blocked on the frozen Redis would stall for the command timeout at least (or the whole freeze);
            // the load of this 2-core machine alone has delayed a probe by up to about 0.9 s.
            assertThat(worstLoopWait).as("longest wait of a task for a worker loop, ms")
                    .isLessThan(COMMAND_TIMEOUT.toMillis());
            for (Outcome outcome : frozen) {
                if (outcome.ok() || outcome.endNanos() > resumedAt) {
                    continue; // served, or answered once Redis was back
                }
                assertThat(outcome.error()).as("client-side error %s", outcome).isNull();
                assertThat(outcome.status()).isEqualTo(503);
                if (outcome.body().startsWith(RedisCommandTimeoutException.class.getName() + ": ")) {
                    assertThat(outcome.millis()).as("%s", outcome).isBetween(COMMAND_TIMEOUT.toMillis(),
                            COMMAND_TIMEOUT.toMillis() + SLACK_MILLIS);
                }
                else if (outcome.path().startsWith(SHARED)) {
                    // In flight when the health check closed the shared connection, or waiting for its reconnect.
                    assertThat(outcome.body()).as("%s", outcome).matches(SHARED_CLOSED);
                    assertThat(outcome.millis()).as("%s", outcome).isLessThanOrEqualTo(
                            COMMAND_TIMEOUT.toMillis() + SLACK_MILLIS);
                }
                else {
                    assertThat(outcome.path()).as("%s", outcome).startsWith(LEASE);
                    assertThat(outcome.body()).as("%s", outcome).matches(ANY_TIMEOUT);
                    assertThat(outcome.millis()).as("%s", outcome).isBetween(ACQUIRE_TIMEOUT.toMillis(),
                            ACQUIRE_TIMEOUT.toMillis() + SLACK_MILLIS);
                }
            }
            assertThat(frozen).as("shared commands timed out during the freeze")
                    .anyMatch(o -> o.path().startsWith(SHARED) && o.status() == 503);

            // Recovered: nothing acquired or pending, and the timed-out connections are gone, not reused.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                AffinityPoolStats stats = pool.stats();
                assertThat(stats.total().acquired()).as("acquired, %s", stats.total()).isZero();
                assertThat(stats.total().pending()).as("pending, %s", stats.total()).isZero();
            });
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(clientIds(redis))
                    .as("clients whose command timed out").doesNotContainAnyElementsOf(heldIds)
                    .doesNotContainAnyElementsOf(sharedIds.values()));
            for (int worker = 0; worker < workers; worker++) {
                assertThat(onLoop(pool, worker, () -> pool.commands().clientId()).block(Duration.ofSeconds(10)))
                        .as("worker %d's shared connection after the freeze", worker)
                        .isNotEqualTo(sharedIds.get(worker));
            }
            assertThat(redis.clientNames("affinity-pool.rel.shared.")).as("shared connections after the freeze")
                    .hasSize(workers);
            MeterRegistry registry = app.context.getBean(MeterRegistry.class);
            assertThat(registry.get("redis.pool.connections.closed").tag("kind", "shared")
                    .tag("reason", "validation-failed").counters()).as("shared connections closed by the health check")
                    .hasSize(workers).allSatisfy(counter -> assertThat(counter.count()).isEqualTo(1.0));
            List<RedisLease<String, String>> fresh = Flux.range(0, MAX_OPEN)
                    .flatMap(i -> onLoop(pool, i % workers, pool::acquire))
                    .collectList().block(Duration.ofSeconds(10));
            for (RedisLease<String, String> lease : fresh) {
                assertThat(lease.reactive().clientId().block(Duration.ofSeconds(5))).isNotIn(heldIds);
                String token = "echo-" + lease.hashCode();
                // A reused connection would answer with the late reply of the timed-out INCR instead.
                assertThat(lease.reactive().echo(token).block(Duration.ofSeconds(5))).isEqualTo(token);
                lease.release().block(Duration.ofSeconds(5));
            }
            long resetFailed = pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED);
            assertThat(resetFailed).as("connections closed on release after a timed-out command")
                    .isGreaterThanOrEqualTo(MAX_OPEN);

            Map<String, Long> failures = frozen.stream().filter(o -> !o.ok())
                    .collect(Collectors.groupingBy(o -> o.path().substring(0, o.path().lastIndexOf('/') + 1) + " "
                            + o.body().substring(0, Math.max(0, o.body().indexOf(':'))), TreeMap::new,
                            Collectors.counting()));
            new Figures("2 frozen")
                    .put("commandTimeoutMs", range(concat(commands, sharedCommands)))
                    .put("acquireTimeoutMs", range(borrowers))
                    .put("slowestLocalMs", slowestLocal)
                    .put("localRequests", local.size())
                    .put("worstLoopWaitMs", worstLoopWait)
                    .put("firstShared200AfterResumeMs", firstOk(outcomes, SHARED, resumedAt))
                    .put("firstLease200AfterResumeMs", firstOk(outcomes, LEASE, resumedAt))
                    .put("freezeMs", millis(resumedAt - frozenAt))
                    .put("closedResetFailed", resetFailed)
                    .put("failuresDuringFreeze", failures)
                    .report();
        }
    }

    private static List<Timed> concat(List<Timed> first, List<Timed> second) {
        List<Timed> both = new ArrayList<>(first);
        both.addAll(second);
        return both;
    }

    static <T> Mono<T> onLoop(RedisAffinityPool<String, String> pool, int worker, Supplier<Mono<T>> call) {
        return Mono.defer(call).subscribeOn(pool.loops().scheduler(worker));
    }

    /** @return the outcome of {@code call} and how long it took, never an error */
    static Mono<Timed> timed(Mono<?> call) {
        return Mono.defer(() -> {
            long start = System.nanoTime();
            return call.map(value -> new Timed(System.nanoTime() - start, null))
                    .onErrorResume(error -> Mono.just(new Timed(System.nanoTime() - start, error)));
        });
    }

    static Set<Long> clientIds(RedisServer redis) {
        Set<Long> ids = new HashSet<>();
        for (String line : redis.command("CLIENT", "LIST").split("\n")) {
            if (line.startsWith("id=")) {
                ids.add(Long.parseLong(line.substring(3, line.indexOf(' '))));
            }
        }
        return ids;
    }

    private static String range(List<Timed> timings) {
        return timings.stream().mapToLong(Timed::millis).min().orElse(-1) + ".."
                + timings.stream().mapToLong(Timed::millis).max().orElse(-1);
    }

    private static long firstOk(List<Outcome> outcomes, String path, long since) {
        return millis(outcomes.stream().filter(okAfter(path, since)).mapToLong(Outcome::endNanos).min().orElseThrow()
                - since);
    }

    /**
     * @param nanos how long it took
     * @param error its error, {@code null} on success
     */
    record Timed(long nanos, Throwable error) {

        long millis() {
            return TimeUnit.NANOSECONDS.toMillis(nanos);
        }
    }
}
