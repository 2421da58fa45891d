package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;
import org.testcontainers.DockerClientFactory;

/**
 * The Testcontainers backend: for real where Docker runs, otherwise the proof that it skips with a reason
 * rather than failing.
 */
class ContainerBackendTest {

    static boolean dockerAvailable() {
        return DockerClientFactory.instance().isDockerAvailable();
    }

    @Test
    void withoutDockerStartAbortsWithAReason() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dockerAvailable(), "Docker is available here");
        RedisServer redis = RedisServer.builder().backend(RedisServer.Backend.TESTCONTAINERS).build();
        try {
            assertThatThrownBy(redis::start).isInstanceOf(TestAbortedException.class)
                    .hasMessage("Skipped: a Testcontainers Redis was asked for (-Dredis.testcontainers=true or "
                            + "Backend.TESTCONTAINERS), but no Docker environment is available");
        } finally {
            redis.close();
        }
    }

    @Test
    void withDockerTheSameApiIsBackedByAContainer() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dockerAvailable(),
                "no Docker environment: container test skipped");
        try (RedisServer redis = RedisServer.builder().backend(RedisServer.Backend.TESTCONTAINERS)
                .password("pw").aclUser("app", "app-secret", "~*", "+@all", "-flushall").start()) {
            assertThat(redis.uri()).isEqualTo("redis://:pw@" + redis.host() + ":" + redis.port());
            assertThat(redis.command("PING")).isEqualTo("PONG");
            assertThat(redis.version()).startsWith("7.");
            assertThat(redis.command("DEBUG", "SLEEP", "0")).isEqualTo("OK");
            try (RawRedisConnection app = redis.connectAs("app", RedisServer.DEFAULT_TIMEOUT)) {
                assertThatThrownBy(() -> app.command("FLUSHALL")).isInstanceOf(RedisErrorReplyException.class);
            }
            redis.pause();
            try (RawRedisConnection raw = redis.connect(Duration.ofMillis(300))) {
                assertThatThrownBy(() -> raw.command("PING")).isInstanceOf(UncheckedIOException.class)
                        .hasCauseInstanceOf(SocketTimeoutException.class);
            } catch (UncheckedIOException authTimedOut) {
                assertThat(authTimedOut).hasCauseInstanceOf(SocketTimeoutException.class);
            }
            redis.resume();
            assertThat(redis.command("PING")).isEqualTo("PONG");
            assertThatThrownBy(redis::kill).isInstanceOf(TestAbortedException.class)
                    .hasMessageContaining("kill() needs the process backend");
            assertThatThrownBy(redis::restart).isInstanceOf(TestAbortedException.class)
                    .hasMessageContaining("restart() needs");
            assertThatThrownBy(redis::pid).isInstanceOf(TestAbortedException.class).hasMessageContaining("pid() needs");
        }
    }

    @Test
    void readsTheMajorVersionFromTheImageTag() {
        assertThat(ContainerBackend.majorVersion("redis:7-alpine")).isEqualTo(7);
        assertThat(ContainerBackend.majorVersion("redis:6.2")).isEqualTo(6);
        assertThat(ContainerBackend.majorVersion("redis")).isEqualTo(7);
        assertThat(ContainerBackend.majorVersion("registry.local:5000/redis")).isEqualTo(7);
        assertThat(ContainerBackend.majorVersion("registry.local:5000/redis:8.0")).isEqualTo(8);
    }
}
