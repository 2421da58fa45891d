package io.github.affinitypool.autoconfigure.actuate;

import java.time.Duration;
import java.util.function.Function;

import io.github.affinitypool.autoconfigure.AffinityPoolAutoConfiguration;
import io.github.affinitypool.autoconfigure.AffinityPoolProperties;
import io.github.affinitypool.autoconfigure.AffinityPoolPropertiesValidator;
import io.github.affinitypool.autoconfigure.AffinityPoolSettings;
import io.github.affinitypool.redis.RedisAffinityPool;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.health.autoconfigure.contributor.CompositeReactiveHealthContributorConfiguration;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.ReactiveHealthContributor;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Health indicator {@code redisAffinityPool} and endpoint {@code redispool}, each only when its part of Spring Boot
 * is on the class path. Both describe the application's own pool bean too, when it defined one instead of the
 * auto-configured pool: they run after {@link AffinityPoolAutoConfiguration}, so that they see whichever pool exists.
 */
@AutoConfiguration(after = AffinityPoolAutoConfiguration.class)
@ConditionalOnClass(RedisAffinityPool.class)
public final class AffinityPoolActuatorAutoConfiguration {

    /**
     * The health indicator: one for a single pool; with several pool beans, one per pool under
     * {@code redisAffinityPool}, named by bean name, as Spring Boot does for its own connection factories.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({ ReactiveHealthIndicator.class, ConditionalOnEnabledHealthIndicator.class })
    @ConditionalOnBean(RedisAffinityPool.class)
    @ConditionalOnEnabledHealthIndicator("redisaffinitypool")
    @SuppressWarnings("rawtypes")
    static class HealthConfiguration
            extends CompositeReactiveHealthContributorConfiguration<RedisAffinityPoolHealthIndicator,
                    RedisAffinityPool> {

        HealthConfiguration(ObjectProvider<AffinityPoolProperties> properties) {
            // Its own timeout, not the command timeout (5 s by default): a probe must get its answer quickly
            // (Kubernetes waits 1 s by default), and a Redis that leaves a PING unanswered that long is in trouble.
            // Without the properties bean (affinity-pool.redis.enabled=false) the default applies. Checked here as
            // well, since a pool the application defined itself leaves the other properties unread and unchecked.
            super(indicators(AffinityPoolPropertiesValidator.healthTimeout(
                    properties.getIfAvailable(AffinityPoolProperties::new))));
        }

        private static Function<RedisAffinityPool, RedisAffinityPoolHealthIndicator> indicators(Duration timeout) {
            return pool -> new RedisAffinityPoolHealthIndicator(pool, timeout);
        }

        @Bean
        @ConditionalOnMissingBean(name = { "redisAffinityPoolHealthIndicator", "redisAffinityPoolHealthContributor" })
        ReactiveHealthContributor redisAffinityPoolHealthContributor(ConfigurableListableBeanFactory beanFactory) {
            return createContributor(beanFactory, RedisAffinityPool.class);
        }
    }

    /** The passwords of Redis URLs masked in {@code /actuator/env} and {@code /actuator/configprops}. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(SanitizingFunction.class)
    static class SanitizingConfiguration {

        @Bean
        @ConditionalOnMissingBean(name = "redisUrlSanitizingFunction")
        SanitizingFunction redisUrlSanitizingFunction() {
            return new RedisUrlSanitizingFunction();
        }
    }

    /** The endpoint, which describes one pool. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({ Endpoint.class, ConditionalOnAvailableEndpoint.class })
    @ConditionalOnSingleCandidate(RedisAffinityPool.class)
    @ConditionalOnAvailableEndpoint(RedisPoolEndpoint.class)
    static class EndpointConfiguration {

        @Bean
        @ConditionalOnMissingBean
        RedisPoolEndpoint redisPoolEndpoint(RedisAffinityPool<?, ?> pool,
                ObjectProvider<AffinityPoolSettings> settings) {
            return new RedisPoolEndpoint(pool, settings.getIfAvailable());
        }
    }
}
