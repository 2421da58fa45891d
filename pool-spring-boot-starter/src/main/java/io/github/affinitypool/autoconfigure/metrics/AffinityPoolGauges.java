package io.github.affinitypool.autoconfigure.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.ToIntFunction;

import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.core.PoolStats;
import io.github.affinitypool.redis.PubSubStats;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * Gauges of a pool's connections per worker, read from its statistics snapshot when the registry is scraped:
 * {@code kind=command} from {@link RedisAffinityPool#stats()}, {@code kind=pubsub} from
 * {@link RedisAffinityPool#pubSubStats()}, {@code kind=shared} from {@link RedisAffinityPool#sharedStats()}.
 */
final class AffinityPoolGauges {

    private AffinityPoolGauges() {
    }

    /** Connection counts of one worker (or the overflow pool) at the moment of a scrape. */
    record Counts(int acquired, int allocated, int idle, int pending) {

        static Counts of(PoolStats stats) {
            return new Counts(stats.acquired(), stats.open(), stats.idle(), stats.pending());
        }

        static Counts of(PubSubStats.Worker stats) {
            return new Counts(stats.acquired(), stats.open(), stats.idle(), stats.pending());
        }
    }

    /** @return the gauges registered */
    static List<Meter> bindCommand(MeterRegistry registry, RedisAffinityPool<?, ?> pool) {
        Tags tags = Tags.of("name", pool.name(), "kind", "command");
        int workers = pool.loops().size();
        List<Meter> gauges = bind(registry, tags, workers, true, index -> {
            AffinityPoolStats stats = pool.stats();
            return Counts.of((index == AffinityPoolStats.OVERFLOW) ? stats.overflow() : stats.workers().get(index));
        });
        gauges.add(maxGauge(registry, "max.allocated", "Cap on open connections across all workers", tags,
                pool.poolConfig().maxOpen()));
        gauges.add(maxGauge(registry, "max.pending", "Cap on waiting borrowers", tags,
                pool.poolConfig().maxPendingAcquires()));
        return gauges;
    }

    /** @return the gauges registered */
    static List<Meter> bindPubSub(MeterRegistry registry, RedisAffinityPool<?, ?> pool) {
        Tags tags = Tags.of("name", pool.name(), "kind", "pubsub");
        List<Meter> gauges = bind(registry, tags, pool.loops().size(), false,
                index -> Counts.of(pool.pubSubStats().workers().get(index)));
        gauges.add(maxGauge(registry, "max.allocated", "Cap on open Pub/Sub connections", tags,
                pool.pubSubStats().maxOpen()));
        return gauges;
    }

    /**
     * Only {@code allocated} and {@code max.allocated}: a multiplexed connection is never leased, so acquired, idle
     * and pending would say nothing.
     *
     * @return the gauges registered
     */
    static List<Meter> bindShared(MeterRegistry registry, RedisAffinityPool<?, ?> pool) {
        Tags tags = Tags.of("name", pool.name(), "kind", "shared");
        List<Meter> gauges = new ArrayList<>();
        for (int index = 0; index < pool.loops().size(); index++) {
            int worker = index;
            gauges.add(Gauge.builder(AffinityPoolMeters.PREFIX + "." + Measure.ALLOCATED.name,
                    () -> pool.sharedStats().workers().get(worker).allocated()).baseUnit("connections")
                    .description(Measure.ALLOCATED.description)
                    .tags(tags.and("worker", AffinityPoolMeters.workerTag(worker))).register(registry));
        }
        gauges.add(maxGauge(registry, "max.allocated", "Shared connections across all workers", tags,
                pool.sharedConnections()));
        return gauges;
    }

    private static List<Meter> bind(MeterRegistry registry, Tags poolTags, int workers, boolean withOverflow,
            IntFunction<Counts> counts) {
        List<Meter> gauges = new ArrayList<>();
        int first = withOverflow ? AffinityPoolStats.OVERFLOW : 0;
        for (int index = first; index < workers; index++) {
            int pool = index;
            Tags tags = poolTags.and("worker", AffinityPoolMeters.workerTag(pool));
            for (Measure measure : Measure.values()) {
                gauges.add(Gauge.builder(AffinityPoolMeters.PREFIX + "." + measure.name,
                        () -> measure.value.applyAsInt(counts.apply(pool)))
                        .baseUnit("connections").description(measure.description).tags(tags).register(registry));
            }
        }
        return gauges;
    }

    private static Meter maxGauge(MeterRegistry registry, String name, String description, Tags tags, int value) {
        return Gauge.builder(AffinityPoolMeters.PREFIX + "." + name, () -> value).baseUnit("connections")
                .description(description).tags(tags).register(registry);
    }

    /** The per-worker gauges. */
    private enum Measure {

        ACQUIRED("acquired", "Connections in use", Counts::acquired),
        ALLOCATED("allocated", "Connections open or being opened", Counts::allocated),
        IDLE("idle", "Connections idle", Counts::idle),
        PENDING("pending", "Borrowers or subscribers waiting for a connection", Counts::pending);

        private final String name;
        private final String description;
        private final ToIntFunction<Counts> value;

        Measure(String name, String description, ToIntFunction<Counts> value) {
            this.name = name;
            this.description = description;
            this.value = value;
        }
    }
}
