package io.github.affinitypool.autoconfigure;

import io.lettuce.core.RedisURI;

/**
 * A Redis URI taken from elsewhere in the application (Spring Boot's connection details), used when
 * {@code affinity-pool.redis.url} is not set.
 */
@FunctionalInterface
interface RedisUriSource {

    /** @return the URI, or {@code null} when the source has none */
    RedisURI redisUri();
}
