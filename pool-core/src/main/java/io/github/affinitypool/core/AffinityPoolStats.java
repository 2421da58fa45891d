package io.github.affinitypool.core;

import java.util.List;

/**
 * An immutable snapshot of an {@link AffinityPool}'s counters. The snapshot is taken without stopping the pool, so
 * counters read from different pools may be a few operations apart.
 *
 * @param total the sum over all worker pools and the overflow pool
 * @param workers one entry per worker, in worker order
 * @param overflow the overflow: the overflow pool and the idle resources the workers spilled above
 *        {@code maxIdlePerWorker} (counted here as open and idle, not under their worker); its borrower counts are
 *        those of the off-loop borrowers
 */
public record AffinityPoolStats(PoolStats total, List<PoolStats> workers, PoolStats overflow) {

    /** The pool index of the overflow pool in {@link AffinityPoolListener} callbacks. */
    public static final int OVERFLOW = -1;

    public AffinityPoolStats {
        workers = List.copyOf(workers);
    }
}
