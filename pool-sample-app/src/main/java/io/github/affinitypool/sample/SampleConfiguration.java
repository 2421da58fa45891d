package io.github.affinitypool.sample;

import io.github.affinitypool.redis.RedisAffinityPool;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
class SampleConfiguration {

    @Bean
    AffinityRecorder affinityRecorder(RedisAffinityPool<String, String> pool) {
        return new AffinityRecorder(pool.loops());
    }
}
