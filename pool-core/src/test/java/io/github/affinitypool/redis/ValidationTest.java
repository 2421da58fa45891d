package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/**
 * PING after validate-after-idle, on borrow and in the background maintenance: a connection that fails it is closed,
 * and a borrower gets another.
 */
@RedisTest(aclUsers = "checked checked-pw ~* &* +@all")
class ValidationTest {

    @Test
    void connectionFailingThePingOnBorrowIsReplaced(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uriForUser("checked"))
                .name("validate").workers(1)
                .poolConfig(AffinityPoolConfig.builder().maxOpen(1).maxIdlePerWorker(1)
                        .validateAfterIdle(Duration.ZERO).build())
                .build()) {
            long first = pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT);
            assertThat(pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT)).as("validated and reused")
                    .isEqualTo(first);

            // The idle connection now answers PING with NOPERM: the validation fails.
            assertThat(redis.command("ACL", "SETUSER", "checked", "-ping")).isEqualTo("OK");
            long second = pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT);
            assertThat(redis.command("ACL", "SETUSER", "checked", "+ping")).isEqualTo("OK");

            assertThat(second).isNotEqualTo(first);
            assertThat(pool.stats().total().closedByReason().get(CloseReason.VALIDATION_FAILED)).isEqualTo(1L);
            assertThat(pool.stats().total().acquired()).isZero();
        }
    }

    @Test
    void idleConnectionFailingTheBackgroundPingIsClosedBeforeAnyoneBorrowsIt(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uriForUser("checked"))
                .name("background").workers(1)
                .poolConfig(AffinityPoolConfig.builder().maxOpen(1).maxIdlePerWorker(1)
                        .validateAfterIdle(Duration.ofMillis(200)).evictionInterval(Duration.ofMillis(100)).build())
                .build()) {
            // Borrowed and released on the worker's loop: the connection stays idle there.
            pool.withConnection(c -> c.clientId()).subscribeOn(pool.loops().scheduler(0)).blockLast(TIMEOUT);
            assertThat(pool.stats().workers().get(0).idle()).isEqualTo(1);

            assertThat(redis.command("ACL", "SETUSER", "checked", "-ping")).isEqualTo("OK");
            try {
                await().atMost(TIMEOUT).until(() -> pool.stats().total().closedByReason()
                        .get(CloseReason.VALIDATION_FAILED) == 1L);
            }
            finally {
                assertThat(redis.command("ACL", "SETUSER", "checked", "+ping")).isEqualTo("OK");
            }
            assertThat(pool.stats().total().open()).isZero();
            assertThat(pool.stats().total().acquired()).isZero();
            assertThat(pool.stats().total().hits() + pool.stats().total().misses()).isEqualTo(1);
        }
    }
}
