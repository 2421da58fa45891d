package io.github.affinitypool.autoconfigure.metrics;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.affinitypool.core.AcquireOutcome;
import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.core.Locality;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

/**
 * Micrometer meters of one affinity pool (one {@code kind}: {@code command}, {@code pubsub} or {@code shared}).
 * <p>
 * Counters and the acquire timer are fed by the pool's {@link AffinityPoolListener} hook as events happen; the
 * acquire timers, recorded on the hot path, are created up front so that recording is a map lookup. The gauges
 * are {@link AffinityPoolGauges}.
 */
public final class AffinityPoolMeters implements AffinityPoolListener {

    static final String PREFIX = "redis.pool";

    private final MeterRegistry registry;

    private final Tags poolTags;

    private final Map<Locality, Timer> successTimers = new EnumMap<>(Locality.class);

    private final Map<AcquireOutcome, Timer> failureTimers = new EnumMap<>(AcquireOutcome.class);

    /**
     * Registers the acquire timers of a pool. Connection counters are registered on their first event (opening and
     * closing connections is rare, and Micrometer returns the registered meter for a known id).
     *
     * @param registry the registry to register with
     * @param name the pool name ({@code name} tag)
     * @param kind {@code command} or {@code pubsub} ({@code kind} tag)
     */
    public AffinityPoolMeters(MeterRegistry registry, String name, String kind) {
        this(registry, name, kind, true);
    }

    /**
     * Registers the acquire timers of a pool, if asked to; connection counters are registered on their first event.
     *
     * @param registry the registry to register with
     * @param name the pool name ({@code name} tag)
     * @param kind {@code command}, {@code pubsub} or {@code shared} ({@code kind} tag)
     * @param acquireTimers whether to register the acquire timers: not for {@code shared}, whose multiplexed
     *        connections are never acquired, so that no series stays at zero forever
     */
    public AffinityPoolMeters(MeterRegistry registry, String name, String kind, boolean acquireTimers) {
        this.registry = registry;
        this.poolTags = Tags.of("name", name, "kind", kind);
        if (!acquireTimers) {
            return;
        }
        for (Locality locality : Locality.values()) {
            successTimers.put(locality, acquireTimer(AffinityPoolTagValues.of(locality), "success"));
        }
        for (AcquireOutcome outcome : AcquireOutcome.values()) {
            failureTimers.put(outcome, acquireTimer("none", outcomeTag(outcome)));
        }
    }

    private Timer acquireTimer(String locality, String outcome) {
        return Timer.builder(PREFIX + ".acquire").description("Time to obtain a connection from the pool")
                .tags(poolTags.and("locality", locality, "outcome", outcome)).register(registry);
    }

    @Override
    public void acquired(int worker, Locality locality, long nanos) {
        record(successTimers.get(locality), nanos);
    }

    @Override
    public void acquireFailed(int worker, AcquireOutcome outcome, long nanos) {
        record(failureTimers.get(outcome), nanos);
    }

    private static void record(Timer timer, long nanos) {
        if (timer != null) { // null without acquire timers
            timer.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void opened(int poolIndex) {
        Counter.builder(PREFIX + ".connections.created").baseUnit("connections").description("Connections opened")
                .tags(poolTags.and("worker", workerTag(poolIndex))).register(registry).increment();
    }

    @Override
    public void closed(int poolIndex, CloseReason reason) {
        Counter.builder(PREFIX + ".connections.closed").baseUnit("connections").description("Connections closed")
                .tags(poolTags.and("worker", workerTag(poolIndex), "reason", AffinityPoolTagValues.of(reason)))
                .register(registry).increment();
    }

    @Override
    public void leakSuspected(int worker) {
        Counter.builder(PREFIX + ".leaks.suspected").description("Leases held longer than the leak-detection threshold")
                .tags(poolTags.and("worker", workerTag(worker))).register(registry).increment();
    }

    static String workerTag(int poolIndex) {
        return (poolIndex == AffinityPoolStats.OVERFLOW) ? "overflow" : Integer.toString(poolIndex);
    }

    private static String outcomeTag(AcquireOutcome outcome) {
        return (outcome == AcquireOutcome.TIMEOUT) ? "timeout" : "error";
    }
}
