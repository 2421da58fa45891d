package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.onLoop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

import io.netty.channel.ConnectTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.testing.UnansweredPort;

/**
 * A Redis host that answers no connect (packets dropped, a partition) fails each connect after the pool's connect
 * timeout, with an error that says so, on every path; and the pool is left with nothing open or waiting.
 */
class ConnectTimeoutTest {

    private UnansweredPort port;

    private RedisAffinityPool<String, String> pool;

    @BeforeEach
    void openPool() {
        port = UnansweredPort.open();
        pool = RedisAffinityPool.builder(port.uri()).name("unanswered").workers(1)
                .connectTimeout(Duration.ofMillis(300))
                .poolConfig(AffinityPoolConfig.builder().acquireTimeout(Duration.ofSeconds(10)).build())
                .build();
    }

    @AfterEach
    void close() {
        pool.close();
        port.close();
    }

    @Test
    void timeoutsTheTimersCannotCountAreRefusedByTheBuilder() {
        RedisAffinityPool.Builder<String, String> builder = RedisAffinityPool.builder("redis://localhost:6400");
        assertThatThrownBy(() -> builder.connectTimeout(Duration.ofDays(200_000)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("connectTimeout must be at most 106751 days (292 years), was PT4800000H");
        assertThatThrownBy(() -> builder.commandTimeout(Duration.ofDays(200_000)))
                .hasMessage("commandTimeout must be at most 106751 days (292 years), was PT4800000H");
    }

    @Test
    void closeWaitsForTheSharedConnectUnderWay() {
        // build() started it; the port answers nothing, so it runs until its timeout.
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.sharedStats().connecting() == 1);

        pool.close();

        assertThat(pool.sharedStats().connecting()).isZero();
    }

    @Test
    void closeWaitsForASharedConnectNoLongerThanTheCloseTimeout() {
        try (RedisAffinityPool<String, String> patient = RedisAffinityPool.builder(port.uri()).name("patient")
                .workers(1).connectTimeout(Duration.ofSeconds(60)).commandTimeout(Duration.ofSeconds(60))
                .poolConfig(AffinityPoolConfig.builder().closeTimeout(Duration.ofMillis(200)).build()).build()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> patient.sharedStats().connecting() == 1);

            // Not the 60 s the connect may take (the connect and the handshake timeout), which would also make
            // close() give up on its own wait and throw.
            assertTimeoutPreemptively(Duration.ofSeconds(3), () -> patient.close());
        }
    }

    @Test
    void sharedCommandsFailWithTheConnectTimeout() {
        Throwable error = failureOnLoop(() -> pool.commands().get("k"));

        assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                .hasMessageStartingWith("Redis pool 'unanswered' (worker 0)")
                .hasMessageContaining("connection timed out after 300 ms")
                .hasMessageNotContaining("10000 ms");
        assertThat(rootCause(error)).isInstanceOf(ConnectTimeoutException.class);
    }

    @Test
    void exclusiveBorrowersFailWithTheConnectTimeoutLongBeforeTheirAcquireTimeout() {
        Throwable error = failureOnLoop(() -> pool.withConnection(c -> c.ping()).next());

        assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                .hasMessageStartingWith("Redis pool 'unanswered' (worker 0): cannot connect to " + port.uri())
                .hasMessageContaining("connection timed out after 300 ms");
        assertThat(rootCause(error)).isInstanceOf(ConnectTimeoutException.class);
        assertThat(pool.stats().total().acquired()).isZero();
        assertThat(pool.stats().total().pending()).isZero();
        assertThat(pool.stats().total().open()).isZero();
    }

    @Test
    void subscribersFailWithTheConnectTimeout() {
        Throwable error = failureOnLoop(() -> pool.subscribe("news").next());

        assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                .hasMessageContaining("connection timed out after 300 ms");
        assertThat(pool.pubSubStats().subscribers()).isZero();
    }

    private <T> Throwable failureOnLoop(Supplier<? extends Publisher<T>> call) {
        Throwable thrown = catchThrowable(() -> onLoop(pool.loops(), 0, call));
        assertThat(thrown).as("the call must fail").isInstanceOf(CompletionException.class);
        return thrown.getCause();
    }

    private static Throwable rootCause(Throwable error) {
        Throwable cause = error;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
