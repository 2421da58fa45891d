package io.github.affinitypool.autoconfigure;

import java.util.List;

import org.springframework.core.env.Environment;

/**
 * {@code spring.data.redis.*} connection properties that nothing reads: without Spring Boot's Redis connection details
 * (spring-boot-data-redis not on the class path, or its auto-configuration excluded) the pool would quietly connect to
 * {@code redis://localhost:6379} while the application's configuration names another Redis.
 */
final class UnreadDataRedisProperties {

    private static final String PREFIX = "spring.data.redis.";

    /** The properties that choose a Redis or log in to it; a list may also be given by index ({@code [0]}). */
    private static final List<String> CONNECTION_PROPERTIES = List.of("url", "host", "port", "username", "password",
            "database", "ssl.enabled", "ssl.bundle", "sentinel.master", "sentinel.nodes", "cluster.nodes",
            "masterreplica.nodes");

    private UnreadDataRedisProperties() {
    }

    /**
     * @param environment the application's environment
     * @throws InvalidAffinityPoolPropertyException naming the first such property that is set
     */
    static void reject(Environment environment) {
        for (String name : CONNECTION_PROPERTIES) {
            String property = PREFIX + name;
            String value = environment.getProperty(property, environment.getProperty(property + "[0]"));
            // TLS turned off explicitly is what the pool does anyway.
            if (value != null && !(name.equals("ssl.enabled") && value.equalsIgnoreCase("false"))) {
                throw new InvalidAffinityPoolPropertyException(property, masked(name, value),
                        "Spring Boot's Redis connection details, which read it, are not available (no "
                                + "spring-boot-data-redis on the class path, or its auto-configuration excluded), so "
                                + "the pool would connect to " + AffinityPoolSettingsResolver.DEFAULT_URL + " instead",
                        "Set " + AffinityPoolProperties.PREFIX + ".url, or add "
                                + "org.springframework.boot:spring-boot-data-redis to the application.");
            }
        }
    }

    private static String masked(String name, String value) {
        return switch (name) {
            case "password" -> "******";
            case "url" -> RedisUrls.mask(value);
            default -> value;
        };
    }
}
