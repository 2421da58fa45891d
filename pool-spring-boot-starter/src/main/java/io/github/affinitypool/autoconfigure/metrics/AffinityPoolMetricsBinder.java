package io.github.affinitypool.autoconfigure.metrics;

import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;

/**
 * Connects a {@link RedisAffinityPool} to the application's {@link MeterRegistry}, when there is one: the event
 * listener goes into the pool's builder, the gauges are bound once the pool exists.
 */
public final class AffinityPoolMetricsBinder {

    private final ObjectProvider<MeterRegistry> registry;

    /**
     * @param registry the application's meter registry, looked up when the pool is created
     */
    public AffinityPoolMetricsBinder(ObjectProvider<MeterRegistry> registry) {
        this.registry = registry;
    }

    /**
     * @param poolName the pool's name
     * @return the listener that records the command pool's events, or a no-op one without a registry
     */
    public AffinityPoolListener commandListener(String poolName) {
        return listener(poolName, "command");
    }

    /**
     * @param poolName the pool's name
     * @return the listener that records the Pub/Sub side's events, or a no-op one without a registry
     */
    public AffinityPoolListener pubSubListener(String poolName) {
        return listener(poolName, "pubsub");
    }

    /**
     * @param poolName the pool's name
     * @return the listener that records the shared connections' events, or a no-op one without a registry
     */
    public AffinityPoolListener sharedListener(String poolName) {
        return listener(poolName, "shared");
    }

    private AffinityPoolListener listener(String poolName, String kind) {
        MeterRegistry meterRegistry = registry.getIfAvailable();
        return (meterRegistry != null) ? new AffinityPoolMeters(meterRegistry, poolName, kind)
                : AffinityPoolListener.NONE;
    }

    /**
     * @param pool the built pool
     */
    public void bindGauges(RedisAffinityPool<?, ?> pool) {
        MeterRegistry meterRegistry = registry.getIfAvailable();
        if (meterRegistry == null) {
            return;
        }
        AffinityPoolGauges.bindCommand(meterRegistry, pool);
        AffinityPoolGauges.bindPubSub(meterRegistry, pool);
        AffinityPoolGauges.bindShared(meterRegistry, pool);
    }
}
