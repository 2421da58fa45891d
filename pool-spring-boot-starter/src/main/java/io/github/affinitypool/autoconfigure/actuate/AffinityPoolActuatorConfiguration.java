package io.github.affinitypool.autoconfigure.actuate;

import io.github.affinitypool.autoconfigure.AffinityPoolSettings;
import io.github.affinitypool.redis.RedisAffinityPool;

import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Health indicator {@code redisAffinityPool} and endpoint {@code redispool}, each only when its part of Spring Boot
 * is on the class path.
 */
@Configuration(proxyBeanMethods = false)
public class AffinityPoolActuatorConfiguration {

    /** The health indicator. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({ ReactiveHealthIndicator.class, ConditionalOnEnabledHealthIndicator.class })
    @ConditionalOnEnabledHealthIndicator("redisAffinityPool")
    static class HealthConfiguration {

        @Bean
        @ConditionalOnMissingBean(name = "redisAffinityPoolHealthIndicator")
        RedisAffinityPoolHealthIndicator redisAffinityPoolHealthIndicator(RedisAffinityPool<?, ?> pool,
                AffinityPoolSettings settings) {
            // The command timeout bounds the PING: a health check must not call a slow but working Redis "down"
            // sooner than the application's own commands would fail.
            return new RedisAffinityPoolHealthIndicator(pool, settings, pool.commandTimeout());
        }
    }

    /** The endpoint. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({ Endpoint.class, ConditionalOnAvailableEndpoint.class })
    @ConditionalOnAvailableEndpoint(RedisPoolEndpoint.class)
    static class EndpointConfiguration {

        @Bean
        @ConditionalOnMissingBean
        RedisPoolEndpoint redisPoolEndpoint(RedisAffinityPool<?, ?> pool, AffinityPoolSettings settings) {
            return new RedisPoolEndpoint(pool, settings);
        }
    }
}
