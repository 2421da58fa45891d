package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;

import io.lettuce.core.protocol.ProtocolVersion;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

import io.github.affinitypool.testing.RedisServer;

/**
 * A server without HELLO (Redis 5, or here one that renamed it away) answers a forced RESP3 handshake with
 * {@code ERR unknown command 'HELLO', with args beginning with: '3' 'AUTH' 'default' '<password>' ...}: the password
 * must not travel on into the pool's errors and logs.
 */
class EchoedCredentialsTest {

    private static final String PASSWORD = "echoed-S3cret-pw";

    @Test
    void aHandshakeErrorThatEchoesThePasswordIsShownWithoutIt() {
        try (RedisServer redis = RedisServer.builder().password(PASSWORD).arg("--rename-command", "HELLO", "")
                .start();
                RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("echo")
                        .workers(1).clientOptions(options -> options.protocolVersion(ProtocolVersion.RESP3))
                        .build()) {
            StepVerifier.create(pool.commands().ping())
                    .expectErrorSatisfies(error -> assertShownWithoutThePassword(error, "shared connection to"))
                    .verify(TIMEOUT);
            StepVerifier.create(pool.acquire())
                    .expectErrorSatisfies(error -> assertShownWithoutThePassword(error, "cannot connect to"))
                    .verify(TIMEOUT);
            StepVerifier.create(pool.subscribe("news"))
                    .expectErrorSatisfies(error -> assertShownWithoutThePassword(error, "Pub/Sub connection to"))
                    .verify(TIMEOUT);
        }
    }

    private static void assertShownWithoutThePassword(Throwable error, String what) {
        assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                .hasMessageContaining("Redis pool 'echo' (worker 0): ")
                .hasMessageContaining(what)
                .hasMessageContaining("unknown command");
        StringWriter trace = new StringWriter();
        error.printStackTrace(new PrintWriter(trace));
        assertThat(trace.toString()).doesNotContain(PASSWORD).doesNotContain(PASSWORD.substring(0, 8));
    }
}
