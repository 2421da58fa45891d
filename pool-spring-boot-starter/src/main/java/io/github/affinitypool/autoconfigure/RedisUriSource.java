package io.github.affinitypool.autoconfigure;

import io.lettuce.core.RedisURI;

import org.springframework.boot.ssl.SslBundle;

/**
 * A Redis URI taken from elsewhere in the application (Spring Boot's connection details), used when
 * {@code affinity-pool.redis.url} is not set.
 */
@FunctionalInterface
interface RedisUriSource {

    /** @return the URI, or {@code null} when the source has none */
    RedisURI redisUri();

    /** @return the SSL bundle the source's connections use, or {@code null} for none */
    default SslBundle sslBundle() {
        return null;
    }
}
