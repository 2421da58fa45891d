package io.github.affinitypool.autoconfigure.metrics;

import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.core.PoolStats;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * Gauges of one affinity pool, read from its {@link AffinityPoolStats} snapshot when the registry is scraped.
 */
final class AffinityPoolGauges {

    private AffinityPoolGauges() {
    }

    /**
     * @param registry the registry to register with
     * @param poolTags the {@code name} and {@code kind} tags
     * @param stats the pool's statistics
     * @param workers number of workers; worker pools are tagged {@code 0..workers-1}, the overflow pool {@code overflow}
     * @param maxOpen the pool's cap on open connections
     * @param maxPending the pool's cap on waiting borrowers
     */
    static void bind(MeterRegistry registry, Tags poolTags, Supplier<AffinityPoolStats> stats, int workers,
            int maxOpen, int maxPending) {
        for (int pool = AffinityPoolStats.OVERFLOW; pool < workers; pool++) {
            int index = pool;
            Supplier<PoolStats> poolStats = () -> (index == AffinityPoolStats.OVERFLOW) ? stats.get().overflow()
                    : stats.get().workers().get(index);
            Tags tags = poolTags.and("worker", AffinityPoolMeters.workerTag(pool));
            gauge(registry, "acquired", "Connections leased out", tags, poolStats, PoolStats::acquired);
            gauge(registry, "allocated", "Connections open or being opened", tags, poolStats, PoolStats::open);
            gauge(registry, "idle", "Connections idle in the pool", tags, poolStats, PoolStats::idle);
            gauge(registry, "pending", "Borrowers waiting for a connection", tags, poolStats, PoolStats::pending);
        }
        Gauge.builder(AffinityPoolMeters.PREFIX + ".max.allocated", () -> maxOpen).baseUnit("connections")
                .description("Cap on open connections across all workers").tags(poolTags).register(registry);
        Gauge.builder(AffinityPoolMeters.PREFIX + ".max.pending", () -> maxPending).baseUnit("connections")
                .description("Cap on waiting borrowers").tags(poolTags).register(registry);
    }

    private static void gauge(MeterRegistry registry, String name, String description, Tags tags,
            Supplier<PoolStats> stats, ToDoubleFunction<PoolStats> value) {
        Gauge.builder(AffinityPoolMeters.PREFIX + "." + name, stats, s -> value.applyAsDouble(s.get()))
                .strongReference(true).baseUnit("connections").description(description).tags(tags)
                .register(registry);
    }
}
