package io.github.affinitypool.autoconfigure.metrics;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Micrometer meters of the pool, when Micrometer is on the class path; they are registered only when a
 * {@link MeterRegistry} bean exists at the time the pool is created.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(MeterRegistry.class)
public class AffinityPoolMetricsConfiguration {

    @Bean
    @ConditionalOnMissingBean
    AffinityPoolMetricsBinder affinityPoolMetricsBinder(ObjectProvider<MeterRegistry> registry) {
        return new AffinityPoolMetricsBinder(registry);
    }
}
