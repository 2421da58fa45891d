package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.redis.RedisLease;
import io.github.affinitypool.sample.reliability.CancellationProbe.Phase;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import static io.github.affinitypool.sample.reliability.RedisFrozenTest.onLoop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 4: a storm of 20,000 HTTP requests, most cancelled by the client at a random moment, so that the server
 * cancels them at random points: while waiting for a lease, while a connection is being opened, mid-command,
 * mid-transaction (between MULTI and EXEC), mid-pipeline (auto-flush off). Afterwards nothing is acquired or pending,
 * at most max-open connections are open, and no connection is dirty: each one is in database 0 with no MULTI open and
 * no subscription (checked in Redis for every pool connection), each subsequent lease has auto-flush on, and every
 * request that was not cancelled got a 200.
 */
@RedisTest
class CancellationStormTest {

    private static final int REQUESTS = 20_000;

    private static final int CONCURRENCY = 64;

    private static final int MAX_OPEN = 12;

    /** How long a request the client does not cancel may take: far beyond the acquire timeout (5 s) plus a command. */
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(30);

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void randomCancellationsLeaveNoLeaseBehindAndNoConnectionDirty(RedisServer redis) {
        // One idle connection per worker at most: releases beyond it close connections, so that new ones are opened
        // all through the storm and cancellations also land while connecting.
        try (ReliabilityApp app = ReliabilityApp.start(redis, "affinity-pool.redis.pool.max-open=" + MAX_OPEN,
                "affinity-pool.redis.pool.max-idle-per-worker=1", "affinity-pool.redis.pool.acquire-timeout=5s")) {
            RedisAffinityPool<String, String> pool = app.pool;
            CancellationProbe probe = app.context.getBean(CancellationProbe.class);
            SplittableRandom seeds = new SplittableRandom(20_000);
            Map<String, AtomicLong> outcomes = new ConcurrentHashMap<>();
            List<String> unexpected = new CopyOnWriteArrayList<>();
            long start = System.nanoTime();

            Flux.range(0, REQUESTS).flatMap(i -> {
                SplittableRandom random = seeds.split();
                // A transaction's own phase comes after a lease, SELECT and MULTI, by when most cancellations have
                // landed: 400 of the 6,000 transactions pause up to 20 ms, and their clients cancel within 40 ms.
                boolean slowTransaction = i % 50 == 4;
                String path = switch (i % 10) {
                    case 0, 1, 2, 3 -> "/reliability/lease/c" + (i % 16);
                    case 4, 5, 6 -> "/reliability/tx/c" + (i % 16) + (slowTransaction ? "?pauseMs=20" : "");
                    case 7, 8 -> "/reliability/pipeline/c" + (i % 16);
                    default -> "/reliability/shared/c" + (i % 16);
                };
                String kind = path.substring(0, path.lastIndexOf('/'));
                // A quarter run to the end; the others are cancelled by the client after 0–5 ms, each on a connection
                // of its own outside the client's pool. A cancelled exchange on a kept-alive connection made the
                // client fail the next request on it (PrematureCloseException), and one sent on the pooled connections
                // with Connection: close once left a later request written to a connection that the server never
                // answered (a client-side race: the server had no request in flight).
                boolean cancel = random.nextInt(4) != 0;
                Mono<ReliabilityApp.Reply> request = cancel ? app.getOnOwnConnection(path)
                        : app.get(path, RESPONSE_TIMEOUT);
                long cancelAfter = cancel ? random.nextLong(slowTransaction ? 40_000_000 : 5_000_000) : -1;
                if (cancel) {
                    request = request.timeout(Duration.ofNanos(cancelAfter), Mono.empty());
                }
                return request
                        .doOnNext(reply -> {
                            count(outcomes, kind + " " + reply.status());
                            if (reply.status() != 200) {
                                unexpected.add(path + " -> " + reply.status() + " " + reply.body());
                            }
                        })
                        .switchIfEmpty(Mono.fromRunnable(() -> count(outcomes, kind + " cancelled")))
                        .onErrorResume(error -> {
                            unexpected.add(path + " (cancel after " + cancelAfter + " ns) -> " + error + "; pool "
                                    + pool.stats().total());
                            return Mono.empty();
                        });
            }, CONCURRENCY).blockLast(Duration.ofSeconds(150));
            long stormMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            int handlersRunningAfterTheClient = probe.runningHandlers();

            assertThat(unexpected).as("requests that ran to the end without a 200").isEmpty();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                // A request cancelled by the client may reach its handler late, and take a lease after the checks.
                assertThat(probe.runningHandlers()).as("handlers running").isZero();
                AffinityPoolStats stats = pool.stats();
                assertThat(stats.total().acquired()).as("acquired, %s", stats.total()).isZero();
                assertThat(stats.total().pending()).as("pending, %s", stats.total()).isZero();
                assertThat(stats.total().open()).as("open, %s", stats.total()).isLessThanOrEqualTo(MAX_OPEN);
            });

            // Every connection of the pool, seen from Redis: database 0, no MULTI, no subscription, no blocked client.
            // Once Redis and the pool agree: a connection the pool closed on its last release can still be listed for a
            // moment, and would be counted as a storm connection below.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                int open = pool.stats().total().open();
                assertThat(poolClients(redis)).as("exclusive connections in CLIENT LIST, pool open %d", open)
                        .hasSize(open);
            });
            List<String> exclusive = poolClients(redis);
            assertThat(exclusive).as("exclusive connections in CLIENT LIST").hasSizeLessThanOrEqualTo(MAX_OPEN)
                    .allSatisfy(client -> assertThat(client).contains(" db=0 ").contains(" multi=-1 ")
                            .contains(" sub=0 ").contains(" psub=0 "));
            assertThat(redis.info("clients").get("blocked_clients")).isEqualTo("0");

            // Each subsequent lease (every connection at once): database 0, no MULTI, auto-flush on.
            int workers = pool.loops().size();
            List<RedisLease<String, String>> leases = Flux.range(0, MAX_OPEN)
                    .flatMap(i -> onLoop(pool, i % workers, pool::acquire))
                    .collectList().block(Duration.ofSeconds(10));
            int reused = 0;
            for (RedisLease<String, String> lease : leases) {
                assertThat(lease.connection().isMulti()).as("MULTI open on %s", lease).isFalse();
                // Sent without flushCommands(): it is only answered if auto-flush is on.
                String info = lease.reactive().clientInfo().block(Duration.ofSeconds(2));
                assertThat(info).as("CLIENT INFO of %s", lease).contains(" db=0 ").contains(" multi=-1 ")
                        .contains(" sub=0 ").contains(" psub=0 ");
                if (exclusive.stream()
                        .anyMatch(client -> client.startsWith(info.substring(0, info.indexOf(' ') + 1)))) {
                    reused++;
                }
                assertThat(lease.reactive().echo("clean").block(Duration.ofSeconds(2))).isEqualTo("clean");
            }
            Flux.fromIterable(leases).flatMap(RedisLease::release).blockLast(Duration.ofSeconds(10));
            assertThat(reused).as("leases that were connections of the storm").isEqualTo(exclusive.size());

            // The cancellations landed at every point the scenario names.
            Map<Phase, Long> byPhase = probe.byPhase();
            assertThat(byPhase.get(Phase.ACQUIRING)).as("cancelled while waiting for a lease").isPositive();
            assertThat(probe.acquiringWhileConnecting()).as("cancelled while a connection was being opened")
                    .isPositive();
            assertThat(byPhase.get(Phase.COMMAND)).as("cancelled mid-command").isPositive();
            assertThat(byPhase.get(Phase.TRANSACTION)).as("cancelled mid-transaction").isPositive();
            assertThat(byPhase.get(Phase.PIPELINE)).as("cancelled mid-pipeline").isPositive();

            // And the app still serves every kind of request.
            for (String path : List.of("/reliability/lease/after", "/reliability/tx/after",
                    "/reliability/pipeline/after", "/reliability/shared/after")) {
                assertThat(app.get(path).block(Duration.ofSeconds(10)).status()).as(path).isEqualTo(200);
            }

            AffinityPoolStats stats = pool.stats();
            Map<String, Long> closed = new TreeMap<>();
            stats.total().closedByReason().forEach((reason, count) -> {
                if (count > 0) {
                    closed.put(reason.name(), count);
                }
            });
            Map<String, Long> counted = new TreeMap<>();
            outcomes.forEach((key, value) -> counted.put(key, value.get()));
            new Figures("4 cancellation storm")
                    .put("requests", REQUESTS)
                    .put("stormMs", stormMillis)
                    .put("outcomes", counted)
                    .put("serverCancellations", byPhase)
                    .put("whileConnecting", probe.acquiringWhileConnecting())
                    .put("handlersRunningAfterTheClient", handlersRunningAfterTheClient)
                    .put("opened", stats.total().misses())
                    .put("closedByReason", closed)
                    .put("openAfter", stats.total().open())
                    .report();
        }
    }

    private static void count(Map<String, AtomicLong> outcomes, String key) {
        outcomes.computeIfAbsent(key, ignored -> new AtomicLong()).incrementAndGet();
    }

    /** @return the CLIENT LIST lines of the pool's exclusive connections ({@code affinity-pool.rel.w<n>}) */
    static List<String> poolClients(RedisServer redis) {
        return Arrays.stream(redis.command("CLIENT", "LIST").split("\n"))
                .filter(line -> line.matches(".* name=affinity-pool\\.rel\\.w\\d+ .*"))
                .map(line -> line.trim() + " ")
                .toList();
    }
}
