package io.github.affinitypool.sample;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import io.github.affinitypool.testing.RedisServer;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringApplicationRunListener;
import org.springframework.boot.bootstrap.ConfigurableBootstrapContext;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.ConfigurationPropertyState;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Starts a real embedded redis-server (from {@code PATH}, else the binary inside embedded-redis) on a free port
 * when no Redis is configured, so that the sample runs with one command on a fresh machine. With
 * {@code affinity-pool.redis.url} or a {@code spring.data.redis.*} property that says which Redis to use or how to log
 * in to it (url, host, port, username, password, database, TLS, sentinel, cluster, master/replica) set, or
 * {@code sample.embedded-redis.enabled} false, it starts nothing: a Redis the user configured is never replaced, and a
 * password is never dropped in favour of a server that asks for none (the sample has no Spring Data Redis, so the
 * starter then reports such a property as unread instead of connecting to localhost). Other
 * {@code spring.data.redis.*} settings (a timeout, a client name) configure no server, so the embedded one still
 * starts. It starts before the application context exists, so a Redis configured only there (a Testcontainers
 * {@code @ServiceConnection}, a {@code @DynamicPropertySource}) needs that switch set to false.
 * <p>
 * A run listener rather than an environment post-processor because it must hear of every failed start-up: Spring
 * Boot tells each run listener, also when the failure came before the context existed (binding {@code spring.main.*},
 * a bad banner), whereas an application listener added while the environment is prepared misses those, and the
 * detached server would outlive the JVM.
 */
class EmbeddedRedisRunListener implements SpringApplicationRunListener, Ordered {

    static final String ENABLED_PROPERTY = "sample.embedded-redis.enabled";

    /** The {@code spring.data.redis} properties and groups that choose a Redis or log in to it. */
    private static final List<ConfigurationPropertyName> CONNECTION_SETTINGS = Stream
            .of("url", "host", "port", "username", "password", "database", "ssl.bundle", "sentinel", "cluster",
                    "masterreplica")
            .map(name -> ConfigurationPropertyName.of("spring.data.redis." + name))
            .toList();

    private static final Log logger = LogFactory.getLog(EmbeddedRedisRunListener.class);

    /** The server this run started, once it has; handed to the context as a lifecycle bean. */
    private volatile RedisServer server;

    /**
     * @param application the application being run
     * @param args its arguments
     */
    EmbeddedRedisRunListener(SpringApplication application, String[] args) {
    }

    @Override
    public void environmentPrepared(ConfigurableBootstrapContext bootstrapContext,
            ConfigurableEnvironment environment) {
        if (!environment.getProperty(ENABLED_PROPERTY, Boolean.class, true) || isRedisConfigured(environment)) {
            return;
        }
        // Detached: neither a Ctrl-C in the terminal nor the JVM-exit hook stops it before the application is done
        // with it; a lifecycle bean stops it after the pool has closed, so a shutdown logs no connection errors.
        RedisServer started = RedisServer.builder().detached().start();
        server = started;
        environment.getPropertySources().addFirst(new MapPropertySource("embeddedRedis",
                Map.of("affinity-pool.redis.url", started.uri())));
        logger.info("No Redis configured: started embedded redis-server " + started.version() + " on "
                + started.host() + ":" + started.port() + " (stops with the application; set affinity-pool.redis.url "
                + "to use your own)");
    }

    @Override
    public void contextPrepared(ConfigurableApplicationContext context) {
        RedisServer started = server;
        if (started != null) {
            context.getBeanFactory().registerSingleton("embeddedRedisServer", new EmbeddedRedisLifecycle(started));
        }
    }

    /**
     * A start-up that fails before the context is up never reaches the lifecycle's stop. One that fails later (a
     * runner that throws) leaves it to the lifecycle: Spring Boot closes the context after telling the listeners, and
     * stopping the server here would pull it from under the pool, which has not closed yet.
     */
    @Override
    public void failed(ConfigurableApplicationContext context, Throwable exception) {
        RedisServer started = server;
        if (started != null && (context == null || !context.isActive())) {
            started.close();
        }
    }

    private static boolean isRedisConfigured(ConfigurableEnvironment environment) {
        // TLS asked for (ssl.enabled false is what the embedded one does anyway).
        if (environment.containsProperty("affinity-pool.redis.url")
                || environment.getProperty("spring.data.redis.ssl.enabled", Boolean.class, false)) {
            return true;
        }
        // Through the configuration property sources, so that SPRING_DATA_REDIS_HOST and the like count too.
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            for (ConfigurationPropertyName name : CONNECTION_SETTINGS) {
                if (source.getConfigurationProperty(name) != null
                        || source.containsDescendantOf(name) == ConfigurationPropertyState.PRESENT) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public int getOrder() {
        // After Spring Boot's own run listener, whose environment-prepared event loads the config data
        // (application.yml, command line) and initialises logging: a configured URL is seen, and the line is logged.
        return Ordered.LOWEST_PRECEDENCE;
    }
}
