package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static io.github.affinitypool.redis.PoolFixtures.onLoop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;

import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/** A shared connection is replaced after Redis restarts; a frozen Redis fails commands instead of hanging them. */
@RedisTest(perMethod = true)
class SharedRecoveryTest {

    @Test
    void brokenSharedConnectionIsReplacedOnTheSameWorker(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("replace").workers(2)
                .build()) {
            onLoop(pool.loops(), 0, () -> pool.commands().clientId());
            onLoop(pool.loops(), 1, () -> pool.commands().clientId());
            List<StatefulRedisConnection<String, String>> before = pool.openSharedConnections();
            assertThat(before).hasSize(2);

            redis.kill();

            // While Redis is down every call fails fast with a clear error; nothing hangs.
            for (int i = 0; i < 5; i++) {
                long start = System.nanoTime();
                Throwable error = failureOnLoop(pool, 0);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
                assertThat(error).isInstanceOf(RedisException.class);
                // Either the command was written before the loss was noticed (connection ... lost: ...), or the
                // reconnect was refused (shared connection ... is unavailable: Connection refused ...).
                if (error instanceof RedisPoolConnectionException && !error.getMessage().startsWith(
                        "Redis pool 'replace' (worker 0): connection to redis://127.0.0.1:" + redis.port() + " lost: ")) {
                    assertThat(error).hasMessageStartingWith("Redis pool 'replace' (worker 0): shared connection to redis://127.0.0.1:"
                            + redis.port() + " is unavailable: ").hasMessageContaining("Connection refused");
                }
            }

            redis.start();

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(onLoop(pool.loops(), 0, () -> pool.commands().ping()).value()).isEqualTo("PONG");
                assertThat(onLoop(pool.loops(), 1, () -> pool.commands().ping()).value()).isEqualTo("PONG");
            });
            assertThat(onLoop(pool.loops(), 0, () -> pool.commands().clientId()).thread())
                    .isSameAs(loopThread(pool.loops(), 0));
            assertThat(pool.openSharedConnections()).hasSize(2).doesNotContainAnyElementsOf(before);
            assertThat(before).noneMatch(StatefulRedisConnection::isOpen);
            assertThat(onLoop(pool.loops(), 0, () -> pool.commands().clientGetname()).value())
                    .isEqualTo("affinity-pool.replace.shared.w0");
            // One shared connection per worker, nothing left over from the reconnect attempts.
            assertThat(redis.clientNames("affinity-pool.replace.")).containsExactlyInAnyOrder(
                    "affinity-pool.replace.shared.w0", "affinity-pool.replace.shared.w1");
        }
    }

    @Test
    void frozenRedisFailsCommandsWithinTheCommandTimeout(RedisServer redis) {
        Duration commandTimeout = Duration.ofMillis(300);
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("frozen").workers(1)
                .commandTimeout(commandTimeout).build()) {
            long id = pool.commands().clientId().block(TIMEOUT);
            redis.pause();
            try {
                long start = System.nanoTime();
                Throwable error = failureOnLoop(pool, 0);
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertThat(error).isInstanceOf(RedisCommandTimeoutException.class)
                        .hasMessageContaining("Command timed out after 300 millisecond(s)");
                assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(250)).isLessThan(Duration.ofSeconds(3));
            }
            finally {
                redis.resume();
            }
            // The late reply of the timed-out command is consumed in order; the connection keeps working.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(
                    () -> assertThat(pool.commands().clientId().block(TIMEOUT)).isEqualTo(id));
            assertThat(pool.commands().echo("after").block(TIMEOUT)).isEqualTo("after");
        }
    }

    private static Throwable failureOnLoop(RedisAffinityPool<String, String> pool, int worker) {
        try {
            onLoop(pool.loops(), worker, () -> pool.commands().get("key"));
        }
        catch (CompletionException ex) {
            return ex.getCause();
        }
        throw new AssertionError("expected the command to fail");
    }
}
