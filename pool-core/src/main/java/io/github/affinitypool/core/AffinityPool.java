package io.github.affinitypool.core;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.pool.PoolAcquirePendingLimitException;
import reactor.pool.PoolBuilder;
import reactor.pool.PoolShutdownException;
import reactor.pool.PooledRef;

/**
 * A pool of resources with event-loop worker affinity: a borrower on worker {@code w}'s loop gets a resource whose I/O
 * runs on that same loop whenever one is idle there or may be opened.
 * <p>
 * Internally there is one reactor-pool per worker, whose resources are opened on that worker's loop, plus one shared
 * overflow pool for borrowers that are not on a worker loop. All of them share one allocation strategy, which caps the
 * resources open across all pools at {@link AffinityPoolConfig#maxOpen()}, and none of them has a wait queue of its
 * own: an acquire is served at once or fails fast, and this class joins the pools with an acquire chain and one FIFO
 * queue of waiting borrowers. An acquire on worker {@code w} tries, in order:
 * <ol>
 *     <li>{@code w}'s pool: a resource {@code w} spilled above {@code maxIdlePerWorker}, an idle resource, or a new one
 *     if the cap allows ({@link Locality#LOCAL});</li>
 *     <li>the overflow: a resource another worker spilled, or an idle resource of the overflow pool
 *     ({@link Locality#OVERFLOW});</li>
 *     <li>an idle resource of another worker's pool ({@link Locality#STOLEN});</li>
 *     <li>the waiter queue, served by the first resource released or capacity freed anywhere.</li>
 * </ol>
 * A borrower that is not on a worker loop tries the overflow (spilled resources, then the overflow pool, whose new
 * resources are opened on the workers in turn), then the workers' idle resources, then waits
 * ({@link Locality#OFF_LOOP}). A lease is always delivered on the
 * borrower's own loop. See {@code docs/core-pool.md} for the full design.
 *
 * @param <T> the pooled resource type
 */
public final class AffinityPool<T> implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AffinityPool.class);

    /** What {@link #close()} allows on top of the two bounded phases of {@link #closeAsync()}. */
    private static final Duration CLOSE_MARGIN = Duration.ofSeconds(5);

    private final String name;
    private final WorkerLoops loops;
    private final PooledResourceFactory<T> factory;
    private final AffinityPoolConfig config;
    private final AffinityPoolListener listener;
    private final LeakDetector leakDetector;
    private final Clock clock;
    private final ResourceHealth<T> health;
    private final boolean lifo;
    private final PermitStrategy permits;
    private final ConnectGate gate;
    private final List<SubPool<T>> workerPools;
    private final SubPool<T> overflowPool;
    private final List<SubPool<T>> allPools;
    private final WaiterQueue<T> waiters = new WaiterQueue<>();
    /**
     * The acquires of borrowers waiting for a resource being opened for them: a resource freed meanwhile on the
     * borrower's own worker (on any worker once the opening is slow), that no queued waiter takes, goes to the oldest
     * of them rather than to idle, so that a slow opening does not keep one waiting while a resource sits unused. Not
     * counted as pending: the opening serves them if nothing else does.
     */
    private final Deque<Attempt> openingWaiters = new ConcurrentLinkedDeque<>();
    private final AtomicInteger drainWip = new AtomicInteger();
    /** The thread running the waiter drain, so that a retry that fails on that very thread can stop the drain. */
    private volatile Thread drainingThread;
    /** Set by a borrower put back in the queue on the draining thread; read and reset by that thread only. */
    private boolean drainRaced;
    private final WorkerMaintenance<T> maintenance;
    private final Sinks.Empty<Void> leasesReturned = Sinks.empty();
    private final Sinks.Empty<Void> closeCompleted = Sinks.empty();
    private final AtomicBoolean closing = new AtomicBoolean();
    /** Resources being opened, all pools: the close waits for them as for the leases out. */
    private final AtomicInteger openingsInFlight = new AtomicInteger();
    /** Set once the close has started; read on every acquire and release. */
    private volatile boolean closed;

    private AffinityPool(String name, WorkerLoops loops, PooledResourceFactory<T> factory, AffinityPoolConfig config,
            AffinityPoolListener listener) {
        this.name = name;
        this.loops = loops;
        this.factory = factory;
        this.config = config;
        this.listener = AffinityPoolListener.guarded(listener, name);
        this.leakDetector = new LeakDetector(name, config, loops, this.listener);
        this.clock = config.clock();
        this.health = new ResourceHealth<>(name, factory, config, loops);
        this.lifo = config.idleOrder() == IdleOrder.LIFO;
        this.permits = new PermitStrategy(config.maxOpen());
        this.gate = new ConnectGate(config.maxConcurrentConnects(), config.maxOpen());
        List<SubPool<T>> workers = new ArrayList<>(loops.size());
        for (int worker = 0; worker < loops.size(); worker++) {
            workers.add(newSubPool(worker, loops.scheduler(worker)));
        }
        this.workerPools = Collections.unmodifiableList(workers);
        // The overflow pool's resources live on all loops in turn, so its eviction belongs to none of them.
        this.overflowPool = newSubPool(AffinityPoolStats.OVERFLOW, Schedulers.parallel());
        List<SubPool<T>> all = new ArrayList<>(workers);
        all.add(overflowPool);
        this.allPools = Collections.unmodifiableList(all);
        this.maintenance = new WorkerMaintenance<>(this, health, workerPools, overflowPool);
    }

    /**
     * Creates a pool and starts filling {@link AffinityPoolConfig#minIdlePerWorker()} in the background.
     *
     * @param name the pool's name in messages and metrics
     * @param loops the workers; the pool never closes them (whoever created them does, after closing the pool)
     * @param factory opens, checks and closes resources
     * @param config the configuration; its worker-dependent defaults are resolved for {@code loops}
     * @param listener receives pool events, {@link AffinityPoolListener#NONE} for none
     * @return the pool
     * @throws IllegalArgumentException if the configuration is inconsistent with the number of workers
     */
    public static <T> AffinityPool<T> create(String name, WorkerLoops loops, PooledResourceFactory<T> factory,
            AffinityPoolConfig config, AffinityPoolListener listener) {
        Objects.requireNonNull(name, "name must not be null");
        Objects.requireNonNull(loops, "loops must not be null");
        Objects.requireNonNull(factory, "factory must not be null");
        Objects.requireNonNull(config, "config must not be null");
        Objects.requireNonNull(listener, "listener must not be null");
        AffinityPool<T> pool = new AffinityPool<>(name, loops, factory, config.resolve(loops.size()), listener);
        pool.maintenance.start();
        return pool;
    }

    private SubPool<T> newSubPool(int index, Scheduler evictionScheduler) {
        return new SubPool<>(index, PoolBuilder.from(Mono.defer(() -> open(index)))
                .allocationStrategy(permits)
                // No reactor-pool wait queue: an acquire gets an idle resource, opens one, or fails fast; the waiter
                // queue of this class is what joins the pools.
                .maxPendingAcquire(0)
                // Not evictionIdle(..), which would replace this predicate.
                .evictionPredicate((slot, metadata) -> health.isStale(slot))
                .evictInBackground(config.evictionInterval(), evictionScheduler)
                .destroyHandler(this::destroy)
                .idleResourceReuseOrder(config.idleOrder() == IdleOrder.FIFO)
                .clock(clock)
                .buildPool());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Public API
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * Borrows a resource, preferring one on the calling worker's loop. The lease is delivered on the caller's loop
     * (inline when already there); the caller must {@link Lease#release()} it. Cancelling before delivery is safe: a
     * resource obtained for a cancelled acquire goes back to the pool.
     *
     * @return the lease; fails with {@link AcquireTimeoutException}, {@link PendingAcquireLimitException},
     *         {@link PoolClosedException}, or the factory's error when opening a resource for this borrower failed
     */
    public Mono<Lease<T>> acquire() {
        // With leak detection on, the acquiring code's stack is captured here, where the caller builds the acquire:
        // reactive code usually subscribes later, from the framework (WebFlux subscribes after the handler returned),
        // where the stack holds only Reactor's and the framework's frames.
        return new AcquireMono(leakDetector.acquiredAt());
    }

    /**
     * Acquires a resource, applies {@code fn} to it, and releases it when the returned {@link Flux} completes, fails
     * or is cancelled.
     *
     * @param fn the work to do with the resource
     * @return what {@code fn} emits
     */
    public <R> Flux<R> withResource(Function<T, Publisher<R>> fn) {
        return Flux.usingWhen(acquire(), lease -> fn.apply(lease.resource()), Lease::release,
                (lease, error) -> lease.release(), Lease::release);
    }

    /** @return a snapshot of the counters, per worker pool, of the overflow pool, and in total */
    public AffinityPoolStats stats() {
        // Each pool's spilled count is read once, and that one value moves its spilled resources from the pool to the
        // overflow: read twice, a spill between the reads would count a resource in neither place (or in both).
        List<PoolStats> workers = new ArrayList<>(workerPools.size());
        int spilledByWorkers = 0;
        for (SubPool<T> pool : workerPools) {
            int spilled = pool.spilledCount();
            spilledByWorkers += spilled;
            workers.add(pool.snapshot(spilled));
        }
        int spilledByOverflow = overflowPool.spilledCount();
        PoolStats overflow = overflowPool.snapshot(spilledByOverflow).plusIdle(spilledByWorkers + spilledByOverflow);
        PoolStats total = overflow;
        for (PoolStats stats : workers) {
            total = total.plus(stats);
        }
        return new AffinityPoolStats(total, workers, overflow);
    }

    /**
     * Closes the pool: new acquires and waiting borrowers fail with {@link PoolClosedException}; outstanding leases
     * get up to {@link AffinityPoolConfig#closeTimeout()} to be released; then every resource is closed, waiting up to
     * the close timeout again for the closes to finish. Leases released later are closed on release. Idempotent; the
     * worker loops are left running.
     *
     * @return completion of the close
     */
    public Mono<Void> closeAsync() {
        return Mono.defer(() -> {
            // Runs to the end whatever the subscriber does, so that a close() timing out does not stop it half-way.
            if (closing.compareAndSet(false, true)) {
                shutdown().subscribe(null, error -> {
                    log.warn("Pool '{}': closing failed", name, error);
                    closeCompleted.tryEmitEmpty();
                }, closeCompleted::tryEmitEmpty);
            }
            return closeCompleted.asMono();
        });
    }

    /**
     * Blocking {@link #closeAsync()}.
     *
     * @throws IllegalStateException when called on an event loop or another non-blocking thread, where blocking would
     *         stall the very loop the leases and closes need
     */
    @Override
    public void close() {
        if (loops.currentWorker() >= 0 || Schedulers.isInNonBlockingThread()) {
            throw new IllegalStateException("close() of pool '" + name + "' blocks and was called on the non-blocking "
                    + "thread " + Thread.currentThread().getName() + "; subscribe to closeAsync() instead");
        }
        Duration wait = config.closeTimeout().multipliedBy(2).plus(CLOSE_MARGIN);
        if (wait.compareTo(AffinityPoolConfig.MAX_DURATION) > 0) {
            // block() counts in nanoseconds, which the longest close timeout the configuration takes would overflow.
            wait = AffinityPoolConfig.MAX_DURATION;
        }
        closeAsync().block(wait);
    }

    /** @return the pool's name */
    public String name() {
        return name;
    }

    /** @return the worker loops the pool's resources live on */
    public WorkerLoops loops() {
        return loops;
    }

    /** @return the configuration, with the worker-dependent defaults resolved */
    public AffinityPoolConfig config() {
        return config;
    }

    @Override
    public String toString() {
        return "AffinityPool{name='" + name + "', workers=" + workerPools.size() + ", maxOpen=" + config.maxOpen()
                + (closed ? ", closed" : "") + "}";
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Acquire chain
    // ---------------------------------------------------------------------------------------------------------------

    void start(Borrower<T> borrower) {
        if (closed) {
            borrower.fail(AcquireOutcome.CLOSED, closedErrorFor(borrower));
            return;
        }
        if (!takeParked(borrower)) {
            advance(borrower);
        }
        // Started only now, so that the common acquire served at once costs no timer.
        if (borrower.isPending()) {
            startTimer(borrower);
        }
    }

    /** Tries the borrower's next candidate pool, or queues the borrower when none is left. */
    private void advance(Borrower<T> borrower) {
        while (borrower.isPending()) {
            int step = borrower.step++;
            SubPool<T> candidate = candidate(borrower, step);
            if (candidate == null) {
                park(borrower);
                return;
            }
            if (takeSpilled(borrower, candidate)) {
                return;
            }
            // Only the first candidate may open a resource;
            // the others are worth trying only when they hold an idle one.
            if (step == 0 || candidate.pooledIdle() > 0) {
                Attempt attempt = new Attempt(borrower, candidate);
                candidate.pool.acquire().subscribe(attempt);
                if (step == 0) {
                    // Unanswered, the first candidate's acquire is opening a resource for the borrower.
                    awaitOpening(attempt);
                }
                return;
            }
        }
    }

    /**
     * @return the pool to try at this step: on worker {@code w}, {@code w}'s pool, then the overflow pool, then the
     *         other workers' pools starting after {@code w}; off-loop, the overflow pool, then the workers' pools;
     *         null when the chain is exhausted
     */
    private SubPool<T> candidate(Borrower<T> borrower, int step) {
        int workers = workerPools.size();
        if (borrower.worker < 0) {
            if (step == 0) {
                return overflowPool;
            }
            return step <= workers ? workerPools.get((borrower.stealStart + step - 1) % workers) : null;
        }
        if (step == 0) {
            return workerPools.get(borrower.worker);
        }
        if (step == 1) {
            return overflowPool;
        }
        return step <= workers ? workerPools.get((borrower.worker + step - 1) % workers) : null;
    }

    private void attemptFailed(Borrower<T> borrower, Throwable error) {
        if (error instanceof PoolAcquirePendingLimitException) {
            advance(borrower); // nothing free in that pool: the fast failure maxPendingAcquire(0) was chosen for
        }
        else if (error instanceof PoolShutdownException || error instanceof PoolClosedException) {
            borrower.fail(AcquireOutcome.CLOSED, closedErrorFor(borrower));
        }
        else {
            borrower.fail(AcquireOutcome.ERROR, () -> error);
        }
    }

    /**
     * The fast path of an acquire on its own worker's loop: the resource most recently parked there (or the oldest,
     * with {@link IdleOrder#FIFO}), with one clock read and no compare-and-set on any shared state.
     *
     * @return whether a parked resource was taken for the borrower
     */
    private boolean takeParked(Borrower<T> borrower) {
        SubPool<T> pool = borrower.home;
        if (pool.parkedCount() == 0 || loops.currentWorker() != pool.index) {
            return false;
        }
        return takeIdle(borrower, pool, false);
    }

    /**
     * Takes a resource from the overflow for the borrower: at its own worker's pool, one that worker spilled (still on
     * the borrower's loop); at the overflow pool, any worker's, the borrower's own first, so that a spilled resource is
     * reused before the chain opens a new one or queues the borrower.
     *
     * @return whether a spilled resource was taken for the borrower
     */
    private boolean takeSpilled(Borrower<T> borrower, SubPool<T> candidate) {
        if (candidate != overflowPool) {
            return candidate.index == borrower.worker && takeSpilledFrom(borrower, candidate);
        }
        if (borrower.worker >= 0 && takeSpilledFrom(borrower, workerPools.get(borrower.worker))) {
            return true;
        }
        for (SubPool<T> pool : allPools) {
            if (takeSpilledFrom(borrower, pool)) {
                return true;
            }
        }
        return false;
    }

    private boolean takeSpilledFrom(Borrower<T> borrower, SubPool<T> pool) {
        return pool.spilledCount() > 0 && takeIdle(borrower, pool, true);
    }

    /**
     * Takes the first fresh resource parked on the pool (on its worker's loop only) or spilled from it for the
     * borrower, closing the stale ones on the way.
     */
    private boolean takeIdle(Borrower<T> borrower, SubPool<T> pool, boolean spilled) {
        long now = clock.millis();
        PooledRef<Slot<T>> ref;
        while ((ref = spilled ? pool.unspill(lifo) : pool.unpark(lifo)) != null) {
            CloseReason stale = health.staleReason(ref.poolable(), true, now);
            if (stale == null) {
                Locality locality = borrower.worker < 0 ? Locality.OFF_LOOP
                        : pool.index == borrower.worker ? Locality.LOCAL : Locality.OVERFLOW;
                checkAndAssign(borrower, pool, ref, false, now, locality);
                return true;
            }
            invalidate(ref, stale).subscribe();
        }
        return false;
    }

    private void obtained(Borrower<T> borrower, SubPool<T> pool, PooledRef<Slot<T>> ref) {
        // An acquire count of 1 means reactor-pool opened the resource for this very acquire.
        boolean opened = ref.metadata().acquireCount() == 1;
        checkAndAssign(borrower, pool, ref, opened, opened ? 0 : clock.millis(), locality(borrower, pool));
    }

    /**
     * Validates a reused resource that was idle long enough, then assigns it; a failed check sends the borrower back to
     * the chain.
     */
    private void checkAndAssign(Borrower<T> borrower, SubPool<T> pool, PooledRef<Slot<T>> ref, boolean opened, long now,
            Locality locality) {
        Slot<T> slot = ref.poolable();
        if (!opened && borrower.isPending() && health.needsValidation(slot, now)) {
            health.validate(slot).subscribe(healthy -> {
                if (healthy) {
                    assign(borrower, pool, ref, false, locality);
                }
                else {
                    invalidate(ref, CloseReason.VALIDATION_FAILED).subscribe();
                    borrower.step = 0;
                    advance(borrower);
                }
            });
            return;
        }
        assign(borrower, pool, ref, opened, locality);
    }

    private void assign(Borrower<T> borrower, SubPool<T> pool, PooledRef<Slot<T>> ref, boolean opened,
            Locality locality) {
        if (closed) {
            // Opened (or checked) for the borrower while the pool closed: it hears that, and the resource is closed.
            invalidate(ref, CloseReason.POOL_CLOSED).subscribe();
            borrower.fail(AcquireOutcome.CLOSED, closedErrorFor(borrower));
            return;
        }
        PooledLease<T> lease = new PooledLease<>(this, pool, ref, locality, opened);
        if (!borrower.assign(lease)) {
            giveBack(lease);
        }
    }

    private Locality locality(Borrower<T> borrower, SubPool<T> pool) {
        if (borrower.worker < 0) {
            return Locality.OFF_LOOP;
        }
        if (pool.index == borrower.worker) {
            return Locality.LOCAL;
        }
        return pool == overflowPool ? Locality.OVERFLOW : Locality.STOLEN;
    }

    /** Queues a borrower the chain could not serve, or fails it when the queue is full. */
    private void park(Borrower<T> borrower) {
        if (closed) {
            borrower.fail(AcquireOutcome.CLOSED, closedErrorFor(borrower));
            return;
        }
        if (borrower.waited) {
            // Polled from the queue for capacity that someone else took first: back to the head, keeping its turn.
            waiters.offerFirst(borrower);
            if (drainingThread == Thread.currentThread()) {
                drainRaced = true;
                return;
            }
        }
        else if (!waiters.offer(borrower, config.maxPendingAcquires()) && !queueForParked(borrower)) {
            borrower.fail(AcquireOutcome.PENDING_LIMIT, () -> new PendingAcquireLimitException(config, name,
                    borrower.worker, state()));
            return;
        }
        if (closed) {
            // The pool closed between the check above and the queueing, perhaps after the shutdown emptied the queue;
            // failing takes the borrower out of the queue, and does nothing when the shutdown failed it already.
            borrower.fail(AcquireOutcome.CLOSED, closedErrorFor(borrower));
            return;
        }
        // A release that went idle while this borrower was on its way into the queue found no one to serve.
        drainWaiters();
    }

    /**
     * Queues a borrower beyond {@code maxPendingAcquires} when resources parked on other workers will serve every
     * waiter, this one included, as soon as their loops hand them over: the limit is for waiting on capacity, and this
     * capacity is free, only one loop away (with {@code maxPendingAcquires} 0, the borrower would otherwise fail while
     * a resource sits idle).
     *
     * @return whether the borrower was queued
     */
    private boolean queueForParked(Borrower<T> borrower) {
        int parked = 0;
        for (SubPool<T> pool : workerPools) {
            parked += pool.parkedCount();
        }
        return parked > waiters.size() && waiters.offer(borrower, Integer.MAX_VALUE);
    }

    /**
     * Lets a borrower whose acquire opens a resource for it be served by a resource freed meanwhile, unless the
     * acquire has been answered already.
     */
    private void awaitOpening(Attempt attempt) {
        if (attempt.answered || !attempt.borrower.isPending()) {
            return;
        }
        // Marked before it is queued, and the answer read after: an answer that comes meanwhile either sees the mark
        // and takes the attempt out, or is seen here, whichever thread gets there first.
        attempt.queued = true;
        openingWaiters.offerLast(attempt);
        if (attempt.answered || !attempt.borrower.isPending()) {
            openingWaiters.remove(attempt);
            return;
        }
        // Once per attempt, also when a failed check of a resource handed to it queues it again.
        if (attempt.fallbackScheduled.compareAndSet(false, true)) {
            scheduleIdleFallback(attempt, slowAfterNanos(attempt.borrower));
        }
    }

    /**
     * @return how long from now until the borrower has waited half its acquire timeout: the full half when its timer
     *         has not started yet (the chain opened at once), less for one that waited in the queue before this opening
     */
    private long slowAfterNanos(Borrower<T> borrower) {
        long half = config.acquireTimeout().toNanos() / 2;
        long deadline = borrower.deadlineNanos;
        return deadline == 0 ? half : Math.max(0, deadline - half - System.nanoTime());
    }

    /**
     * Affinity first: the chain opened a resource on the borrower's own worker rather than take one idle elsewhere. But
     * once the borrower has waited half its acquire timeout the opening is slow, and the borrower must not time out
     * while a resource sits idle: from then on a resource of any worker may serve it, the resources idle elsewhere are
     * offered to it, and again every tenth of the timeout (a resource that went idle just as it was looked at is not
     * missed for long), until its opening answers. The timer is not cancelled on the answer, only ends there: a
     * cancel of a running task on Reactor's parallel scheduler (an off-loop borrower's) interrupts its thread.
     */
    private void scheduleIdleFallback(Attempt attempt, long delayNanos) {
        Runnable fallback = () -> {
            if (attempt.answered || !attempt.borrower.isPending()) {
                return;
            }
            attempt.slow = true;
            offerIdleToOpeningWaiters();
            scheduleIdleFallback(attempt, Math.max(1, config.acquireTimeout().toNanos() / 10));
        };
        try {
            timerScheduler(attempt.borrower.worker).schedule(fallback, delayNanos, TimeUnit.NANOSECONDS);
        }
        catch (RejectedExecutionException loopShuttingDown) {
            Schedulers.parallel().schedule(fallback, delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Offers one idle resource of each pool — spilled (an excess one), else parked (through its loop), else one of
     * reactor-pool's — to the borrowers waiting for slow openings; what none of them takes goes back as it came. One
     * per pool, so that the workers' parked resources stay where their own borrowers find them fastest.
     */
    private void offerIdleToOpeningWaiters() {
        for (SubPool<T> pool : allPools) {
            PooledRef<Slot<T>> spilled = pool.unspill(lifo);
            if (spilled != null) {
                recycle(pool, spilled, false, true).subscribe(null, this::returnFailed);
            }
            else if (pool != overflowPool && pool.parkedCount() > 0) {
                runOnWorker(pool.index, () -> {
                    PooledRef<Slot<T>> parked = pool.unpark(lifo);
                    if (parked != null) {
                        recycle(pool, parked, false, true).subscribe(null, this::returnFailed);
                    }
                });
            }
            else if (pool.pooledIdle() > 0) {
                // reactor-pool opens a resource when the idle one was taken meanwhile: that one is fresh, not idle.
                pool.pool.acquire().subscribe(ref -> recycle(pool, ref, false, ref.metadata().acquireCount() > 1)
                        .subscribe(null, this::returnFailed), error -> log.debug("Pool '{}': the idle {} to offer was "
                        + "taken meanwhile ({})", name, config.resourceNoun(), error.toString()));
            }
        }
    }

    /** @return whether a borrower waiting for its opening may take a resource of that worker (the parked ones) */
    private boolean openingWaiterMayTake(int resourceWorker) {
        if (openingWaiters.isEmpty()) {
            return false;
        }
        for (Attempt attempt : openingWaiters) {
            if (attempt.mayTake(resourceWorker) && attempt.borrower.isPending()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Hands a resource to the oldest borrower still waiting for its own opening that may take it: one on the resource's
     * worker, an off-loop one, or one whose opening is slow (affinity first: the others' openings on their own workers
     * are expected any moment). The opening, when it completes, goes back to the pool as an unused resource. A resource
     * that sat idle gets the check a borrow would give it; a failed check closes it, and the borrower waits on.
     *
     * @return whether the resource was handed on (or is being checked for a borrower)
     */
    private boolean handToOpeningWaiter(SubPool<T> pool, PooledRef<Slot<T>> ref, boolean stillIdle, long now) {
        int resourceWorker = ref.poolable().worker();
        for (Attempt attempt : openingWaiters) {
            Borrower<T> waiting = attempt.borrower;
            // Removed by whoever gets there first: this hand-off, another one, or the attempt's answer.
            if (!attempt.mayTake(resourceWorker) || !openingWaiters.remove(attempt) || !waiting.isPending()) {
                continue;
            }
            Locality locality = locality(waiting, pool);
            if (stillIdle && health.needsValidation(ref.poolable(), now)) {
                Attempt checkedFor = attempt;
                health.validate(ref.poolable()).subscribe(healthy -> {
                    if (healthy) {
                        assign(waiting, pool, ref, false, locality);
                        return;
                    }
                    invalidate(ref, CloseReason.VALIDATION_FAILED).subscribe();
                    awaitOpening(checkedFor);
                });
                return true;
            }
            if (waiting.assign(new PooledLease<>(this, pool, ref, locality, false))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Serves waiting borrowers, oldest first, while some pool has an idle resource or a resource may be opened. Runs
     * after every release to idle, close, failed opening and queueing; lock-free, one thread at a time.
     */
    private void drainWaiters() {
        if (waiters.isEmpty() || drainWip.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        do {
            drainingThread = Thread.currentThread();
            serveWaiters();
            drainingThread = null;
            missed = drainWip.addAndGet(-missed);
        }
        while (missed != 0);
    }

    private void serveWaiters() {
        // A borrower put back while the last pass asked for spills left the flag set; it concerns that pass only.
        drainRaced = false;
        Borrower<T> borrower;
        while (hasCapacity() && (borrower = waiters.poll()) != null) {
            if (closed) {
                borrower.fail(AcquireOutcome.CLOSED, closedErrorFor(borrower));
                continue;
            }
            borrower.waited = true;
            borrower.step = 0;
            advance(borrower);
            if (drainRaced) {
                // The capacity seen was taken by a concurrent acquire; whoever frees the next one drains again. But
                // what that acquire took may already be parked again: its release found the waiter out of the queue,
                // so nobody asked its loop to hand it on.
                drainRaced = false;
                break;
            }
        }
        if (!waiters.isEmpty()) {
            requestSpills();
        }
    }

    /**
     * Asks every worker with parked resources to hand them to the waiting borrowers: only its own loop may touch them.
     * A waiter is therefore never left waiting while a resource sits parked on some worker.
     */
    private void requestSpills() {
        for (SubPool<T> pool : workerPools) {
            if (pool.parkedCount() > 0 && pool.spillScheduled.compareAndSet(false, true)) {
                runOnWorker(pool.index, () -> {
                    pool.spillScheduled.set(false);
                    spillParked(pool);
                });
            }
        }
    }

    /** On the worker's loop: gives each parked resource to the oldest waiting borrower, or back to reactor-pool. */
    private void spillParked(SubPool<T> pool) {
        PooledRef<Slot<T>> ref;
        while ((ref = pool.unpark(lifo)) != null) {
            recycle(pool, ref, false, true).subscribe(null, this::returnFailed);
        }
    }

    private boolean hasCapacity() {
        if (permits.estimatePermitCount() > 0) {
            return true;
        }
        for (SubPool<T> pool : allPools) {
            if (pool.pooledIdle() > 0 || pool.spilledCount() > 0) {
                return true;
            }
        }
        return false;
    }

    private void startTimer(Borrower<T> borrower) {
        // A clock read the common acquire, served at once, never pays: for the fallback of a later, slow, opening.
        borrower.deadlineNanos = System.nanoTime() + config.acquireTimeout().toNanos();
        Runnable onTimeout = () -> borrower.fail(AcquireOutcome.TIMEOUT,
                () -> new AcquireTimeoutException(config, name, borrower.worker, state()));
        try {
            borrower.startTimer(timerScheduler(borrower.worker), config.acquireTimeout(), onTimeout);
        }
        catch (RejectedExecutionException loopShuttingDown) {
            borrower.startTimer(Schedulers.parallel(), config.acquireTimeout(), onTimeout);
        }
    }

    private Scheduler timerScheduler(int worker) {
        return worker < 0 ? Schedulers.parallel() : loops.scheduler(worker);
    }

    /** A borrower cancelled while pending. */
    void abandoned(Borrower<T> borrower) {
        waiters.remove(borrower);
    }

    void failed(Borrower<T> borrower, AcquireOutcome outcome) {
        waiters.remove(borrower);
        if (outcome == AcquireOutcome.TIMEOUT) {
            borrower.home.countTimeout();
        }
        listener.acquireFailed(borrower.worker, outcome, borrower.elapsedNanos());
    }

    void delivered(Borrower<T> borrower, PooledLease<T> lease) {
        if (borrower.isQueued()) {
            // Served by a hand-off meant for its opening after its chain had queued it: no longer waiting.
            waiters.remove(borrower);
        }
        borrower.home.countLease(lease.locality(), lease.opened());
        if (borrower.acquiredAt != null) {
            lease.watchForLeak(leakDetector.watch(lease.worker(), borrower.acquiredAt));
        }
        listener.acquired(borrower.worker, lease.locality(), borrower.elapsedNanos());
    }

    /** Returns a lease whose borrower never received it (it cancelled or timed out first); no reset is needed. */
    void giveBack(PooledLease<T> lease) {
        if (lease.claim()) {
            recycle(lease.owner(), lease.ref()).subscribe(null, error -> log.warn("Pool '{}': returning an unused {} "
                    + "failed", name, config.resourceNoun(), error));
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Release, invalidation and closing
    // ---------------------------------------------------------------------------------------------------------------

    Mono<Void> release(SubPool<T> pool, PooledRef<Slot<T>> ref) {
        Mono<Boolean> reset = health.reset(ref.poolable());
        // Releases are hot: a constant answer is applied at once rather than through another operator.
        if (reset == ResourceHealth.TRUE) {
            return recycle(pool, ref);
        }
        // The lease is claimed already, so this is the resource's only way back: were the reset cancelled halfway (a
        // release().timeout(..), a cancelled request that chained the release), the resource would stay acquired for
        // good. So the release runs to its end on its own, and the caller's subscription only watches it.
        Mono<Void> returned = reset
                .flatMap(keep -> keep ? recycle(pool, ref) : invalidate(ref, CloseReason.RESET_FAILED))
                .cache();
        returned.subscribe(null, error -> log.debug("Pool '{}': returning {} failed", name, ref.poolable(), error));
        return returned;
    }

    /** Hands a resource that is fit for reuse to the oldest waiting borrower, or returns it to its pool. */
    private Mono<Void> recycle(SubPool<T> pool, PooledRef<Slot<T>> ref) {
        return recycle(pool, ref, true, false);
    }

    /**
     * @param mayPark whether the resource may be parked on its worker's loop when released there
     * @param stillIdle whether the resource comes back from a spill or a background check rather than from a lease, so
     *        that its idle time goes on and counts against {@code maxIdleTime} (else it would never close a resource
     *        that is checked), and a waiter gets it only after the check a borrow would give it
     */
    Mono<Void> recycle(SubPool<T> pool, PooledRef<Slot<T>> ref, boolean mayPark, boolean stillIdle) {
        if (closed) {
            return invalidate(ref, CloseReason.POOL_CLOSED);
        }
        long now = clock.millis();
        long idleSince = stillIdle ? ref.poolable().idleSince() : now;
        CloseReason stale = health.staleReason(ref.poolable(), stillIdle, now);
        if (stale != null) {
            return invalidate(ref, stale);
        }
        Borrower<T> waiting;
        // Checking the count first keeps the common release clear of the queue; one who arrives after the check is
        // served by the drain that follows the return to the pool.
        while (!waiters.isEmpty() && (waiting = waiters.poll()) != null) {
            // Taken from the queue: should what it is given fail its check, the borrower goes back to its turn there.
            waiting.waited = true;
            if (stillIdle && waiting.isPending()) {
                // A resource that sat idle gets the check a borrow from the pool would give it (a PING when due).
                checkAndAssign(waiting, pool, ref, false, now, locality(waiting, pool));
                return Mono.empty();
            }
            // Still acquired from its pool, so it goes straight to the waiter without a round trip through the pool.
            if (waiting.assign(new PooledLease<>(this, pool, ref, locality(waiting, pool), false))) {
                return Mono.empty();
            }
        }
        if (!openingWaiters.isEmpty() && handToOpeningWaiter(pool, ref, stillIdle, now)) {
            return Mono.empty();
        }
        if (mayPark && park(pool, ref, idleSince)) {
            return Mono.empty();
        }
        return returnToPool(pool, ref, idleSince);
    }

    /** Logs a failed return of an idle resource, one that went back from a spill or a background check. */
    void returnFailed(Throwable error) {
        log.warn("Pool '{}': returning an idle {} failed", name, config.resourceNoun(), error);
    }

    /**
     * Parks a resource released on its own worker's loop, within {@code maxIdlePerWorker}; the next acquire on that
     * loop takes it without going through reactor-pool.
     *
     * @return false when the resource must go the slow way: released elsewhere, an overflow resource, or in excess
     */
    private boolean park(SubPool<T> pool, PooledRef<Slot<T>> ref, long idleSince) {
        if (pool == overflowPool || loops.currentWorker() != pool.index) {
            return false;
        }
        ref.poolable().markIdle(idleSince);
        // Parked first, then checked against the bound: a release on another thread counts itself in `returning` before
        // it reads the idle count, so of two concurrent releases at least one sees the other, and the bound holds
        // without a read-modify-write on this path.
        pool.park(ref);
        if (pool.returning.get() + pool.idle() > config.maxIdlePerWorker()) {
            pool.unparkNewest();
            return false;
        }
        // A close that started since recycle() looked found this lease still out, and nothing would tell it of a
        // parked return: taken back out, the resource goes the slow way, which reports it.
        if (closed) {
            pool.unparkNewest();
            return false;
        }
        // A borrower queued after the check of the waiters above found nothing it could take: hand the parked ones on.
        if (!waiters.isEmpty() || openingWaiterMayTake(pool.index)) {
            spillParked(pool);
        }
        return true;
    }

    /**
     * Returns a resource to its own pool, or spills it to the overflow when the pool keeps {@code maxIdlePerWorker}
     * idle already.
     */
    private Mono<Void> returnToPool(SubPool<T> pool, PooledRef<Slot<T>> ref, long idleSince) {
        if (pool.returning.incrementAndGet() + pool.idle() > config.maxIdlePerWorker()) {
            pool.returning.decrementAndGet();
            spill(pool, ref, idleSince);
            return Mono.empty();
        }
        ref.poolable().markIdle(idleSince);
        // Counted back before the release's completion reaches its subscriber (doFinally would run after it): a
        // borrower that reacts to that completion with a new acquire and release must not find this return still
        // counted as in flight, or its release would close the resource as excess idle.
        AtomicBoolean counted = new AtomicBoolean();
        Runnable returned = () -> {
            if (counted.compareAndSet(false, true)) {
                pool.returning.decrementAndGet();
                drainWaiters();
                checkLeasesReturned();
            }
        };
        return ref.release().doOnTerminate(returned).doOnCancel(returned);
    }

    /**
     * Puts an excess idle resource in the overflow rather than closing it, so that a load needing more resources than
     * the idle bound keeps them instead of closing and reopening one per lease (the churn that a small idle bound
     * causes in pools that close the excess at once). Borrowers take spilled resources before opening new ones, the
     * owning worker's own first; what stays unused for an eviction interval is drained by the worker's maintenance.
     */
    private void spill(SubPool<T> pool, PooledRef<Slot<T>> ref, long idleSince) {
        ref.poolable().markIdle(idleSince);
        pool.spill(ref);
        // Spilled first, then the closed flag read: the shutdown sets the flag before it drains the overflow, so one of
        // the two closes the resource.
        if (closed) {
            if (pool.unspill(ref)) {
                invalidate(ref, CloseReason.POOL_CLOSED).subscribe();
            }
            return;
        }
        // A borrower that found the overflow empty on its way into the queue is served now.
        drainWaiters();
        checkLeasesReturned();
    }

    Mono<Void> invalidate(PooledRef<Slot<T>> ref, CloseReason reason) {
        ref.poolable().closeFor(reason);
        return ref.invalidate().onErrorResume(error -> {
            log.warn("Pool '{}': closing a {} failed", name, config.resourceNoun(), error);
            return Mono.empty();
        });
    }

    /**
     * reactor-pool's destroy handler, called once per resource after its permit was returned. The close starts at once
     * on the resource's loop, whether or not reactor-pool subscribes to the returned completion.
     */
    private Mono<Void> destroy(Slot<T> slot) {
        SubPool<T> pool = pool(slot.poolIndex());
        CloseReason reason = slot.closeReason();
        Sinks.Empty<Void> done = Sinks.empty();
        runOnWorker(slot.worker(), () -> {
            Mono<Void> closing = Mono.defer(() -> factory.close(slot.resource()))
                    .onErrorResume(error -> {
                        log.warn("Pool '{}': closing a {} failed", name, config.resourceNoun(), error);
                        return Mono.empty();
                    })
                    .cache();
            closing.subscribe();
            // Counted as closed once the close has started, and reported complete only after the counting.
            closed(pool, reason);
            closing.subscribe(null, null, done::tryEmitEmpty);
        });
        return done.asMono();
    }

    private void closed(SubPool<T> pool, CloseReason reason) {
        pool.open.decrementAndGet();
        pool.countClosed(reason);
        listener.closed(pool.index, reason);
        gate.closed();
        drainWaiters();
        checkLeasesReturned();
        if (pool != overflowPool) {
            maintenance.refill(pool);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Opening
    // ---------------------------------------------------------------------------------------------------------------

    /** reactor-pool's allocator for the pool at {@code poolIndex}; overflow resources go to the workers in turn. */
    private Mono<Slot<T>> open(int poolIndex) {
        SubPool<T> pool = pool(poolIndex);
        int worker = poolIndex == AffinityPoolStats.OVERFLOW ? loops.nextWorker() : poolIndex;
        pool.open.incrementAndGet();
        openingsInFlight.incrementAndGet();
        // An opening held back by the connect gate may start after the close: it opens nothing then.
        return gate.admit(loops.onLoop(worker, () -> closed ? Mono.error(new PoolClosedException(config, name, worker))
                        : factory.open(worker, loops.loop(worker))))
                .map(resource -> {
                    listener.opened(poolIndex);
                    return new Slot<>(resource, poolIndex, worker, clock.millis(), health.jitteredLifetimeMillis());
                })
                .doOnError(error -> {
                    pool.open.decrementAndGet();
                    log.debug("Pool '{}': opening a {} on worker {} failed", name, config.resourceNoun(), worker,
                            error);
                })
                .doFinally(signal -> {
                    openingsInFlight.decrementAndGet();
                    checkLeasesReturned();
                    // Runs after reactor-pool returned the permit. The opening may have been a refill's or a background
                    // check's, which no borrower waits on: the waiters queued meanwhile are served by no one else.
                    if (signal == SignalType.ON_ERROR) {
                        drainWaiters();
                    }
                });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Shutdown
    // ---------------------------------------------------------------------------------------------------------------

    private Mono<Void> shutdown() {
        closed = true;
        maintenance.stop();
        Borrower<T> waiting;
        while ((waiting = waiters.poll()) != null) {
            waiting.fail(AcquireOutcome.CLOSED, closedErrorFor(waiting));
        }
        checkLeasesReturned();
        // Parked resources are acquired as far as reactor-pool knows, so its disposal would leave them open.
        Mono<Void> disposeAll = Flux.fromIterable(allPools)
                .flatMap(pool -> closeParked(pool).then(pool.pool.disposeLater()))
                .then();
        return bounded(leasesReturned.asMono(), () -> log.warn("Pool '{}' closing with {} lease(s) still out after {}",
                        name, acquired(), config.closeTimeout()))
                .then(bounded(disposeAll, () -> log.warn("Pool '{}': not every {} finished closing within {}", name,
                        config.resourceNoun(), config.closeTimeout())));
    }

    /** Waits for a close phase up to the close timeout; with a zero timeout starts it without waiting. */
    private Mono<Void> bounded(Mono<Void> phase, Runnable onTimeout) {
        if (config.closeTimeout().isZero()) {
            phase.subscribe(null, error -> log.warn("Pool '{}': closing failed", name, error));
            return Mono.empty();
        }
        return phase.timeout(config.closeTimeout(), Mono.fromRunnable(onTimeout));
    }

    /**
     * Ends the close's wait once no lease is out and no resource is being opened: an opening finishes into a borrower's
     * hands, and the pool must not report itself closed while a resource it would have to close is still arriving.
     */
    private void checkLeasesReturned() {
        if (closed && acquired() == 0 && openingsInFlight.get() == 0) {
            leasesReturned.tryEmitEmpty();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------------------------

    /** @return whether the close has started */
    boolean isClosed() {
        return closed;
    }

    /** @return whether borrowers are queued, waiting for a resource */
    boolean hasWaiters() {
        return !waiters.isEmpty();
    }

    /** @return whether the calling thread is that worker's loop; always for -1 (off-loop work runs wherever it is) */
    boolean isOnWorker(int worker) {
        return worker < 0 || loops.currentWorker() == worker;
    }

    /** Runs a task on a worker's loop, inline when already there; inline as well for -1 or a loop shutting down. */
    void runOnWorker(int worker, Runnable task) {
        if (isOnWorker(worker)) {
            task.run();
            return;
        }
        try {
            loops.loop(worker).execute(task);
        }
        catch (RejectedExecutionException loopShuttingDown) {
            task.run();
        }
    }

    private SubPool<T> pool(int index) {
        return index == AffinityPoolStats.OVERFLOW ? overflowPool : workerPools.get(index);
    }

    private Supplier<PoolClosedException> closedErrorFor(Borrower<T> borrower) {
        return () -> new PoolClosedException(config, name, borrower.worker);
    }

    private PoolExhaustedException.PoolState state() {
        int open = 0;
        int idle = 0;
        for (SubPool<T> pool : allPools) {
            open += pool.open.get();
            idle += pool.idle() + pool.spilledCount();
        }
        return new PoolExhaustedException.PoolState(open, config.maxOpen(), gate.connecting(), idle, waiters.size());
    }

    /** @return idle resources spilled to the overflow, across all pools */
    int spilledCount() {
        int spilled = 0;
        for (SubPool<T> pool : allPools) {
            spilled += pool.spilledCount();
        }
        return spilled;
    }

    private int acquired() {
        int acquired = 0;
        for (SubPool<T> pool : allPools) {
            acquired += pool.acquired();
        }
        return acquired;
    }

    /** Closes a pool's parked resources (on its worker's loop) and its spilled ones; completes when they are closed. */
    private Mono<Void> closeParked(SubPool<T> pool) {
        Mono<Void> spilled = Flux.fromIterable(pool.unspillIf(slot -> true))
                .flatMap(ref -> invalidate(ref, CloseReason.POOL_CLOSED))
                .then();
        if (pool == overflowPool) {
            return spilled;
        }
        // Through runOnWorker, not the loop's scheduler: a scheduler refuses tasks as soon as its loop starts shutting
        // down, which would fail the whole close and leave every pool's resources open.
        Mono<Void> parked = Mono.create(sink -> runOnWorker(pool.index, () ->
                Flux.fromIterable(pool.unparkIf(slot -> true))
                        .flatMap(ref -> invalidate(ref, CloseReason.POOL_CLOSED))
                        .subscribe(null, sink::error, sink::success)));
        return parked.then(spilled);
    }

    /**
     * The {@link Mono} returned by {@link #acquire()}: each subscription is one borrower, on the subscribing thread's
     * worker.
     */
    private final class AcquireMono extends Mono<Lease<T>> {

        /** Where {@link #acquire()} was called, when leak detection is on; else {@code null}. */
        private final LeakDetector.AcquiredAt acquiredAt;

        AcquireMono(LeakDetector.AcquiredAt acquiredAt) {
            this.acquiredAt = acquiredAt;
        }

        @Override
        public void subscribe(CoreSubscriber<? super Lease<T>> actual) {
            int worker = loops.currentWorker();
            SubPool<T> home = worker < 0 ? overflowPool : workerPools.get(worker);
            int stealStart = worker < 0 ? ThreadLocalRandom.current().nextInt(workerPools.size()) : worker;
            // Only a listener wants the acquire time: spare the common case two clock reads.
            long startNanos = listener == AffinityPoolListener.NONE ? 0 : System.nanoTime();
            Borrower<T> borrower = new Borrower<>(AffinityPool.this, actual, worker, home, stealStart, startNanos);
            borrower.acquiredAt = acquiredAt;
            actual.onSubscribe(borrower);
        }
    }

    /** One try of the acquire chain: the fast acquire of one pool, reporting back to the chain. */
    private final class Attempt implements CoreSubscriber<PooledRef<Slot<T>>> {

        private final Borrower<T> borrower;
        private final SubPool<T> candidate;
        /** Whether the acquire has answered; the borrower then waits for nothing else. */
        private volatile boolean answered;
        /** Whether the attempt was put in {@link #openingWaiters}, where its answer must take it out. */
        private volatile boolean queued;
        /** Whether the timer that offers the resources idle elsewhere, should the opening be slow, is scheduled. */
        private final AtomicBoolean fallbackScheduled = new AtomicBoolean();
        /** Set once the borrower has waited half its acquire timeout: then a resource of any worker will do. */
        private volatile boolean slow;

        Attempt(Borrower<T> borrower, SubPool<T> candidate) {
            this.borrower = borrower;
            this.candidate = candidate;
        }

        @Override
        public void onSubscribe(Subscription subscription) {
            subscription.request(1);
        }

        @Override
        public void onNext(PooledRef<Slot<T>> ref) {
            answer();
            obtained(borrower, candidate, ref);
        }

        @Override
        public void onError(Throwable error) {
            answer();
            attemptFailed(borrower, error);
        }

        /**
         * @return whether a resource of that worker may serve the borrower: its own worker's, or any once the borrower
         *         is off-loop or its opening slow
         */
        boolean mayTake(int resourceWorker) {
            return borrower.worker == resourceWorker || borrower.worker < 0 || slow;
        }

        private void answer() {
            answered = true;
            if (queued) {
                openingWaiters.remove(this);
            }
        }

        @Override
        public void onComplete() {
            // the outcome came with onNext or onError
        }
    }
}
