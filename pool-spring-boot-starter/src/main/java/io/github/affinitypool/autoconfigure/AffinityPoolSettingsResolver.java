package io.github.affinitypool.autoconfigure;

import io.github.affinitypool.autoconfigure.AffinityPoolProperties.Mode;
import io.github.affinitypool.redis.RedisUris;
import io.lettuce.core.RedisURI;

import org.springframework.boot.ssl.NoSuchSslBundleException;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.core.env.Environment;

/**
 * Resolves the mode, the worker count and the Redis URI from the properties and the application, and validates
 * the properties against them.
 */
final class AffinityPoolSettingsResolver {

    static final String DEFAULT_URL = "redis://localhost:6379";

    private AffinityPoolSettingsResolver() {
    }

    /**
     * @param properties the bound properties
     * @param serverLoops the Reactor Netty web server's loops, or {@code null} when the application runs no such server
     * @param uriSource Spring Boot's Redis connection details, or {@code null} when absent
     * @param sslBundles the application's SSL bundles, or {@code null} when absent
     * @param environment the application's environment, to find {@code spring.data.redis.*} set where nothing reads it
     * @return the resolved settings
     * @throws InvalidAffinityPoolPropertyException when a property is invalid
     */
    static AffinityPoolSettings resolve(AffinityPoolProperties properties, ServerLoops serverLoops,
            RedisUriSource uriSource, SslBundles sslBundles, Environment environment) {
        Mode mode = resolveMode(properties.getMode(), serverLoops);
        int workers = (mode == Mode.INTEGRATED) ? serverLoops.workers()
                : (properties.getWorkers() != null) ? properties.getWorkers()
                : Runtime.getRuntime().availableProcessors();
        AffinityPoolPropertiesValidator.validate(properties, workers);
        ServerLoops loops = (mode == Mode.INTEGRATED) ? serverLoops : null;
        SslBundle namedBundle = namedSslBundle(properties.getSsl().getBundle(), sslBundles);
        String url = properties.getUrl();
        if (url != null) {
            return new AffinityPoolSettings(withSsl(parse(url), namedBundle), RedisUrls.mask(url),
                    AffinityPoolProperties.PREFIX + ".url", mode, workers, loops, namedBundle);
        }
        RedisURI fromDetails = (uriSource != null) ? uriSource.redisUri() : null;
        if (fromDetails == null) {
            UnreadDataRedisProperties.reject(environment);
        }
        SslBundle bundle = (namedBundle != null || fromDetails == null) ? namedBundle : uriSource.sslBundle();
        RedisURI uri = withSsl((fromDetails != null) ? fromDetails : RedisURI.create(DEFAULT_URL), bundle);
        return new AffinityPoolSettings(uri, RedisUris.describe(uri, RedisUrls.MASK),
                (fromDetails != null) ? "spring.data.redis" : "default", mode, workers, loops, bundle);
    }

    private static SslBundle namedSslBundle(String name, SslBundles sslBundles) {
        if (name == null) {
            return null;
        }
        String property = AffinityPoolProperties.PREFIX + ".ssl.bundle";
        if (sslBundles == null) {
            throw new InvalidAffinityPoolPropertyException(property, name, "the application has no SSL bundles",
                    defineBundle(name));
        }
        try {
            return sslBundles.getBundle(name);
        }
        catch (NoSuchSslBundleException ex) {
            throw new InvalidAffinityPoolPropertyException(property, name, "no SSL bundle has this name",
                    defineBundle(name));
        }
    }

    private static String defineBundle(String name) {
        return "Define the bundle under spring.ssl.bundle.pem." + name + " or spring.ssl.bundle.jks." + name
                + ", or set " + AffinityPoolProperties.PREFIX + ".ssl.bundle to the name of one that exists.";
    }

    /** A bundle implies TLS, as {@code spring.data.redis.ssl.bundle} does for Spring Data Redis. */
    private static RedisURI withSsl(RedisURI uri, SslBundle bundle) {
        if (bundle != null) {
            uri.setSsl(true);
        }
        return uri;
    }

    private static Mode resolveMode(Mode configured, ServerLoops serverLoops) {
        if (configured == Mode.INTEGRATED && serverLoops == null) {
            throw new InvalidAffinityPoolPropertyException(AffinityPoolProperties.PREFIX + ".mode", "integrated",
                    "the application runs no Reactor Netty web server whose event loops the pool could share",
                    "Run the application as a WebFlux application on Reactor Netty (in a @SpringBootTest, with "
                            + "webEnvironment RANDOM_PORT or DEFINED_PORT: the default mock environment starts no "
                            + "server), or set " + AffinityPoolProperties.PREFIX + ".mode to auto or standalone.");
        }
        if (configured == Mode.AUTO) {
            return (serverLoops != null) ? Mode.INTEGRATED : Mode.STANDALONE;
        }
        return configured;
    }

    private static RedisURI parse(String url) {
        try {
            return RedisURI.create(url);
        }
        catch (IllegalArgumentException ex) {
            // Lettuce's message may echo the URL, password included: report the masked one only.
            throw new InvalidAffinityPoolPropertyException(AffinityPoolProperties.PREFIX + ".url", RedisUrls.mask(url),
                    "not a valid Redis URL",
                    "Set " + AffinityPoolProperties.PREFIX
                            + ".url to redis://[[user]:password@]host[:port][/database].");
        }
    }
}
