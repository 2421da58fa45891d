package io.github.affinitypool.core;

import java.util.EnumMap;
import java.util.Map;

/**
 * Counters of one worker pool, of the overflow, or their total. Resource counts ({@code open}, {@code idle},
 * {@code acquired}) belong to the pool that holds the resource (a resource a worker spilled above its idle bound is
 * held by the overflow), closes to the pool that opened it; borrower counts ({@code pending},
 * {@code timeouts}, {@code hits}, {@code misses} and the locality counters) to the borrower's worker, off-loop
 * borrowers being counted under the overflow pool. A worker's {@code hits / (hits + misses)} is thus the share of its
 * borrowers that found a resource open already.
 *
 * @param open resources open or being opened
 * @param idle resources idle in the pool
 * @param acquired resources leased out
 * @param pending borrowers waiting
 * @param hits leases served by a resource that was already open
 * @param misses leases served by a newly opened resource
 * @param timeouts acquires that failed with {@link AcquireTimeoutException}
 * @param staleClosed resources closed for a {@link CloseReason#isStale() stale} reason (expired or failed a check)
 * @param closedByReason resources closed, by reason (every reason present)
 * @param local leases from the borrower's own worker pool
 * @param stolen leases of another worker's idle resource
 * @param overflow leases from the overflow by on-loop borrowers (the overflow pool, or a resource another worker
 *        spilled)
 * @param offLoop leases by off-loop borrowers
 */
public record PoolStats(int open, int idle, int acquired, int pending, long hits, long misses, long timeouts,
        long staleClosed, Map<CloseReason, Long> closedByReason, long local, long stolen, long overflow, long offLoop) {

    public PoolStats {
        closedByReason = Map.copyOf(closedByReason);
    }

    /** @return these counters with {@code resources} more open and idle ones */
    PoolStats plusIdle(int resources) {
        return new PoolStats(open + resources, idle + resources, acquired, pending, hits, misses, timeouts, staleClosed,
                closedByReason, local, stolen, overflow, offLoop);
    }

    /** @return the sum of these counters and {@code other}'s */
    PoolStats plus(PoolStats other) {
        Map<CloseReason, Long> closed = new EnumMap<>(CloseReason.class);
        closed.putAll(closedByReason);
        other.closedByReason.forEach((reason, count) -> closed.merge(reason, count, Long::sum));
        return new PoolStats(open + other.open, idle + other.idle, acquired + other.acquired, pending + other.pending,
                hits + other.hits, misses + other.misses, timeouts + other.timeouts, staleClosed + other.staleClosed,
                closed, local + other.local, stolen + other.stolen, overflow + other.overflow, offLoop + other.offLoop);
    }
}
