package io.github.affinitypool.autoconfigure;

import io.lettuce.core.RedisURI;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.data.redis.autoconfigure.DataRedisProperties;
import org.springframework.boot.ssl.SslBundle;

/**
 * Reads Spring Boot's {@link DataRedisConnectionDetails} (from {@code spring.data.redis.*}, Testcontainers'
 * {@code @ServiceConnection} or Docker Compose) as a Redis URI. Only a standalone server is supported: the pool pins
 * each connection to one event loop and has no Sentinel or Cluster topology handling.
 */
final class DataRedisUriSource implements RedisUriSource {

    private final ObjectProvider<DataRedisConnectionDetails> connectionDetails;

    private final ObjectProvider<DataRedisProperties> properties;

    DataRedisUriSource(ObjectProvider<DataRedisConnectionDetails> connectionDetails,
            ObjectProvider<DataRedisProperties> properties) {
        this.connectionDetails = connectionDetails;
        this.properties = properties;
    }

    @Override
    public RedisURI redisUri() {
        DataRedisConnectionDetails details = connectionDetails.getIfAvailable();
        if (details == null) {
            return null;
        }
        // Spring Boot's own order: Sentinel, then Cluster, then master/replica, and only then standalone, which the
        // properties-based details always describe (from spring.data.redis.host and port), set or not.
        DataRedisConnectionDetails.Standalone standalone = details.getStandalone();
        if (details.getSentinel() != null || details.getCluster() != null || details.getMasterReplica() != null
                || standalone == null) {
            throw new InvalidAffinityPoolPropertyException(AffinityPoolProperties.PREFIX + ".url", "(not set)",
                    "spring.data.redis describes a Sentinel, Cluster or master/replica setup, which the affinity pool "
                            + "does not support",
                    "Set " + AffinityPoolProperties.PREFIX + ".url to the URL of a standalone Redis server.");
        }
        RedisURI.Builder builder = RedisURI.builder()
                .withHost(standalone.getHost())
                .withPort(standalone.getPort())
                .withDatabase(standalone.getDatabase())
                .withSsl(details.getSslBundle() != null || urlUsesTls());
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

    /**
     * Spring Data Redis turns TLS on for an SSL bundle in the details, and for a {@code rediss://} URL in
     * {@code spring.data.redis.url} whatever connection details are in use. {@code spring.data.redis.ssl.enabled} is
     * not read there: it gives the properties-based details their bundle (the JVM's default trust), and with other
     * details ({@code @ServiceConnection}, Docker Compose) it changes nothing.
     */
    private boolean urlUsesTls() {
        DataRedisProperties properties = this.properties.getIfAvailable();
        return properties != null && RedisUrls.usesTls(properties.getUrl());
    }

    @Override
    public SslBundle sslBundle() {
        DataRedisConnectionDetails details = connectionDetails.getIfAvailable();
        return (details != null) ? details.getSslBundle() : null;
    }
}
