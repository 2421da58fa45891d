package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/** PING on borrow after validate-after-idle: a connection that fails it is closed and the borrower gets another. */
@RedisTest(aclUsers = "checked checked-pw ~* &* +@all")
class ValidationTest {

    @Test
    void connectionFailingThePingOnBorrowIsReplaced(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uriForUser("checked"))
                .name("validate").workers(1)
                .poolConfig(AffinityPoolConfig.builder().maxOpen(1).maxIdlePerWorker(1).validateAfterIdle(Duration.ZERO).build())
                .build()) {
            long first = pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT);
            assertThat(pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT)).as("validated and reused").isEqualTo(first);

            // The idle connection now answers PING with NOPERM: the validation fails.
            assertThat(redis.command("ACL", "SETUSER", "checked", "-ping")).isEqualTo("OK");
            long second = pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT);
            assertThat(redis.command("ACL", "SETUSER", "checked", "+ping")).isEqualTo("OK");

            assertThat(second).isNotEqualTo(first);
            assertThat(pool.stats().total().closedByReason().get(CloseReason.VALIDATION_FAILED)).isEqualTo(1L);
            assertThat(pool.stats().total().acquired()).isZero();
        }
    }
}
