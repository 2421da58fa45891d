package io.github.affinitypool.benchmarks.load.server;

import java.time.Duration;

import io.github.affinitypool.redis.RedisAffinityPool;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.StringCodec;
import reactor.core.publisher.Mono;
import reactor.pool.InstrumentedPool;
import reactor.pool.PoolBuilder;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.ReactiveValueOperations;

/**
 * One {@link BenchOps} per setup, chosen by {@code bench.setup}. Each uses the API a user of that stack would write.
 * Which auto-configurations run (this project's starter, Spring Data Redis) is decided by the properties the harness
 * passes for the setup ({@code io.github.affinitypool.benchmarks.load.Setup}).
 */
final class BenchSetups {

    static final String SETUP = "bench.setup";

    private BenchSetups() {
    }

    /** (1) This project's {@code commands()}: the starter's affinity-routed multiplexed commands bean. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnProperty(name = SETUP, havingValue = "commands")
    static class Commands {

        @Bean
        BenchOps benchOps(RedisReactiveCommands<String, String> redis) {
            return RedisWork.ops(work -> work.apply(redis));
        }
    }

    /** (2) This project's exclusive leases: {@code withConnection} on the starter's pool, one lease per request. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnProperty(name = SETUP, havingValue = "leases")
    static class Leases {

        @Bean
        BenchOps benchOps(RedisAffinityPool<String, String> pool) {
            return RedisWork.ops(work -> pool.withConnection(work).singleOrEmpty());
        }
    }

    /**
     * (3) and (4) Spring Data Redis's {@link ReactiveStringRedisTemplate} as Spring Boot auto-configures it: one
     * shared Lettuce connection by default; a commons-pool2 pool with {@code spring.data.redis.lettuce.pool.*} and
     * {@code bench.sdr.share-native-connection=false}.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnProperty(name = SETUP, havingValue = "sdr")
    static class SpringDataRedis {

        @Bean
        BenchOps benchOps(ReactiveStringRedisTemplate template) {
            ReactiveValueOperations<String, String> ops = template.opsForValue();
            return new BenchOps(() -> ops.get(BenchOps.GET_KEY),
                    () -> ops.set(BenchOps.SET_KEY, BenchOps.VALUE).map(done -> "OK"),
                    () -> ops.get(BenchOps.GET_KEY).flatMap(value -> ops.set(BenchOps.SET_KEY, BenchOps.VALUE)
                            .then(ops.increment(BenchOps.COUNTER_KEY))
                            .thenReturn(value)));
        }

        /** Pooling takes effect only with a dedicated connection per operation instead of the shared one. */
        @Bean
        static BeanPostProcessor benchShareNativeConnection(
                @Value("${bench.sdr.share-native-connection:true}") boolean shareNativeConnection) {
            return new BeanPostProcessor() {
                @Override
                public Object postProcessBeforeInitialization(Object bean, String beanName) {
                    if (bean instanceof LettuceConnectionFactory factory) {
                        factory.setShareNativeConnection(shareNativeConnection);
                    }
                    return bean;
                }
            };
        }
    }

    /**
     * (5) One plain reactor-pool ({@code SimpleDequePool}) of Lettuce connections on Lettuce's own event loops,
     * unpinned: an exclusive lease per request, waiting in the pool's queue when all are busy.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnProperty(name = SETUP, havingValue = "reactor-pool")
    static class ReactorPool {

        @Bean
        LettucePool benchLettucePool(@Value("${bench.redis.url}") String url,
                @Value("${bench.reactor-pool.max-size:8}") int maxSize) {
            return new LettucePool(RedisURI.create(url), maxSize);
        }

        @Bean
        BenchOps benchOps(LettucePool lettucePool) {
            InstrumentedPool<StatefulRedisConnection<String, String>> pool = lettucePool.pool;
            return RedisWork.ops(
                    work -> pool.withPoolable(connection -> work.apply(connection.reactive())).singleOrEmpty());
        }
    }

    /** (6) No Redis: the same endpoints answer a constant, the ceiling of the HTTP stack. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnProperty(name = SETUP, havingValue = "no-redis")
    static class NoRedis {

        @Bean
        BenchOps benchOps() {
            Mono<String> value = Mono.just(BenchOps.VALUE);
            Mono<String> ok = Mono.just("OK");
            return new BenchOps(() -> value, () -> ok, () -> value);
        }
    }

    /** The reactor-pool of setup (5) and the Lettuce client (with Lettuce's default resources) it owns. */
    static final class LettucePool implements DisposableBean {

        private final RedisClient client;

        final InstrumentedPool<StatefulRedisConnection<String, String>> pool;

        LettucePool(RedisURI uri, int maxSize) {
            this.client = RedisClient.create();
            this.pool = PoolBuilder.from(Mono.fromCompletionStage(() -> client.connectAsync(StringCodec.UTF8, uri)))
                    .sizeBetween(0, maxSize)
                    .maxPendingAcquireUnbounded()
                    .destroyHandler(connection -> Mono.fromCompletionStage(connection.closeAsync()))
                    .buildPool();
        }

        @Override
        public void destroy() {
            pool.disposeLater().block(Duration.ofSeconds(10));
            client.shutdown();
        }
    }
}
