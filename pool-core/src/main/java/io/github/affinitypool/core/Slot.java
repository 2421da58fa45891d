package io.github.affinitypool.core;

import java.util.concurrent.atomic.AtomicReference;

/**
 * A pooled resource with what the pool needs to know about it: which pool holds it, which loop its I/O runs on, when
 * it expires and why it is being closed.
 *
 * @param <T> the resource type
 */
final class Slot<T> {

    private final T resource;
    private final int poolIndex;
    private final int worker;
    private final long openedAt;
    private final long maxLifetimeMillis;
    private final AtomicReference<CloseReason> closeReason = new AtomicReference<>();
    private volatile long idleSince;
    /** When a background check last found the idle resource healthy; 0 before that. */
    private volatile long checkedAt;

    /**
     * @param poolIndex the worker pool holding the resource, or {@link AffinityPoolStats#OVERFLOW}
     * @param worker the worker whose loop the resource's I/O runs on
     * @param openedAt clock millis at opening
     * @param maxLifetimeMillis this resource's (jittered) lifetime, 0 for no limit
     */
    Slot(T resource, int poolIndex, int worker, long openedAt, long maxLifetimeMillis) {
        this.resource = resource;
        this.poolIndex = poolIndex;
        this.worker = worker;
        this.openedAt = openedAt;
        this.maxLifetimeMillis = maxLifetimeMillis;
        this.idleSince = openedAt;
    }

    T resource() {
        return resource;
    }

    int poolIndex() {
        return poolIndex;
    }

    int worker() {
        return worker;
    }

    boolean expired(long now) {
        return maxLifetimeMillis > 0 && now - openedAt >= maxLifetimeMillis;
    }

    long idleMillis(long now) {
        return now - idleSince;
    }

    /** @return when the resource last became idle */
    long idleSince() {
        return idleSince;
    }

    /**
     * Starts the idle time, just before the resource goes back to its pool; a lease's end also ends any earlier check.
     */
    void markIdle(long since) {
        idleSince = since;
    }

    /** Records a successful background check, which spares the next borrower a check of its own. */
    void markChecked(long now) {
        checkedAt = now;
    }

    /** @return how long the resource has been idle without being checked */
    long uncheckedMillis(long now) {
        return now - Math.max(idleSince, checkedAt);
    }

    /** Records why the resource is about to be closed; the first decision wins. */
    void closeFor(CloseReason reason) {
        closeReason.compareAndSet(null, reason);
    }

    /**
     * @return the recorded reason, or {@link CloseReason#POOL_CLOSED} when reactor-pool closed it on its own at
     *         disposal
     */
    CloseReason closeReason() {
        CloseReason reason = closeReason.get();
        return reason != null ? reason : CloseReason.POOL_CLOSED;
    }

    @Override
    public String toString() {
        return "Slot{pool=" + poolIndex + ", worker=" + worker + ", resource=" + resource + "}";
    }
}
