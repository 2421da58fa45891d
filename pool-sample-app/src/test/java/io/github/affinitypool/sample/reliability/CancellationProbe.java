package io.github.affinitypool.sample.reliability;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the requests the server cancelled (the client went away), by the phase the request was in, and the requests
 * whose handler is still running.
 */
final class CancellationProbe {

    /** Where a request was when it was cancelled. */
    enum Phase {
        /** waiting for a lease (queued, or a connection being opened for it) */
        ACQUIRING,
        /** holding a lease (or on the shared path) with a command in flight */
        COMMAND,
        /** between MULTI and EXEC's reply */
        TRANSACTION,
        /** auto-flush off, commands buffered or in flight */
        PIPELINE,
        /** the lease being released (reset) */
        RELEASING
    }

    private final Map<Phase, LongAdder> byPhase = new EnumMap<>(Phase.class);

    private final AtomicLong acquiringWhileConnecting = new AtomicLong();

    private final AtomicInteger running = new AtomicInteger();

    CancellationProbe() {
        for (Phase phase : Phase.values()) {
            byPhase.put(phase, new LongAdder());
        }
    }

    void cancelled(Phase phase, boolean connectInFlight) {
        byPhase.get(phase).increment();
        if (phase == Phase.ACQUIRING && connectInFlight) {
            acquiringWhileConnecting.incrementAndGet();
        }
    }

    /** @return cancellations by phase */
    Map<Phase, Long> byPhase() {
        Map<Phase, Long> copy = new EnumMap<>(Phase.class);
        byPhase.forEach((phase, count) -> copy.put(phase, count.sum()));
        return copy;
    }

    /** @return cancellations while acquiring during which a connect was in flight */
    long acquiringWhileConnecting() {
        return acquiringWhileConnecting.get();
    }

    void handlerStarted() {
        running.incrementAndGet();
    }

    void handlerEnded() {
        running.decrementAndGet();
    }

    /**
     * @return handlers running: a request the client cancelled may still reach its handler after the client is done,
     *         the server reading it only then
     */
    int runningHandlers() {
        return running.get();
    }
}
