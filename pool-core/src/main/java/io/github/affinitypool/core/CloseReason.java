package io.github.affinitypool.core;

/** Why the pool closed a resource. */
public enum CloseReason {

    /** Older than its (jittered) {@link AffinityPoolConfig#maxLifetime()}. */
    LIFETIME(true),

    /** Idle for longer than {@link AffinityPoolConfig#maxIdleTime()}. */
    IDLE_TIME(true),

    /** {@link PooledResourceFactory#isUsable(Object)} returned {@code false}. */
    UNUSABLE(true),

    /** {@link PooledResourceFactory#validate(Object)} failed on borrow or in the background check of idle resources. */
    VALIDATION_FAILED(true),

    /** {@link PooledResourceFactory#reset(Object)} failed on release. */
    RESET_FAILED(false),

    /**
     * Spilled to the overflow because its worker already kept {@link AffinityPoolConfig#maxIdlePerWorker()} idle
     * resources, then left unused there for an eviction interval.
     */
    EXCESS_IDLE(false),

    /** The borrower called {@link Lease#invalidate()}. */
    INVALIDATED(false),

    /** The pool was closed. */
    POOL_CLOSED(false);

    private final boolean stale;

    CloseReason(boolean stale) {
        this.stale = stale;
    }

    /**
     * @return whether this reason counts as "stale" in {@link PoolStats#staleClosed()}: expired or failed a health
     *         check
     */
    public boolean isStale() {
        return stale;
    }
}
