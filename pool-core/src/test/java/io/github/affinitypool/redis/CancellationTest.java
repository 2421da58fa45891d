package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/** Random cancellations under load (while waiting, while connecting, while holding a lease) leak nothing. */
@RedisTest
class CancellationTest {

    private static final int OPERATIONS = 3000;

    @Test
    void randomCancellationsLeaveNothingAcquiredOrPending(RedisServer redis) {
        int maxOpen = 4;
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("cancel").workers(2)
                .poolConfig(AffinityPoolConfig.builder().maxOpen(maxOpen).acquireTimeout(Duration.ofSeconds(2)).build())
                .build()) {
            SplittableRandom random = new SplittableRandom(42);
            AtomicInteger completed = new AtomicInteger();
            AtomicInteger cancelled = new AtomicInteger();
            AtomicInteger failed = new AtomicInteger();

            Flux.range(0, OPERATIONS)
                    .flatMap(i -> {
                        int worker = i % 2;
                        Mono<?> operation = switch (i % 6) {
                            case 0, 1, 2 -> pool.withConnection(c -> c.incr("cancel:n")).then();
                            // An explicit lease, released on complete, error and cancel like withConnection does.
                            case 3, 4 -> Mono.usingWhen(pool.acquire(), lease -> lease.reactive().incr("cancel:n"),
                                    RedisLease::release);
                            default -> pool.withConnection(c -> c.blpop(0.01, "cancel:empty")).then();
                        };
                        long cancelAfterMicros = random.nextInt(4) == 0 ? Long.MAX_VALUE : random.nextLong(0, 3000);
                        Mono<?> maybeCancelled = cancelAfterMicros == Long.MAX_VALUE ? operation
                                : operation.doOnCancel(cancelled::incrementAndGet)
                                        .take(Duration.ofNanos(cancelAfterMicros * 1000),
                                                pool.loops().scheduler(worker));
                        return maybeCancelled.subscribeOn(pool.loops().scheduler(worker))
                                .doOnSuccess(ignored -> completed.incrementAndGet())
                                .onErrorResume(error -> {
                                    failed.incrementAndGet();
                                    return Mono.empty();
                                });
                    }, 64)
                    .blockLast(Duration.ofSeconds(60));

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                AffinityPoolStats stats = pool.stats();
                assertThat(stats.total().acquired()).as("acquired, %s", stats).isZero();
                assertThat(stats.total().pending()).as("pending, %s", stats).isZero();
                assertThat(stats.total().open()).isLessThanOrEqualTo(maxOpen);
            });
            assertThat(completed.get() + failed.get()).isEqualTo(OPERATIONS);
            assertThat(cancelled.get()).as("operations cancelled").isGreaterThan(OPERATIONS / 4);
            assertThat(failed.get()).as("operations failed").isLessThan(OPERATIONS / 10);
            assertThat(redis.clientNames("affinity-pool.cancel.")).hasSizeLessThanOrEqualTo(
                    maxOpen + pool.sharedConnections());
            // Whatever was left behind, every connection handed out now is clean and works.
            for (int i = 0; i < 2 * maxOpen; i++) {
                assertThat(pool.withConnection(c -> c.echo("ok")).blockLast(TIMEOUT)).isEqualTo("ok");
            }
            assertThat(redis.info("clients").get("blocked_clients")).isEqualTo("0");
        }
    }
}
