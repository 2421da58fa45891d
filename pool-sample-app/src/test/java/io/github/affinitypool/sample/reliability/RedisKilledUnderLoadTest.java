package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.sample.reliability.HttpLoad.Outcome;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 1: Redis is killed (SIGKILL) under HTTP load from 64 concurrent clients and restarted on the same port
 * about 2 s later. Every request ends within acquire-timeout + command-timeout + 1 s with a 200 or a clear 503; the
 * service is back within 2 s of Redis being back; afterwards nothing is acquired or pending; and {@code CLIENT LIST}
 * never shows more of the app's connections than max-open + shared + Pub/Sub.
 */
@RedisTest
class RedisKilledUnderLoadTest {

    private static final int CLIENTS = 64;

    private static final int MAX_OPEN = 8;

    private static final Duration ACQUIRE_TIMEOUT = Duration.ofSeconds(1);

    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(1);

    private static final Duration REQUEST_BOUND = ACQUIRE_TIMEOUT.plus(COMMAND_TIMEOUT).plusSeconds(1);

    private static final String SHARED = "/reliability/shared/";

    private static final String LEASE = "/reliability/lease/";

    /** What a failed request may report: the pool's and Lettuce's own errors, each with a message. */
    static final Set<String> CLEAR_FAILURES = Set.of("io.github.affinitypool.redis.RedisPoolConnectionException",
            "io.github.affinitypool.core.AcquireTimeoutException",
            "io.github.affinitypool.core.PendingAcquireLimitException",
            "io.lettuce.core.RedisCommandTimeoutException");

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyRequestEndsInTimeWithA200OrAClear5xxAndTheServiceIsBackWithin2Seconds(RedisServer redis)
            throws Exception {
        try (ReliabilityApp app = ReliabilityApp.start(redis,
                "affinity-pool.redis.pool.max-open=" + MAX_OPEN,
                "affinity-pool.redis.pool.acquire-timeout=" + ACQUIRE_TIMEOUT.toMillis() + "ms",
                "affinity-pool.redis.command-timeout=" + COMMAND_TIMEOUT.toMillis() + "ms")) {
            int cap = MAX_OPEN + app.pool.sharedConnections() + pubSubMaxOpen(app);
            long killedAt;
            long backAt;
            List<Outcome> outcomes;
            int peakClients;
            int samples;
            try (ClientListSampler clients = new ClientListSampler(redis, ReliabilityApp.CLIENT_PREFIX)) {
                HttpLoad load = new HttpLoad(app, CLIENTS, i -> (i % 2 == 0 ? SHARED : LEASE) + "k" + i,
                        REQUEST_BOUND.plusSeconds(10));
                try {
                    await().atMost(Duration.ofSeconds(30)).until(() -> load.count(ok(SHARED)) >= 200
                            && load.count(ok(LEASE)) >= 200);

                    killedAt = System.nanoTime();
                    redis.kill();
                    // Down for about 2 s, long enough for both paths to have reported it.
                    await().atMost(Duration.ofSeconds(30)).until(() -> System.nanoTime() - killedAt
                            >= TimeUnit.SECONDS.toNanos(2)
                            && load.count(failedAfter(SHARED, killedAt)) > 0
                            && load.count(failedAfter(LEASE, killedAt)) > 0);

                    redis.start();
                    backAt = System.nanoTime();
                    await().atMost(Duration.ofSeconds(30)).until(() -> System.nanoTime() - backAt
                            >= TimeUnit.SECONDS.toNanos(3)
                            && load.count(okAfter(SHARED, backAt)) >= 200 && load.count(okAfter(LEASE, backAt)) >= 200);
                }
                finally {
                    assertThat(load.stop(REQUEST_BOUND.plusSeconds(10))).as("every client's last request ended")
                            .isTrue();
                }
                outcomes = load.outcomes();
                peakClients = clients.maximum();
                samples = clients.samples();
            }

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                AffinityPoolStats stats = app.pool.stats();
                assertThat(stats.total().acquired()).as("acquired, %s", stats.total()).isZero();
                assertThat(stats.total().pending()).as("pending, %s", stats.total()).isZero();
            });

            // Every request ended in time, with a 200 or a clear 503.
            long slowest = outcomes.stream().mapToLong(Outcome::millis).max().orElse(0);
            List<Outcome> unclear = outcomes.stream().filter(outcome -> !outcome.ok() && !isClearFailure(outcome))
                    .limit(5).toList();
            assertThat(unclear).as("requests that failed without a clear 503").isEmpty();
            assertThat(slowest).as("slowest request, ms").isLessThanOrEqualTo(REQUEST_BOUND.toMillis());

            // Service back within 2 s: no request that started later than that after Redis was back failed.
            Map<String, Long> recovery = new TreeMap<>();
            for (String path : List.of(SHARED, LEASE)) {
                long lastFailedStart = outcomes.stream().filter(failedAfter(path, backAt))
                        .mapToLong(Outcome::startNanos).max().orElse(backAt);
                long firstOk = outcomes.stream().filter(okAfter(path, backAt)).mapToLong(Outcome::endNanos).min()
                        .orElseThrow();
                recovery.put(path + " last failed start", millis(lastFailedStart - backAt));
                recovery.put(path + " first 200", millis(firstOk - backAt));
                assertThat(millis(lastFailedStart - backAt)).as("%s: service back after Redis was back, ms", path)
                        .isLessThanOrEqualTo(2000);
            }

            assertThat(samples).as("CLIENT LIST samples").isGreaterThan(20);
            assertThat(peakClients).as("most app connections in CLIENT LIST (cap %d)", cap).isBetween(1, cap);

            Map<String, Long> failures = outcomes.stream().filter(outcome -> !outcome.ok())
                    .collect(Collectors.groupingBy(
                            outcome -> outcome.path().substring(0, outcome.path().lastIndexOf('/'))
                                    + " " + outcome.body().substring(0, outcome.body().indexOf(':')),
                            TreeMap::new, Collectors.counting()));
            new Figures("1 killed under load")
                    .put("requests", outcomes.size())
                    .put("failed", outcomes.stream().filter(outcome -> !outcome.ok()).count())
                    .put("slowestMs", slowest)
                    .put("downMs", millis(backAt - killedAt))
                    .put("recoveryMs", recovery)
                    .put("peakAppClients", peakClients)
                    .put("cap", cap)
                    .put("failures", failures)
                    .report();
        }
    }

    static int pubSubMaxOpen(ReliabilityApp app) {
        Integer configured = app.context.getBean(io.github.affinitypool.autoconfigure.AffinityPoolProperties.class)
                .getPubSub().getMaxOpen();
        return configured != null ? configured : app.pool.loops().size();
    }

    static boolean isClearFailure(Outcome outcome) {
        if (outcome.error() != null || outcome.status() != 503) {
            return false;
        }
        int colon = outcome.body().indexOf(": ");
        if (colon < 0) {
            return false;
        }
        String type = outcome.body().substring(0, colon);
        String message = outcome.body().substring(colon + 2);
        return CLEAR_FAILURES.contains(type) && !message.isBlank() && !"null".equals(message);
    }

    static Predicate<Outcome> ok(String path) {
        return outcome -> outcome.ok() && outcome.path().startsWith(path);
    }

    static Predicate<Outcome> okAfter(String path, long nanos) {
        return outcome -> outcome.ok() && outcome.path().startsWith(path) && outcome.startNanos() >= nanos;
    }

    static Predicate<Outcome> failedAfter(String path, long nanos) {
        return outcome -> !outcome.ok() && outcome.path().startsWith(path) && outcome.startNanos() >= nanos;
    }

    static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
