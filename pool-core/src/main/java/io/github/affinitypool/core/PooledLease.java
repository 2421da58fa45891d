package io.github.affinitypool.core;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.pool.PooledRef;

/**
 * A {@link Lease} over a reactor-pool {@link PooledRef}. A resource handed from one borrower directly to a waiting one
 * keeps its {@link PooledRef} but gets a new lease, so a stale lease of the previous borrower cannot release it again.
 *
 * @param <T> the resource type
 */
final class PooledLease<T> implements Lease<T> {

    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<PooledLease> DONE =
            AtomicIntegerFieldUpdater.newUpdater(PooledLease.class, "done");

    private final AffinityPool<T> pool;
    private final SubPool<T> owner;
    private final PooledRef<Slot<T>> ref;
    private final Locality locality;
    private final boolean opened;
    private volatile int done;
    private volatile LeakDetector.Watch leakWatch;

    /**
     * @param owner the pool holding the resource
     * @param opened whether the resource was opened for this borrower (a miss) rather than reused (a hit)
     */
    PooledLease(AffinityPool<T> pool, SubPool<T> owner, PooledRef<Slot<T>> ref, Locality locality, boolean opened) {
        this.pool = pool;
        this.owner = owner;
        this.ref = ref;
        this.locality = locality;
        this.opened = opened;
    }

    @Override
    public T resource() {
        return ref.poolable().resource();
    }

    @Override
    public int worker() {
        return ref.poolable().worker();
    }

    @Override
    public Locality locality() {
        return locality;
    }

    @Override
    public Mono<Void> release() {
        return new ReleaseMono();
    }

    @Override
    public Mono<Void> invalidate() {
        return Mono.defer(() -> claim()
                ? pool.invalidate(ref, CloseReason.INVALIDATED)
                : Mono.empty());
    }

    SubPool<T> owner() {
        return owner;
    }

    PooledRef<Slot<T>> ref() {
        return ref;
    }

    boolean opened() {
        return opened;
    }

    /**
     * Uses the lease up: the first of {@link #release()}, {@link #invalidate()} and the pool returning a lease its
     * borrower never received wins.
     */
    boolean claim() {
        if (!DONE.compareAndSet(this, 0, 1)) {
            return false;
        }
        LeakDetector.Watch watch = leakWatch;
        if (watch != null) {
            watch.returned();
        }
        return true;
    }

    /** Starts leak detection for this lease; called once, when it is delivered. */
    void watchForLeak(LeakDetector.Watch watch) {
        this.leakWatch = watch;
        if (done != 0) {
            // Released before the watch was attached.
            watch.returned();
        }
    }

    /**
     * The release as a {@link Mono} of its own: releases are as hot as acquires, and a {@code defer} costs two objects.
     */
    private final class ReleaseMono extends Mono<Void> {

        @Override
        public void subscribe(CoreSubscriber<? super Void> actual) {
            (claim() ? pool.release(owner, ref) : Mono.<Void>empty()).subscribe(actual);
        }
    }

    @Override
    public String toString() {
        return "Lease{worker=" + worker() + ", locality=" + locality + ", resource=" + resource() + "}";
    }
}
