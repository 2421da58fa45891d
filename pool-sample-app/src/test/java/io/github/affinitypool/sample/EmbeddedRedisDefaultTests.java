package io.github.affinitypool.sample;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import io.github.affinitypool.autoconfigure.InvalidAffinityPoolPropertyException;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.testing.RedisServer;
import org.junit.jupiter.api.Test;

import org.springframework.boot.CommandLineRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * With no Redis configured the app starts its own redis-server, serves {@code /kv} from it and stops it on close.
 */
class EmbeddedRedisDefaultTests {

    @Test
    void startsServesAndStopsAnEmbeddedRedis() {
        RedisServer embedded;
        try (ConfigurableApplicationContext context = SpringApplication.run(SampleApplication.class,
                "--server.port=0")) {
            embedded = context.getBean("embeddedRedisServer", EmbeddedRedisLifecycle.class).server();
            assertThat(embedded.isRunning()).isTrue();
            assertThat(context.getEnvironment().getProperty("affinity-pool.redis.url")).isEqualTo(embedded.uri());
            int port = ((WebServerApplicationContext) context).getWebServer().getPort();
            WebClient client = WebClient.create("http://localhost:" + port);
            client.put().uri("/kv/embedded").contentType(MediaType.TEXT_PLAIN).bodyValue("yes").retrieve()
                    .toBodilessEntity().block(Duration.ofSeconds(5));
            assertThat(embedded.command("GET", "embedded")).isEqualTo("yes");
            assertThat(client.get().uri("/kv/embedded").retrieve().bodyToMono(String.class)
                    .block(Duration.ofSeconds(5))).isEqualTo("yes");
        }
        assertThat(embedded.isRunning()).isFalse();
    }

    @Test
    void startsNothingWhenAUrlIsConfigured() {
        try (RedisServer redis = RedisServer.builder().start();
                ConfigurableApplicationContext context = SpringApplication.run(SampleApplication.class,
                        "--server.port=0", "--affinity-pool.redis.url=" + redis.uri())) {
            assertThat(context.containsBean("embeddedRedisServer")).isFalse();
            assertThat(context.getEnvironment().getProperty("affinity-pool.redis.url")).isEqualTo(redis.uri());
        }
    }

    @Test
    void neverReplacesARedisConfiguredThroughSpringDataRedis() {
        // The sample has no Spring Data Redis: start-up stops and says so, rather than using an embedded Redis (or
        // localhost) in place of the one configured.
        assertThatThrownBy(() -> SpringApplication.run(SampleApplication.class, "--server.port=0",
                "--spring.data.redis.host=cache.internal", "--spring.data.redis.password=s3cret"))
                .rootCause().isInstanceOfSatisfying(InvalidAffinityPoolPropertyException.class,
                        ex -> assertThat(ex.getProperty()).isEqualTo("spring.data.redis.host"))
                .hasMessageNotContaining("s3cret");
        // A password alone means localhost:6379 to Spring Data Redis; an embedded Redis would drop it unasked.
        assertThatThrownBy(() -> SpringApplication.run(SampleApplication.class, "--server.port=0",
                "--spring.data.redis.password=s3cret"))
                .rootCause().isInstanceOfSatisfying(InvalidAffinityPoolPropertyException.class,
                        ex -> assertThat(ex.getProperty()).isEqualTo("spring.data.redis.password"))
                .hasMessageNotContaining("s3cret");
        assertThatThrownBy(() -> SpringApplication.run(SampleApplication.class, "--server.port=0",
                "--spring.data.redis.sentinel.master=cache"))
                .rootCause().isInstanceOfSatisfying(InvalidAffinityPoolPropertyException.class,
                        ex -> assertThat(ex.getProperty()).isEqualTo("spring.data.redis.sentinel.master"));
    }

    @Test
    void aStartUpThatFailsStopsTheEmbeddedRedisItStarted() {
        long before = redisServerChildren();
        assertThatThrownBy(() -> SpringApplication.run(SampleApplication.class, "--server.port=0",
                "--affinity-pool.redis.pool.max-open=-1"))
                .rootCause().isInstanceOfSatisfying(InvalidAffinityPoolPropertyException.class,
                        ex -> assertThat(ex.getProperty()).isEqualTo("affinity-pool.redis.pool.max-open"));
        // Detached from the JVM's exit, so nothing but the failure handling would stop it.
        await().atMost(Duration.ofSeconds(10)).until(() -> redisServerChildren() == before);
    }

    @Test
    void aStartUpThatFailsOnceTheContextIsUpStopsTheEmbeddedRedisAfterThePool() {
        long before = redisServerChildren();
        assertThatThrownBy(() -> new SpringApplication(SampleApplication.class, FailingRunner.class)
                .run("--server.port=0", "--failing-runner.enabled=true")).hasMessage("the runner failed");
        await().atMost(Duration.ofSeconds(10)).until(() -> redisServerChildren() == before);
        assertThat(FailingRunner.redisRunningWhenThePoolClosed).hasValue(true);
    }

    /** Fails the start-up once the context is up, noting whether Redis still ran when the pool closed. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnProperty("failing-runner.enabled")
    static class FailingRunner {

        static final AtomicReference<Boolean> redisRunningWhenThePoolClosed = new AtomicReference<>();

        @Bean
        CommandLineRunner failingRunner(RedisAffinityPool<String, String> pool, EmbeddedRedisLifecycle embedded) {
            return args -> {
                pool.onClose().subscribe(null, null, () -> redisRunningWhenThePoolClosed
                        .set(embedded.server().isRunning()));
                throw new IllegalStateException("the runner failed");
            };
        }
    }

    @Test
    void aStartUpThatFailsBeforeTheContextExistsStopsTheEmbeddedRedisItStarted() {
        long before = redisServerChildren();
        // Binding spring.main.* fails after the embedded Redis started and before any context exists.
        assertThatThrownBy(() -> SpringApplication.run(SampleApplication.class, "--server.port=0",
                "--spring.main.banner-mode=sideways")).hasMessage("Cannot bind to SpringApplication");
        await().atMost(Duration.ofSeconds(10)).until(() -> redisServerChildren() == before);
    }

    @Test
    void theCountOfRedisServersSeesARunningOne() {
        long before = redisServerChildren();
        try (RedisServer redis = RedisServer.builder().start()) {
            assertThat(redisServerChildren()).isEqualTo(before + 1);
        }
    }

    /**
     * Children whose executable is a Redis binary: not only "redis-server", as Debian's /usr/bin/redis-server is a link
     * to redis-check-rdb (the binary decides what to be by the name it was started under), and the JDK reports the
     * link's target, in the command line too; embedded-redis's copies are named redis-server-VERSION.
     */
    private static long redisServerChildren() {
        return ProcessHandle.current().children().filter(child -> child.isAlive() && child.info().command()
                .map(command -> Path.of(command).getFileName().toString().startsWith("redis-")).orElse(false))
                .count();
    }

    @Test
    void aSpringDataRedisSettingThatNamesNoServerStillGetsTheEmbeddedRedis() {
        // A timeout configures no server: skipping the embedded Redis would leave the pool on localhost:6379.
        try (ConfigurableApplicationContext context = SpringApplication.run(SampleApplication.class,
                "--server.port=0", "--spring.data.redis.timeout=3s")) {
            RedisServer embedded = context.getBean("embeddedRedisServer", EmbeddedRedisLifecycle.class).server();
            assertThat(context.getEnvironment().getProperty("affinity-pool.redis.url")).isEqualTo(embedded.uri());
        }
    }
}
