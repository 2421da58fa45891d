package io.github.affinitypool.autoconfigure;

import io.lettuce.core.RedisURI;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.ssl.SslBundle;

/**
 * Reads Spring Boot's {@link DataRedisConnectionDetails} (from {@code spring.data.redis.*}, Testcontainers'
 * {@code @ServiceConnection} or Docker Compose) as a Redis URI. Only a standalone server is supported: the pool pins
 * each connection to one event loop and has no Sentinel or Cluster topology handling.
 */
final class DataRedisUriSource implements RedisUriSource {

    private final ObjectProvider<DataRedisConnectionDetails> connectionDetails;

    DataRedisUriSource(ObjectProvider<DataRedisConnectionDetails> connectionDetails) {
        this.connectionDetails = connectionDetails;
    }

    @Override
    public RedisURI redisUri() {
        DataRedisConnectionDetails details = connectionDetails.getIfAvailable();
        if (details == null) {
            return null;
        }
        DataRedisConnectionDetails.Standalone standalone = details.getStandalone();
        if (standalone == null) {
            throw new InvalidAffinityPoolPropertyException(AffinityPoolProperties.PREFIX + ".url", "(not set)",
                    "spring.data.redis describes a Sentinel, Cluster or master/replica setup, which the affinity pool "
                            + "does not support",
                    "Set " + AffinityPoolProperties.PREFIX + ".url to the URL of a standalone Redis server.");
        }
        RedisURI.Builder builder = RedisURI.builder()
                .withHost(standalone.getHost())
                .withPort(standalone.getPort())
                .withDatabase(standalone.getDatabase())
                .withSsl(details.getSslBundle() != null);
        if (details.getPassword() != null) {
            if (details.getUsername() != null) {
                builder.withAuthentication(details.getUsername(), details.getPassword());
            }
            else {
                builder.withPassword(details.getPassword().toCharArray());
            }
        }
        return builder.build();
    }

    @Override
    public SslBundle sslBundle() {
        DataRedisConnectionDetails details = connectionDetails.getIfAvailable();
        return (details != null) ? details.getSslBundle() : null;
    }
}
