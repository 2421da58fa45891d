package io.github.affinitypool.core;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.pool.PoolAcquirePendingLimitException;
import reactor.pool.PooledRef;

/**
 * The periodic upkeep of an {@link AffinityPool}'s worker pools, each on its own worker's loop: closes stale idle
 * resources, validates the idle ones that are due a check, drains the worker's share of the overflow, and refills
 * {@link AffinityPoolConfig#minIdlePerWorker()}. The overflow pool's share of the overflow is drained on Reactor's
 * parallel scheduler.
 * <p>
 * What it takes out of a pool goes back through the pool's own {@code recycle} and {@code invalidate}, so that a
 * waiting borrower is served and every close is counted as for any other resource.
 *
 * @param <T> the pooled resource type
 */
final class WorkerMaintenance<T> {

    /** The pool's logger: these are the pool's messages, and logging configured for the pool keeps covering them. */
    private static final Logger log = LoggerFactory.getLogger(AffinityPool.class);

    private final AffinityPool<T> owner;
    private final ResourceHealth<T> health;
    private final List<SubPool<T>> workerPools;
    private final SubPool<T> overflowPool;
    private final String name;
    private final AffinityPoolConfig config;
    private final WorkerLoops loops;
    private final Clock clock;
    private final Disposable.Composite tasks = Disposables.composite();

    /**
     * @param owner the pool maintained, whose configuration is resolved already
     * @param health judges the resources the upkeep looks at
     * @param workerPools its worker pools, each maintained on its worker's loop
     * @param overflowPool its overflow pool, whose spilled resources are drained
     */
    WorkerMaintenance(AffinityPool<T> owner, ResourceHealth<T> health, List<SubPool<T>> workerPools,
            SubPool<T> overflowPool) {
        this.owner = owner;
        this.health = health;
        this.workerPools = workerPools;
        this.overflowPool = overflowPool;
        this.name = owner.name();
        this.config = owner.config();
        this.loops = owner.loops();
        this.clock = config.clock();
    }

    /** Schedules the upkeep every {@code evictionInterval}; the workers' first run is at once, which fills min idle. */
    void start() {
        long interval = config.evictionInterval().toNanos();
        for (SubPool<T> pool : workerPools) {
            // reactor-pool's background eviction sees neither the parked resources nor its minimum, so each worker
            // sweeps and refills its own on its loop.
            tasks.add(loops.scheduler(pool.index).schedulePeriodically(() -> maintain(pool), 0, interval,
                    TimeUnit.NANOSECONDS));
        }
        tasks.add(Schedulers.parallel().schedulePeriodically(() -> drainSpilled(overflowPool, clock.millis()),
                interval, interval, TimeUnit.NANOSECONDS));
    }

    /** Cancels the scheduled upkeep, when the pool closes. */
    void stop() {
        tasks.dispose();
    }

    /**
     * The periodic upkeep of a worker, on its loop: closes stale parked resources, checks the idle ones that have not
     * been checked for {@code validateAfterIdle} (a Redis connection answers a PING), drains the worker's share of the
     * overflow, then refills the minimum.
     */
    private void maintain(SubPool<T> pool) {
        long now = clock.millis();
        if (pool.parkedCount() > 0) {
            for (PooledRef<Slot<T>> ref : pool.unparkIf(slot -> health.isStale(slot, now))) {
                owner.invalidate(ref, ref.poolable().closeReason()).subscribe();
            }
            // Taken out while checked, so that no borrower gets one half-way.
            for (PooledRef<Slot<T>> ref : pool.unparkIf(slot -> health.needsValidation(slot, now))) {
                checkIdle(pool, ref);
            }
        }
        // After the sweep, so that a spilled resource takes the place of a parked one just closed.
        drainSpilled(pool, now);
        checkPooledIdle(pool, now);
        if (config.minIdlePerWorker() > 0) {
            refill(pool);
        }
    }

    /**
     * Drains the pool's share of the overflow, radix-style: a spilled resource unused for an eviction interval goes
     * back to its pool when that keeps fewer than {@code maxIdlePerWorker} idle, else it is closed as excess idle;
     * stale ones are closed.
     */
    private void drainSpilled(SubPool<T> pool, long now) {
        if (pool.spilledCount() == 0) {
            return;
        }
        long unusedSince = now - config.evictionInterval().toMillis();
        for (PooledRef<Slot<T>> ref : pool.unspillIf(slot -> slot.idleSince() <= unusedSince
                || health.staleReason(slot, true, now) != null)) {
            CloseReason stale = health.staleReason(ref.poolable(), true, now);
            if (stale != null) {
                owner.invalidate(ref, stale).subscribe();
            }
            else if (pool.idle() < config.maxIdlePerWorker()) {
                owner.recycle(pool, ref, true, true).subscribe(null, owner::returnFailed);
            }
            else {
                owner.invalidate(ref, CloseReason.EXCESS_IDLE).subscribe();
            }
        }
    }

    /**
     * Checks the worker's idle resources that sit in reactor-pool (released on another thread), which can only be
     * reached by acquiring them: as many fast acquires as there are idle ones, each returned at once, after a check if
     * due.
     */
    private void checkPooledIdle(SubPool<T> pool, long now) {
        for (int i = pool.pooledIdle(); i > 0; i--) {
            pool.pool.acquire().subscribe(ref -> {
                boolean opened = ref.metadata().acquireCount() == 1; // a borrower took the idle one first
                if (!opened && health.needsValidation(ref.poolable(), now)) {
                    checkIdle(pool, ref);
                }
                else {
                    owner.recycle(pool, ref, true, !opened).subscribe(null, owner::returnFailed);
                }
            }, error -> log.debug("Pool '{}': nothing idle left to check on worker {}", name, pool.index, error));
        }
    }

    /**
     * Validates an idle resource in the background: kept idle (its idle time going on) when healthy, else closed.
     * Counted as checking until the answer, which the refill counts with the idle ones.
     */
    private void checkIdle(SubPool<T> pool, PooledRef<Slot<T>> ref) {
        Slot<T> slot = ref.poolable();
        pool.checking.incrementAndGet();
        health.validate(slot).subscribe(healthy -> {
            pool.checking.decrementAndGet();
            if (healthy) {
                slot.markChecked(clock.millis());
                owner.recycle(pool, ref, true, true).subscribe(null, owner::returnFailed);
            }
            else {
                owner.invalidate(ref, CloseReason.VALIDATION_FAILED).subscribe();
            }
        });
    }

    /**
     * Tops a worker pool up to {@code minIdlePerWorker} idle resources, on that worker's loop. reactor-pool hands out
     * idle resources before it opens new ones, so the refill borrows as many resources in a row as are missing beside
     * the parked ones (reactor-pool's idle ones first, then new ones while the cap allows), and returns each at once,
     * on this loop, where it is parked and out of reactor-pool's way: the next borrow opens a new one. Returned one by
     * one, not all at the end: a borrower arriving while a slow opening runs must not wait for resources the refill
     * merely holds.
     */
    void refill(SubPool<T> pool) {
        int minIdle = config.minIdlePerWorker();
        if (owner.isClosed() || pool.idle() + pool.checking.get() >= minIdle || owner.hasWaiters()
                || !pool.refilling.compareAndSet(false, true)) {
            return;
        }
        Flux.range(0, Math.max(0, minIdle - pool.parkedCount() - pool.checking.get()))
                .concatMap(i -> pool.pool.acquire().publishOn(loops.scheduler(pool.index))
                        .flatMap(ref -> owner.recycle(pool, ref, true, true)))
                .onErrorResume(error -> {
                    if (!(error instanceof PoolAcquirePendingLimitException)) {
                        log.debug("Pool '{}': refilling worker {} failed", name, pool.index, error);
                    }
                    return Mono.empty();
                })
                .doFinally(signal -> pool.refilling.set(false))
                .subscribe(null, error -> log.warn("Pool '{}': refilling worker {} failed", name, pool.index, error));
    }
}
