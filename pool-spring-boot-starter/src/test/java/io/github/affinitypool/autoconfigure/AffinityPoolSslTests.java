package io.github.affinitypool.autoconfigure;

import java.nio.file.Path;
import java.time.Duration;

import io.github.affinitypool.autoconfigure.actuate.RedisPoolEndpoint;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.TlsRedisServer;
import io.lettuce.core.RedisConnectionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.ssl.SslAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * TLS with a private certificate authority, the Spring Boot way: an SSL bundle named by
 * {@code affinity-pool.redis.ssl.bundle}, or the one of {@code spring.data.redis.ssl.bundle}, gives the pool's
 * connections their trust material, against a redis-server that serves TLS with a self-signed certificate (skipped
 * where redis-server has no TLS).
 */
class AffinityPoolSslTests {

    @TempDir
    static Path dir;

    private static TlsRedisServer tls;

    private static RedisServer redis;

    @BeforeAll
    static void startRedisWithTls() throws Exception {
        tls = TlsRedisServer.startOrAbort(dir);
        redis = tls.server();
    }

    @AfterAll
    static void stopRedis() {
        if (tls != null) {
            tls.close();
        }
    }

    private ApplicationContextRunner runner() {
        return new ApplicationContextRunner()
                .withConfiguration(
                        AutoConfigurations.of(SslAutoConfiguration.class, AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.workers=1",
                        "spring.ssl.bundle.pem.redis.truststore.certificate=file:" + tls.certificate().certificate());
    }

    @Test
    void theBundleNamedInThePropertiesIsTrustedOnBothPaths() {
        runner().withPropertyValues("affinity-pool.redis.url=" + redis.tlsUri(), "affinity-pool.redis.ssl.bundle=redis")
                .run(context -> assertPingsOverTls(context.getBean(RedisAffinityPool.class)));
    }

    @Test
    void aBundleImpliesTlsForARedisUrl() {
        runner().withPropertyValues("affinity-pool.redis.url=redis://127.0.0.1:" + redis.tlsPort(),
                "affinity-pool.redis.ssl.bundle=redis").run(context -> {
                    AffinityPoolSettings settings = context.getBean(AffinityPoolSettings.class);
                    assertThat(settings.redisUri().isSsl()).isTrue();
                    RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
                    assertPingsOverTls(pool);
                    // The endpoint shows the URL as configured, and that the connections use TLS all the same.
                    RedisPoolEndpoint.Configuration described = new RedisPoolEndpoint(pool, settings).snapshot()
                            .configuration();
                    assertThat(described.url()).isEqualTo("redis://127.0.0.1:" + redis.tlsPort());
                    assertThat(described.tls()).isTrue();
                });
    }

    @Test
    void springDataRedisSslBundleIsUsedWithItsConnectionDetails() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(SslAutoConfiguration.class, DataRedisAutoConfiguration.class,
                        AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.workers=1",
                        "spring.ssl.bundle.pem.redis.truststore.certificate=file:" + tls.certificate().certificate(),
                        "spring.data.redis.host=127.0.0.1", "spring.data.redis.port=" + redis.tlsPort(),
                        "spring.data.redis.ssl.bundle=redis")
                .run(context -> {
                    assertThat(context.getBean(AffinityPoolSettings.class).source()).isEqualTo("spring.data.redis");
                    assertPingsOverTls(context.getBean(RedisAffinityPool.class));
                });
    }

    @Test
    void withoutTheBundleTheSelfSignedCertificateIsRefused() {
        runner().withPropertyValues("affinity-pool.redis.url=" + redis.tlsUri()).run(context -> {
            RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
            assertThatThrownBy(() -> pool.withConnection(commands -> commands.ping()).blockLast(Duration.ofSeconds(10)))
                    .isInstanceOf(RedisConnectionException.class);
        });
    }

    @Test
    void anUnknownBundleStopsStartUpNamingTheProperty() {
        runner().withPropertyValues("affinity-pool.redis.url=" + redis.tlsUri(), "affinity-pool.redis.ssl.bundle=nope")
                .run(context -> {
                    assertThat(context).hasFailed();
                    FailureAnalysis analysis = new InvalidAffinityPoolPropertyFailureAnalyzer()
                            .analyze(context.getStartupFailure());
                    assertThat(analysis.getDescription()).isEqualTo(
                            "Invalid value 'nope' for property 'affinity-pool.redis.ssl.bundle': no SSL bundle has "
                                    + "this name.");
                    assertThat(analysis.getAction()).contains("spring.ssl.bundle.pem.nope");
                });
    }

    private static void assertPingsOverTls(RedisAffinityPool<?, ?> pool) {
        assertThat(pool.commands().ping().block(Duration.ofSeconds(10))).isEqualTo("PONG");
        assertThat(pool.withConnection(commands -> commands.ping()).blockLast(Duration.ofSeconds(10)))
                .isEqualTo("PONG");
        assertThat(pool.uri()).startsWith("rediss://");
    }
}
