package io.github.affinitypool.autoconfigure;

import io.lettuce.core.RedisURI;

import org.springframework.boot.ssl.SslBundle;

/**
 * What the auto-configuration resolved from the properties and the application: the Redis URI to use, the mode
 * and the worker count. Its {@link #toString()} never shows the password.
 *
 * @param redisUri the Redis URI (may carry a password)
 * @param maskedUrl the same URI for display, password masked
 * @param source where the URI came from: {@code affinity-pool.redis.url}, {@code spring.data.redis} or {@code default}
 * @param mode the resolved mode, {@code INTEGRATED} or {@code STANDALONE}
 * @param workers number of workers
 * @param serverLoops the web server's loops in integrated mode, else {@code null}
 * @param sslBundle the SSL bundle of the connections ({@code affinity-pool.redis.ssl.bundle}, else the connection
 *        details'), or {@code null} for the JDK's default trust and no client certificate
 */
public record AffinityPoolSettings(RedisURI redisUri, String maskedUrl, String source, AffinityPoolProperties.Mode mode,
        int workers, ServerLoops serverLoops, SslBundle sslBundle) {

    @Override
    public String toString() {
        return "AffinityPoolSettings{url=" + maskedUrl + ", source=" + source + ", mode=" + mode + ", workers="
                + workers + "}";
    }
}
