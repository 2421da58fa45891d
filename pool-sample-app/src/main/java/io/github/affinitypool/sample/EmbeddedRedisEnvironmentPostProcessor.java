package io.github.affinitypool.sample;

import java.util.Map;

import io.github.affinitypool.testing.RedisServer;
import org.apache.commons.logging.Log;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.ConfigurationPropertyState;
import org.springframework.boot.logging.DeferredLogFactory;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Starts a real embedded redis-server (from {@code PATH}, else the binary inside embedded-redis) on a free port
 * when no Redis is configured, so that the sample runs with one command on a fresh machine. With
 * {@code affinity-pool.redis.url} or any {@code spring.data.redis.*} property set, or
 * {@code sample.embedded-redis.enabled} false, it starts nothing: a Redis the user configured is never replaced (the
 * sample has no Spring Data Redis, so the starter then reports {@code spring.data.redis.*} as unread instead of
 * connecting to localhost). It runs before the application context exists, so a Redis configured only there (a
 * Testcontainers {@code @ServiceConnection}, a {@code @DynamicPropertySource}) needs that switch set to false.
 */
class EmbeddedRedisEnvironmentPostProcessor implements EnvironmentPostProcessor, Ordered {

    static final String ENABLED_PROPERTY = "sample.embedded-redis.enabled";

    private static final ConfigurationPropertyName SPRING_DATA_REDIS =
            ConfigurationPropertyName.of("spring.data.redis");

    private final Log logger;

    EmbeddedRedisEnvironmentPostProcessor(DeferredLogFactory logFactory) {
        this.logger = logFactory.getLog(EmbeddedRedisEnvironmentPostProcessor.class);
    }

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (!environment.getProperty(ENABLED_PROPERTY, Boolean.class, true) || isRedisConfigured(environment)) {
            return;
        }
        RedisServer server = RedisServer.builder().start();
        environment.getPropertySources().addFirst(new MapPropertySource("embeddedRedis",
                Map.of("affinity-pool.redis.url", server.uri())));
        // Stopped by a lifecycle bean that runs after the pool has closed, so shutdown logs no connection errors.
        application.addInitializers(context -> context.getBeanFactory()
                .registerSingleton("embeddedRedisServer", new EmbeddedRedisLifecycle(server)));
        logger.info("No Redis configured: started embedded redis-server " + server.version() + " on "
                + server.host() + ":" + server.port() + " (stops with the application; set affinity-pool.redis.url "
                + "to use your own)");
    }

    private static boolean isRedisConfigured(ConfigurableEnvironment environment) {
        if (environment.containsProperty("affinity-pool.redis.url")) {
            return true;
        }
        // Through the configuration property sources, so that SPRING_DATA_REDIS_HOST and the like count too.
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            if (source.containsDescendantOf(SPRING_DATA_REDIS) == ConfigurationPropertyState.PRESENT) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int getOrder() {
        // After the config data (application.yml, command line) is loaded, so a configured URL is seen.
        return Ordered.LOWEST_PRECEDENCE;
    }
}
