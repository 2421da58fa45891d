package io.github.affinitypool.autoconfigure;

import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import io.github.affinitypool.autoconfigure.metrics.AffinityPoolMetricsConfiguration;
import io.github.affinitypool.autoconfigure.metrics.AffinityPoolMetricsBinder;
import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.IdleOrder;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.RedisCodec;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.resources.LoopResources;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.PropertyMapper;
import org.springframework.boot.data.redis.autoconfigure.ClientResourcesBuilderCustomizer;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.data.redis.autoconfigure.DataRedisProperties;
import org.springframework.boot.data.redis.autoconfigure.LettuceClientOptionsBuilderCustomizer;
import org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;
import org.springframework.http.client.ReactorResourceFactory;

/**
 * Auto-configuration of the Redis affinity pool: a {@link RedisAffinityPool} whose connections live on the Reactor
 * Netty web server's event loops (or on loops of its own), and the affinity-routed
 * {@link RedisReactiveCommands} from {@link RedisAffinityPool#commands()} for handlers to inject.
 */
@AutoConfiguration(afterName = {
        "org.springframework.boot.reactor.netty.autoconfigure.NettyReactiveWebServerAutoConfiguration",
        "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration" })
@ConditionalOnClass(RedisAffinityPool.class)
@ConditionalOnBooleanProperty(name = AffinityPoolProperties.PREFIX + ".enabled", matchIfMissing = true)
@EnableConfigurationProperties(AffinityPoolProperties.class)
@Import(AffinityPoolMetricsConfiguration.class)
public final class AffinityPoolAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean({ AffinityPoolSettings.class, RedisAffinityPool.class })
    AffinityPoolSettings affinityPoolSettings(AffinityPoolProperties properties,
            ObjectProvider<ServerLoopsProvider> serverLoops, ObjectProvider<RedisUriSource> uriSource,
            ObjectProvider<SslBundles> sslBundles, Environment environment) {
        ServerLoopsProvider provider = serverLoops.getIfAvailable();
        return AffinityPoolSettingsResolver.resolve(properties, (provider != null) ? provider.serverLoops() : null,
                uriSource.getIfAvailable(), sslBundles.getIfAvailable(), environment);
    }

    @Bean
    @ConditionalOnMissingBean(RedisAffinityPool.class)
    RedisAffinityPool<String, String> redisAffinityPool(AffinityPoolSettings settings,
            AffinityPoolProperties properties, ObjectProvider<AffinityPoolMetricsBinder> metrics,
            ObjectProvider<RedisAffinityPoolCustomizer> customizers) {
        RedisAffinityPool.Builder<String, String> builder = RedisAffinityPool.builder(settings.redisUri())
                .name(properties.getName())
                .poolConfig(poolConfig(properties.getPool(), settings.workers()))
                .sharedConnectionsPerWorker(properties.getSharedConnectionsPerWorker())
                .commandTimeout(properties.getCommandTimeout())
                .pubSubBufferSize(properties.getPubSub().getBufferSize());
        PropertyMapper map = PropertyMapper.get();
        map.from(properties::getConnectTimeout).to(builder::connectTimeout);
        map.from(properties.getPubSub()::getMaxOpen).to(builder::pubSubMaxOpen);
        if (settings.sslBundle() != null) {
            builder.clientOptions(options -> options.sslOptions(LettuceSslOptions.of(settings.sslBundle())));
        }
        if (settings.serverLoops() != null) {
            builder.loopResources(settings.serverLoops().loopResources(), settings.serverLoops().preferNative());
        }
        else {
            builder.workers(settings.workers());
        }
        RedisCodec<String, String> codec = builder.codec();
        customizers.orderedStream().forEach(customizer -> {
            customizer.customize(builder);
            // codec(...) retypes this very builder: unchecked, the pool would be built for other types and still be
            // injected as RedisAffinityPool<String, String>, failing with a ClassCastException in some handler.
            if (builder.codec() != codec) {
                throw new IllegalStateException("RedisAffinityPoolCustomizer " + customizer.getClass().getName()
                        + " changed the codec of the auto-configured Redis affinity pool, which is offered as "
                        + "RedisAffinityPool<String, String> and RedisReactiveCommands<String, String>; to use "
                        + "another codec, define a RedisAffinityPool bean of your own instead (the auto-configuration "
                        + "then backs off; build it with AffinityPoolMetricsBinder to keep the meters)");
            }
        });
        AffinityPoolMetricsBinder metricsBinder = metrics.getIfAvailable();
        return (metricsBinder != null) ? metricsBinder.build(builder.name(), builder) : builder.build();
    }

    static AffinityPoolConfig poolConfig(AffinityPoolProperties.Pool pool, int workers) {
        AffinityPoolConfig.Builder builder = AffinityPoolConfig.builder();
        PropertyMapper map = PropertyMapper.get();
        map.from(pool::getMaxOpen).to(builder::maxOpen);
        map.from(pool::getMaxIdlePerWorker).to(builder::maxIdlePerWorker);
        map.from(pool::getMinIdlePerWorker).to(builder::minIdlePerWorker);
        map.from(pool::getMaxLifetime).to(builder::maxLifetime);
        map.from(pool::getMaxIdleTime).to(builder::maxIdleTime);
        map.from(pool::getAcquireTimeout).to(builder::acquireTimeout);
        map.from(pool::getMaxPendingAcquires).to(builder::maxPendingAcquires);
        map.from(pool::getValidateAfterIdle).to(builder::validateAfterIdle);
        map.from(pool::getEvictionInterval).to(builder::evictionInterval);
        map.from(pool::getIdleOrder).as(order -> IdleOrder.valueOf(order.name())).to(builder::idleOrder);
        map.from(pool::getMaxConcurrentConnects).to(builder::maxConcurrentConnects);
        map.from(pool::getLeakDetectionThreshold).to(builder::leakDetectionThreshold);
        return builder.build();
    }

    @Bean
    @Conditional(OnStringRedisAffinityPoolCondition.class)
    RedisReactiveCommands<String, String> affinityRedisCommands(RedisAffinityPool<String, String> pool) {
        return pool.commands();
    }

    @Bean
    @ConditionalOnMissingBean
    AffinityPoolSubscriptionsLifecycle affinityPoolSubscriptionsLifecycle(
            ObjectProvider<RedisAffinityPool<?, ?>> pools) {
        List<RedisAffinityPool<?, ?>> all = pools.orderedStream().toList();
        return new AffinityPoolSubscriptionsLifecycle(names(all),
                () -> Flux.fromIterable(all).flatMap(RedisAffinityPool::closeSubscriptions).then());
    }

    @Bean
    @ConditionalOnMissingBean
    AffinityPoolLifecycle affinityPoolLifecycle(ObjectProvider<RedisAffinityPool<?, ?>> pools,
            ObjectProvider<ServerConnections> serverConnections) {
        // Every pool, the application's own included: an integrated one must close before its loops are disposed.
        List<RedisAffinityPool<?, ?>> all = pools.orderedStream().toList();
        String names = names(all);
        Supplier<Mono<Void>> closeAll = () -> Flux.fromIterable(all).flatMap(RedisAffinityPool::closeAsync).then();
        ServerConnections connections = serverConnections.getIfAvailable();
        if (connections == null) {
            return new AffinityPoolLifecycle(names, closeAll);
        }
        // The web server has stopped when this runs; the connections it left open must not reach the closed pools.
        return new AffinityPoolLifecycle(names, () -> connections.closeRemaining().then(closeAll.get()));
    }

    private static String names(List<RedisAffinityPool<?, ?>> pools) {
        return pools.stream().map(RedisAffinityPool::name).collect(Collectors.joining("', '"));
    }

    /** The Reactor Netty web server's loops, which integrated mode shares. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({ NettyReactiveWebServerFactory.class, ReactorResourceFactory.class })
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
    static class ServerLoopsConfiguration {

        /**
         * A server factory alone is not a server: a {@code @SpringBootTest} in its default mock environment defines
         * the factory in a context that never starts one. Sharing the loops there would pin the pool to resources
         * that no server uses and another test context may dispose (the global {@code HttpResources}).
         */
        @Bean
        ServerLoopsProvider affinityPoolServerLoops(ApplicationContext context,
                ObjectProvider<NettyReactiveWebServerFactory> servers,
                ObjectProvider<ReactorResourceFactory> resources) {
            return () -> {
                if (!(context instanceof WebServerApplicationContext) || servers.getIfAvailable() == null) {
                    return null;
                }
                ReactorResourceFactory factory = resources.getIfAvailable();
                LoopResources loops = (factory != null) ? factory.getLoopResources()
                        : reactor.netty.http.HttpResources.get();
                return new ServerLoops(loops, LoopResources.DEFAULT_NATIVE);
            };
        }

        @Bean
        ServerConnections affinityPoolServerConnections() {
            return new ServerConnections();
        }

        /**
         * A factory customizer rather than a {@code NettyServerCustomizer} bean, which only Spring Boot's own factory
         * picks up: this one reaches an application's own {@link NettyReactiveWebServerFactory} bean too.
         */
        @Bean
        WebServerFactoryCustomizer<NettyReactiveWebServerFactory> affinityPoolServerConnectionsCustomizer(
                ServerConnections connections) {
            return factory -> factory.addServerCustomizers(server -> server
                    .doOnChannelInit((observer, channel, remoteAddress) -> connections.track(channel)));
        }
    }

    /**
     * Spring Boot's customizers of Lettuce, which it applies to Spring Data Redis's client, applied to the pool's
     * connections too: {@link ClientResourcesBuilderCustomizer}s (so that Lettuce command observations, metrics and
     * traces from {@code LettuceObservationAutoConfiguration}, cover the pool's connections) and
     * {@link LettuceClientOptionsBuilderCustomizer}s (socket options, protocol version, ...; the pool then enforces
     * what it relies on, see {@link RedisAffinityPool.Builder#clientOptions}). Spring Data Redis's
     * {@code LettuceClientConfigurationBuilderCustomizer}s are not: they configure its connection factory, not Lettuce.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(ClientResourcesBuilderCustomizer.class)
    static class LettuceCustomizersConfiguration {

        @Bean
        @Order(0)
        RedisAffinityPoolCustomizer affinityPoolLettuceCustomizers(
                ObjectProvider<ClientResourcesBuilderCustomizer> resources,
                ObjectProvider<LettuceClientOptionsBuilderCustomizer> options) {
            return builder -> builder
                    .clientResources(resourcesBuilder -> resources.orderedStream()
                            .forEach(customizer -> customizer.customize(resourcesBuilder)))
                    .clientOptions(optionsBuilder -> {
                        options.orderedStream().forEach(customizer -> customizer.customize(optionsBuilder));
                        return optionsBuilder;
                    });
        }
    }

    /** Spring Boot's Redis connection details, the fallback when {@code affinity-pool.redis.url} is not set. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(DataRedisConnectionDetails.class)
    static class ConnectionDetailsConfiguration {

        @Bean
        RedisUriSource affinityPoolDataRedisUriSource(ObjectProvider<DataRedisConnectionDetails> details,
                ObjectProvider<DataRedisProperties> properties) {
            return new DataRedisUriSource(details, properties);
        }
    }
}
