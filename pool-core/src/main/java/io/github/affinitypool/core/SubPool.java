package io.github.affinitypool.core;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import reactor.pool.InstrumentedPool;

/**
 * One reactor-pool of an {@link AffinityPool} (a worker's, or the overflow pool) with its counters.
 *
 * @param <T> the resource type
 */
final class SubPool<T> {

    final int index;
    final InstrumentedPool<Slot<T>> pool;
    /** Resources open or being opened; reactor-pool's own count is the shared strategy's, so it cannot tell pools apart. */
    final AtomicInteger open = new AtomicInteger();
    /** Borrowers of this worker (off-loop ones for the overflow pool) waiting in the queue. */
    final AtomicInteger pending = new AtomicInteger();
    /** Releases between their idle-bound check and the idle queue, counted so concurrent ones cannot overshoot it. */
    final AtomicInteger returning = new AtomicInteger();
    final AtomicBoolean refilling = new AtomicBoolean();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder timeouts = new LongAdder();
    private final Map<Locality, LongAdder> byLocality = new EnumMap<>(Locality.class);
    private final Map<CloseReason, LongAdder> closed = new EnumMap<>(CloseReason.class);

    SubPool(int index, InstrumentedPool<Slot<T>> pool) {
        this.index = index;
        this.pool = pool;
        for (Locality locality : Locality.values()) {
            byLocality.put(locality, new LongAdder());
        }
        for (CloseReason reason : CloseReason.values()) {
            closed.put(reason, new LongAdder());
        }
    }

    int idle() {
        return pool.metrics().idleSize();
    }

    int acquired() {
        return pool.metrics().acquiredSize();
    }

    /** Counts a lease of one of this pool's resources: a hit when it was open already, a miss when opened for it. */
    void countLease(boolean opened) {
        (opened ? misses : hits).increment();
    }

    /** Counts a lease delivered to a borrower of this worker. */
    void countBorrower(Locality locality) {
        byLocality.get(locality).increment();
    }

    void countTimeout() {
        timeouts.increment();
    }

    void countClosed(CloseReason reason) {
        closed.get(reason).increment();
    }

    PoolStats snapshot() {
        Map<CloseReason, Long> closedByReason = new EnumMap<>(CloseReason.class);
        long stale = 0;
        for (Map.Entry<CloseReason, LongAdder> entry : closed.entrySet()) {
            long count = entry.getValue().sum();
            closedByReason.put(entry.getKey(), count);
            stale += entry.getKey().isStale() ? count : 0;
        }
        return new PoolStats(open.get(), idle(), acquired(), pending.get(), hits.sum(), misses.sum(), timeouts.sum(),
                stale, closedByReason, count(Locality.LOCAL), count(Locality.STOLEN), count(Locality.OVERFLOW),
                count(Locality.OFF_LOOP));
    }

    private long count(Locality locality) {
        return byLocality.get(locality).sum();
    }
}
