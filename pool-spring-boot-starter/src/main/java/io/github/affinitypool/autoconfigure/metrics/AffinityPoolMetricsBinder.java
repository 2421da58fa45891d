package io.github.affinitypool.autoconfigure.metrics;

import java.util.ArrayList;
import java.util.List;

import io.github.affinitypool.redis.RedisAffinityPool;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;

/**
 * Builds a {@link RedisAffinityPool} with the application's {@link MeterRegistry}, when there is one: the event
 * listeners (timer and counters) go into the pool's builder, the gauges are bound once the pool exists. The
 * auto-configured pool is built through it; an application that defines its own pool bean can inject it and do the
 * same:
 * <pre>{@code
 * @Bean
 * RedisAffinityPool<byte[], byte[]> binaryPool(AffinityPoolMetricsBinder metrics) {
 *     return metrics.build("binary", RedisAffinityPool.builder("redis://cache:6379").codec(ByteArrayCodec.INSTANCE));
 * }
 * }</pre>
 */
public final class AffinityPoolMetricsBinder {

    private final ObjectProvider<MeterRegistry> registry;

    /**
     * @param registry the application's meter registry, looked up when a pool is built
     */
    public AffinityPoolMetricsBinder(ObjectProvider<MeterRegistry> registry) {
        this.registry = registry;
    }

    /**
     * Names the pool, adds the listeners that record its events ({@code kind} = {@code command}, {@code pubsub} and
     * {@code shared}), builds it and binds its gauges. Without a meter registry it only names and builds the pool.
     *
     * @param poolName the pool's name, also the {@code name} tag of its meters
     * @param builder the pool's builder, otherwise configured
     * @param <K> key type
     * @param <V> value type
     * @return the built pool
     * @throws IllegalStateException when an open pool of that name is measured in the registry already: Micrometer
     *         would hand this pool the other one's gauges, and closing either would remove them
     */
    public <K, V> RedisAffinityPool<K, V> build(String poolName, RedisAffinityPool.Builder<K, V> builder) {
        builder.name(poolName);
        MeterRegistry meterRegistry = registry.getIfAvailable();
        if (meterRegistry == null) {
            return builder.build();
        }
        if (!meterRegistry.find(AffinityPoolMeters.PREFIX + ".allocated").tag("name", poolName).gauges().isEmpty()) {
            throw new IllegalStateException("A Redis affinity pool named '" + poolName + "' is open and measured in "
                    + "this MeterRegistry already; give each pool a name of its own (RedisAffinityPool.Builder.name, "
                    + "affinity-pool.redis.name), as the name is the 'name' tag of its meters");
        }
        RedisAffinityPool<K, V> pool = builder.listener(AffinityPoolMeters.commandPool(meterRegistry, poolName))
                .pubSubListener(AffinityPoolMeters.pubSub(meterRegistry, poolName))
                .sharedListener(AffinityPoolMeters.shared(meterRegistry, poolName))
                .build();
        List<Meter> gauges = new ArrayList<>();
        gauges.addAll(AffinityPoolGauges.bindCommand(meterRegistry, pool));
        gauges.addAll(AffinityPoolGauges.bindPubSub(meterRegistry, pool));
        gauges.addAll(AffinityPoolGauges.bindShared(meterRegistry, pool));
        // A registry keeps a gauge, and the pool it reads, until the gauge is removed; and a pool built later under
        // the same name would find its gauges taken by this one's. Counters and timers stay: they only add up.
        pool.onClose().subscribe(null, null, () -> gauges.forEach(meterRegistry::remove));
        return pool;
    }
}
