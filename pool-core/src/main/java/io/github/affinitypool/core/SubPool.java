package io.github.affinitypool.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

import reactor.pool.InstrumentedPool;
import reactor.pool.PooledRef;

/**
 * One reactor-pool of an {@link AffinityPool} (a worker's, or the overflow pool) with its counters.
 *
 * @param <T> the resource type
 */
final class SubPool<T> {

    final int index;
    final InstrumentedPool<Slot<T>> pool;
    /**
     * Resources open or being opened; reactor-pool's own count is the shared strategy's, so it cannot tell pools apart.
     */
    final AtomicInteger open = new AtomicInteger();
    /** Borrowers of this worker (off-loop ones for the overflow pool) waiting in the queue. */
    final AtomicInteger pending = new AtomicInteger();
    /** Releases between their idle-bound check and the idle queue, counted so concurrent ones cannot overshoot it. */
    final AtomicInteger returning = new AtomicInteger();
    final AtomicBoolean refilling = new AtomicBoolean();
    /**
     * Idle resources taken out by the upkeep for a check whose answer has not come (a PING's reply): not available, so
     * {@link #idle()} leaves them out and statistics count them as acquired, but not missing either, so that the
     * refill does not open others in their place.
     */
    final AtomicInteger checking = new AtomicInteger();
    /** Whether a task that hands the parked resources to waiting borrowers is on its way to the worker's loop. */
    final AtomicBoolean spillScheduled = new AtomicBoolean();
    /**
     * Idle resources released on the worker's own loop and kept there, outside reactor-pool, so that the next acquire
     * on that loop takes one without a compare-and-set or a subscriber chain. Touched only on the worker's loop;
     * reactor-pool counts them as acquired.
     */
    private final ArrayDeque<PooledRef<Slot<T>>> parked = new ArrayDeque<>();
    /** The size of {@link #parked}, written on the worker's loop only and published for the other threads. */
    private volatile int parkedCount;
    /**
     * This pool's idle resources in excess of {@code maxIdlePerWorker}: its share of the overflow, which any borrower
     * may take (this worker's own first), until the worker's maintenance drains them. Reactor-pool counts them as
     * acquired.
     */
    private final ConcurrentLinkedDeque<PooledRef<Slot<T>>> spilled = new ConcurrentLinkedDeque<>();
    /** The size of {@link #spilled}, counted in before a resource is added and out after one is taken. */
    private final AtomicInteger spilledCount = new AtomicInteger();
    /**
     * Leases delivered to this worker's borrowers, by locality (the index's high part) and by whether the resource was
     * reused or opened for the lease (its low bit): one counter increment per lease, on the hottest path of all.
     */
    private final LongAdder[] leases = new LongAdder[Locality.values().length * 2];
    private final LongAdder timeouts = new LongAdder();
    private final Map<CloseReason, LongAdder> closed = new EnumMap<>(CloseReason.class);

    SubPool(int index, InstrumentedPool<Slot<T>> pool) {
        this.index = index;
        this.pool = pool;
        for (int i = 0; i < leases.length; i++) {
            leases[i] = new LongAdder();
        }
        for (CloseReason reason : CloseReason.values()) {
            closed.put(reason, new LongAdder());
        }
    }

    /** @return idle resources, in reactor-pool and parked on the worker's loop; the spilled ones are not counted */
    int idle() {
        return pool.metrics().idleSize() + parkedCount;
    }

    /** @return idle resources in reactor-pool, which any thread can acquire */
    int pooledIdle() {
        return pool.metrics().idleSize();
    }

    /** @return resources out on lease */
    int acquired() {
        return acquired(spilledCount.get());
    }

    private int acquired(int spilledNow) {
        return Math.max(0, pool.metrics().acquiredSize() - parkedCount - spilledNow);
    }

    /** @return idle resources of this pool spilled to the overflow */
    int spilledCount() {
        return spilledCount.get();
    }

    /** Adds an idle resource to the overflow; any thread. */
    void spill(PooledRef<Slot<T>> ref) {
        spilledCount.incrementAndGet();
        spilled.offerFirst(ref);
    }

    /**
     * Takes a spilled resource; any thread.
     *
     * @param lifo whether to take the most recently spilled one (else the oldest)
     * @return the resource, or null when none is spilled
     */
    PooledRef<Slot<T>> unspill(boolean lifo) {
        PooledRef<Slot<T>> ref = lifo ? spilled.pollFirst() : spilled.pollLast();
        if (ref != null) {
            spilledCount.decrementAndGet();
        }
        return ref;
    }

    /**
     * Takes out the spilled resources that match; any thread. Of concurrent takers of one resource exactly one gets it.
     *
     * @return the resources taken out
     */
    List<PooledRef<Slot<T>>> unspillIf(Predicate<Slot<T>> test) {
        List<PooledRef<Slot<T>>> matched = new ArrayList<>();
        for (PooledRef<Slot<T>> ref : spilled) {
            if (test.test(ref.poolable()) && unspill(ref)) {
                matched.add(ref);
            }
        }
        return matched;
    }

    /** @return whether this call took {@code ref} out of the overflow (false: someone else took it first) */
    boolean unspill(PooledRef<Slot<T>> ref) {
        if (spilled.removeFirstOccurrence(ref)) {
            spilledCount.decrementAndGet();
            return true;
        }
        return false;
    }

    int parkedCount() {
        return parkedCount;
    }

    /** Keeps an idle resource on the worker's loop; call on that loop only. */
    void park(PooledRef<Slot<T>> ref) {
        parked.offerFirst(ref);
        parkedCount = parked.size();
    }

    /** Takes back the resource parked last, which must be there; call on the worker's loop only. */
    void unparkNewest() {
        parked.pollFirst();
        parkedCount = parked.size();
    }

    /**
     * Takes a parked resource; call on the worker's loop only.
     *
     * @param lifo whether to take the most recently parked one (else the oldest)
     * @return the resource, or null when none is parked
     */
    PooledRef<Slot<T>> unpark(boolean lifo) {
        PooledRef<Slot<T>> ref = lifo ? parked.pollFirst() : parked.pollLast();
        if (ref != null) {
            parkedCount = parked.size();
        }
        return ref;
    }

    /**
     * Takes out the parked resources that match; call on the worker's loop only.
     *
     * @return the resources taken out, for the caller to close once the sweep is over
     */
    List<PooledRef<Slot<T>>> unparkIf(Predicate<Slot<T>> test) {
        List<PooledRef<Slot<T>>> matched = new ArrayList<>();
        for (Iterator<PooledRef<Slot<T>>> it = parked.iterator(); it.hasNext();) {
            PooledRef<Slot<T>> ref = it.next();
            if (test.test(ref.poolable())) {
                it.remove();
                matched.add(ref);
            }
        }
        parkedCount = parked.size();
        return matched;
    }

    /**
     * Counts a lease delivered to a borrower of this worker (an off-loop borrower for the overflow pool).
     *
     * @param opened whether the resource was opened for this lease (a miss) rather than open already (a hit)
     */
    void countLease(Locality locality, boolean opened) {
        leases[leaseIndex(locality, opened)].increment();
    }

    void countTimeout() {
        timeouts.increment();
    }

    void countClosed(CloseReason reason) {
        closed.get(reason).increment();
    }

    /**
     * @param spilledNow this pool's spilled count, read once by the caller, who counts those resources in the
     *        overflow
     * @return this pool's counters, its spilled resources left out
     */
    PoolStats snapshot(int spilledNow) {
        Map<CloseReason, Long> closedByReason = new EnumMap<>(CloseReason.class);
        long stale = 0;
        for (Map.Entry<CloseReason, LongAdder> entry : closed.entrySet()) {
            long count = entry.getValue().sum();
            closedByReason.put(entry.getKey(), count);
            stale += entry.getKey().isStale() ? count : 0;
        }
        long hits = 0;
        long misses = 0;
        for (Locality locality : Locality.values()) {
            hits += leases[leaseIndex(locality, false)].sum();
            misses += leases[leaseIndex(locality, true)].sum();
        }
        // The spilled resources are the overflow's: AffinityPool#stats() counts them there.
        return new PoolStats(Math.max(0, open.get() - spilledNow), idle(), acquired(spilledNow), pending.get(), hits,
                misses, timeouts.sum(), stale, closedByReason, count(Locality.LOCAL), count(Locality.STOLEN),
                count(Locality.OVERFLOW), count(Locality.OFF_LOOP));
    }

    private long count(Locality locality) {
        return leases[leaseIndex(locality, false)].sum() + leases[leaseIndex(locality, true)].sum();
    }

    private static int leaseIndex(Locality locality, boolean opened) {
        return locality.ordinal() * 2 + (opened ? 1 : 0);
    }
}
