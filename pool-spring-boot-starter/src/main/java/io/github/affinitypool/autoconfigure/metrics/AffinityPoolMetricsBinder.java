package io.github.affinitypool.autoconfigure.metrics;

import java.util.ArrayList;
import java.util.List;

import io.github.affinitypool.redis.RedisAffinityPool;
import io.micrometer.core.instrument.Gauge;
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
        // The check and the gauges that answer it for the next pool, at once: two pools of one name built at the same
        // time (background bean initialisation) would both pass the check and share one set of gauges.
        RedisAffinityPool<K, V> pool;
        RuntimeException bindFailure;
        synchronized (meterRegistry) {
            if (!meterRegistry.find(AffinityPoolMeters.PREFIX + ".allocated").tag("name", poolName).gauges()
                    .isEmpty()) {
                throw new IllegalStateException("A Redis affinity pool named '" + poolName + "' is open and measured "
                        + "in this MeterRegistry already; give each pool a name of its own "
                        + "(RedisAffinityPool.Builder.name, affinity-pool.redis.name), as the name is the 'name' tag "
                        + "of its meters");
            }
            pool = builder.listener(AffinityPoolMeters.commandPool(meterRegistry, poolName))
                    .pubSubListener(AffinityPoolMeters.pubSub(meterRegistry, poolName))
                    .sharedListener(AffinityPoolMeters.shared(meterRegistry, poolName))
                    .build();
            bindFailure = bindGauges(meterRegistry, pool);
        }
        if (bindFailure != null) {
            // A meter of another type under one of these names: the pool would be lost to its caller, open. Closed
            // outside the lock, which a closing pool's gauge removal takes, perhaps on an event loop.
            try {
                pool.close();
            }
            catch (RuntimeException closeFailure) {
                bindFailure.addSuppressed(closeFailure);
            }
            throw bindFailure;
        }
        return pool;
    }

    /** @return the registry's refusal of a gauge, after which none of the pool's is left; null once all are bound */
    private static RuntimeException bindGauges(MeterRegistry meterRegistry, RedisAffinityPool<?, ?> pool) {
        List<Meter> gauges = new ArrayList<>();
        try {
            gauges.addAll(AffinityPoolGauges.bindCommand(meterRegistry, pool));
            gauges.addAll(AffinityPoolGauges.bindPubSub(meterRegistry, pool));
            gauges.addAll(AffinityPoolGauges.bindShared(meterRegistry, pool));
        }
        catch (RuntimeException ex) {
            removeGauges(meterRegistry, pool.name());
            return ex;
        }
        // A registry keeps a gauge, and the pool it reads, until the gauge is removed; and a pool built later under
        // the same name would find its gauges taken by this one's. Counters and timers stay: they only add up. Under
        // the lock too: a pool of the same name built meanwhile would get back those of its gauges not removed yet,
        // and lose them to this removal.
        pool.onClose().subscribe(null, null, () -> {
            synchronized (meterRegistry) {
                gauges.forEach(meterRegistry::remove);
            }
        });
        return null;
    }

    /** Every gauge of this name is the new pool's (the check found none), also those bound before a failure. */
    private static void removeGauges(MeterRegistry meterRegistry, String poolName) {
        meterRegistry.getMeters().stream()
                .filter(meter -> meter instanceof Gauge && poolName.equals(meter.getId().getTag("name"))
                        && meter.getId().getName().startsWith(AffinityPoolMeters.PREFIX + "."))
                .forEach(meterRegistry::remove);
    }
}
