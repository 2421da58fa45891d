package io.github.affinitypool.autoconfigure.metrics;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
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
 * acquire timers, recorded on the hot path, are created up front so that recording is a map lookup (and a dashboard
 * shows zeros, not gaps, for what has not happened yet). The gauges are {@link AffinityPoolGauges}.
 */
public final class AffinityPoolMeters implements AffinityPoolListener {

    static final String PREFIX = "redis.pool";

    private final MeterRegistry registry;

    private final Tags poolTags;

    private final Map<Locality, Timer> successTimers = new EnumMap<>(Locality.class);

    private final Map<AcquireOutcome, Timer> failureTimers = new EnumMap<>(AcquireOutcome.class);

    private AffinityPoolMeters(MeterRegistry registry, String name, String kind, Set<Locality> localities,
            Set<AcquireOutcome> failures) {
        this.registry = registry;
        this.poolTags = Tags.of("name", name, "kind", kind);
        for (Locality locality : localities) {
            successTimers.put(locality, successTimer(locality));
        }
        for (AcquireOutcome outcome : failures) {
            failureTimers.put(outcome, failureTimer(outcome));
        }
    }

    /**
     * The meters of the exclusive command pool ({@code kind=command}): an acquire timer for every locality and
     * outcome. Connection counters are registered on their first event (opening and closing connections is rare, and
     * Micrometer returns the registered meter for a known id).
     *
     * @param registry the registry to register with
     * @param name the pool name ({@code name} tag)
     * @return the meters, to be the pool's listener
     */
    public static AffinityPoolMeters commandPool(MeterRegistry registry, String name) {
        return new AffinityPoolMeters(registry, name, "command", EnumSet.allOf(Locality.class),
                EnumSet.allOf(AcquireOutcome.class));
    }

    /**
     * The meters of the Pub/Sub pool ({@code kind=pubsub}). It has no overflow pool and no acquire timeout (a
     * subscriber waits for its worker's connection to open, which the connect timeout bounds), so the series with
     * {@code locality=overflow} and {@code outcome=timeout}, which would stay at zero forever, are not registered.
     *
     * @param registry the registry to register with
     * @param name the pool name ({@code name} tag)
     * @return the meters, to be the Pub/Sub pool's listener
     */
    public static AffinityPoolMeters pubSub(MeterRegistry registry, String name) {
        return new AffinityPoolMeters(registry, name, "pubsub", EnumSet.complementOf(EnumSet.of(Locality.OVERFLOW)),
                EnumSet.complementOf(EnumSet.of(AcquireOutcome.TIMEOUT)));
    }

    /**
     * The meters of the multiplexed connections behind {@code commands()} ({@code kind=shared}): counters only, since
     * those connections are never acquired.
     *
     * @param registry the registry to register with
     * @param name the pool name ({@code name} tag)
     * @return the meters, to be the shared connections' listener
     */
    public static AffinityPoolMeters shared(MeterRegistry registry, String name) {
        return new AffinityPoolMeters(registry, name, "shared", EnumSet.noneOf(Locality.class),
                EnumSet.noneOf(AcquireOutcome.class));
    }

    private Timer successTimer(Locality locality) {
        return acquireTimer(AffinityPoolTagValues.of(locality), "success");
    }

    private Timer failureTimer(AcquireOutcome outcome) {
        return acquireTimer("none", outcomeTag(outcome));
    }

    private Timer acquireTimer(String locality, String outcome) {
        return Timer.builder(PREFIX + ".acquire").description("Time to obtain a connection from the pool")
                .tags(poolTags.and("locality", locality, "outcome", outcome)).register(registry);
    }

    @Override
    public void acquired(int worker, Locality locality, long nanos) {
        Timer timer = successTimers.get(locality);
        // A locality this kind of pool was not expected to report is still counted, registered now.
        (timer != null ? timer : successTimer(locality)).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void acquireFailed(int worker, AcquireOutcome outcome, long nanos) {
        Timer timer = failureTimers.get(outcome);
        (timer != null ? timer : failureTimer(outcome)).record(nanos, TimeUnit.NANOSECONDS);
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
