package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import io.github.affinitypool.core.AcquireTimeoutException;
import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.sample.reliability.RedisFrozenTest.Timed;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

import static io.github.affinitypool.sample.reliability.RedisFrozenTest.onLoop;
import static io.github.affinitypool.sample.reliability.RedisFrozenTest.timed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 5: 1,000 borrowers arrive at once at a cold pool (every connection it had died with a Redis restart).
 * Connects in flight, counted on the Netty channels from registration to the end of the Redis handshake
 * ({@link ConnectProbe}), never exceed max-concurrent-connects; every borrower is served or times out cleanly.
 */
@RedisTest
class ConnectStormTest {

    private static final int BORROWERS = 1000;

    private static final int MAX_OPEN = 16;

    private static final int MAX_CONCURRENT_CONNECTS = 3;

    private static final Pattern EXCLUSIVE = Pattern.compile("affinity-pool\\.rel\\.w\\d+");

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void concurrentConnectsStayWithinTheLimitAndEveryBorrowerIsServedOrTimesOutCleanly(RedisServer redis) {
        try (ReliabilityApp app = ReliabilityApp.start(redis, "affinity-pool.redis.pool.max-open=" + MAX_OPEN,
                "affinity-pool.redis.pool.max-concurrent-connects=" + MAX_CONCURRENT_CONNECTS)) {
            RedisAffinityPool<String, String> pool = app.pool;
            ConnectProbe probe = app.context.getBean(ConnectProbe.class);
            MeterRegistry meters = app.context.getBean(MeterRegistry.class);
            int workers = pool.loops().size();

            // Warm: every connection opened once; the ones kept idle die with the restart.
            Flux.range(0, MAX_OPEN)
                    .flatMap(i -> onLoop(pool, i % workers, () -> pool.withConnection(c -> c.ping()).next()))
                    .blockLast(Duration.ofSeconds(20));
            int idleBeforeRestart = pool.stats().total().idle();
            redis.restart();
            await().atMost(Duration.ofSeconds(10)).until(() -> probe.inFlight() == 0);
            probe.resetPeak();
            double createdBefore = created(meters);

            long start = System.nanoTime();
            List<Timed> borrowers = Flux.range(0, BORROWERS)
                    .flatMap(i -> timed(onLoop(pool, i % workers, () -> pool.withConnection(c -> c.ping()).next())),
                            BORROWERS)
                    .collectList().block(Duration.ofSeconds(60));
            long stormMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            assertThat(borrowers).hasSize(BORROWERS);
            long served = borrowers.stream().filter(timed -> timed.error() == null).count();
            List<Timed> timedOut = borrowers.stream().filter(timed -> timed.error() != null).toList();
            assertThat(timedOut).as("borrowers that failed otherwise than with an acquire timeout")
                    .allSatisfy(timed -> assertThat(timed.error()).isInstanceOf(AcquireTimeoutException.class)
                            .hasMessageMatching("Redis pool 'rel' \\(worker \\d\\): no connection within 2000 ms .*"));
            assertThat(served + timedOut.size()).isEqualTo(BORROWERS);

            // The limit held, measured on the channels.
            assertThat(probe.peak()).as("most connects in flight at once").isBetween(1, MAX_CONCURRENT_CONNECTS);
            Map<String, Integer> connected = probe.connectedByName();
            assertThat(connected.keySet()).as("connections opened during the storm, by client name")
                    .allMatch(name -> EXCLUSIVE.matcher(name).matches());
            int handshakes = connected.values().stream().mapToInt(Integer::intValue).sum();
            double createdDuringStorm = created(meters) - createdBefore;
            // The probe saw every connection the pool opened (and nothing else).
            assertThat(handshakes).as("handshakes seen by the probe").isEqualTo((int) createdDuringStorm)
                    .isBetween(1, MAX_OPEN);
            assertThat(probe.failed()).as("connects that failed").isZero();

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                AffinityPoolStats stats = pool.stats();
                assertThat(stats.total().acquired()).isZero();
                assertThat(stats.total().pending()).isZero();
                assertThat(stats.total().open()).isLessThanOrEqualTo(MAX_OPEN);
            });
            new Figures("5 connect storm")
                    .put("borrowers", BORROWERS)
                    .put("served", served)
                    .put("timedOut", timedOut.size())
                    .put("stormMs", stormMillis)
                    .put("slowestBorrowerMs", borrowers.stream().mapToLong(Timed::millis).max().orElse(-1))
                    .put("peakConnectsInFlight", probe.peak())
                    .put("maxConcurrentConnects", MAX_CONCURRENT_CONNECTS)
                    .put("opened", handshakes)
                    .put("deadIdleAfterRestart", idleBeforeRestart)
                    .report();
        }
    }

    private static double created(MeterRegistry meters) {
        return meters.find("redis.pool.connections.created").tag("kind", "command").counters().stream()
                .mapToDouble(Counter::count).sum();
    }
}
