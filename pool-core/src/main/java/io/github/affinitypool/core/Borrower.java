package io.github.affinitypool.core;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.function.Supplier;

import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;

/**
 * The subscription of one {@link AffinityPool#acquire()}: its place in the acquire chain, its timeout, and the state
 * machine that makes delivery, cancellation, timeout and failure mutually exclusive.
 * <pre>
 * PENDING ──assign──▶ (ASSIGNING ──▶) ASSIGNED ──(on the borrower's loop)──▶ DELIVERED
 *    │                     │                └──cancel──▶ CANCELLED (the canceller returns the lease)
 *    │                     └──cancel──▶ CANCELLED (the assigner, finding it, keeps its lease)
 *    ├──cancel──▶ CANCELLED
 *    └──timeout / fail──▶ FAILED
 * </pre>
 * Whoever moves the state out of PENDING, ASSIGNING or ASSIGNED owns the outcome; a lease that arrives for a borrower
 * that is no longer PENDING goes back to the pool, so nothing leaks whichever side wins a race. Two leases may arrive
 * for one borrower (a borrower waiting for its own opening may be handed a resource released meanwhile): only the
 * assigner that moved the state out of PENDING binds its lease.
 *
 * @param <T> the resource type
 */
final class Borrower<T> implements Subscription {

    private static final int PENDING = 0;
    /** Won by an assigner off the borrower's loop, which binds its lease and then sets ASSIGNED unless cancelled. */
    private static final int ASSIGNING = 5;
    private static final int ASSIGNED = 1;
    private static final int DELIVERED = 2;
    private static final int CANCELLED = 3;
    private static final int FAILED = 4;

    private static final Disposable TIMER_STOPPED = Disposables.disposed();

    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<Borrower> STATE =
            AtomicIntegerFieldUpdater.newUpdater(Borrower.class, "state");
    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<Borrower> QUEUED =
            AtomicIntegerFieldUpdater.newUpdater(Borrower.class, "queued");
    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<Borrower> REQUESTED =
            AtomicIntegerFieldUpdater.newUpdater(Borrower.class, "requested");
    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<Borrower, Disposable> TIMER =
            AtomicReferenceFieldUpdater.newUpdater(Borrower.class, Disposable.class, "timer");

    private final AffinityPool<T> pool;
    private final CoreSubscriber<? super Lease<T>> actual;
    /** The borrower's worker, or -1 off-loop. */
    final int worker;
    /** The counters this borrower is accounted to: its worker pool, or the overflow pool when off-loop. */
    final SubPool<T> home;
    /** The worker pool the chain tries to steal from first, so that off-loop borrowers do not all start at worker 0. */
    final int stealStart;
    /** {@link System#nanoTime()} at subscription, or 0 when nobody measures acquire times. */
    private final long startNanos;
    /**
     * Position in the acquire chain. Only the borrower's current attempt touches it, and attempts run one after the
     * other, each started from the callback of the previous one, so it needs no synchronisation.
     */
    int step;
    /** Whether the borrower has been in the waiter queue; if so it goes back to the head when a retry finds nothing. */
    boolean waited;
    /**
     * {@link System#nanoTime()} at which the acquire times out, set when its timer starts (never for an acquire served
     * at once); 0 before.
     */
    volatile long deadlineNanos;
    private PooledLease<T> lease;
    /** The stack of the code that called {@code acquire()}, when leak detection is on; else {@code null}. */
    LeakDetector.AcquiredAt acquiredAt;

    private volatile int state;
    private volatile int queued;
    private volatile int requested;
    private volatile Disposable timer;

    Borrower(AffinityPool<T> pool, CoreSubscriber<? super Lease<T>> actual, int worker, SubPool<T> home, int stealStart,
            long startNanos) {
        this.pool = pool;
        this.actual = actual;
        this.worker = worker;
        this.home = home;
        this.stealStart = stealStart;
        this.startNanos = startNanos;
    }

    long elapsedNanos() {
        return startNanos == 0 ? 0 : System.nanoTime() - startNanos;
    }

    @Override
    public void request(long n) {
        if (Operators.validate(n) && REQUESTED.compareAndSet(this, 0, 1)) {
            pool.start(this);
        }
    }

    @Override
    public void cancel() {
        for (;;) {
            int current = state;
            if (current == PENDING && STATE.compareAndSet(this, PENDING, CANCELLED)) {
                stopTimer();
                pool.abandoned(this);
                return;
            }
            if (current == ASSIGNED && STATE.compareAndSet(this, ASSIGNED, CANCELLED)) {
                // A hand-off may have served a borrower its chain had queued meanwhile.
                pool.abandoned(this);
                pool.giveBack(lease);
                return;
            }
            if (current == ASSIGNING && STATE.compareAndSet(this, ASSIGNING, CANCELLED)) {
                // The assigner, which has not bound its lease yet, finds the state changed and keeps the lease.
                stopTimer();
                pool.abandoned(this);
                return;
            }
            if (current != PENDING && current != ASSIGNED && current != ASSIGNING) {
                return;
            }
        }
    }

    boolean isPending() {
        return state == PENDING;
    }

    /**
     * Binds a lease to this borrower and delivers it on the borrower's loop.
     *
     * @return false when the borrower is no longer pending; the caller keeps the lease
     */
    boolean assign(PooledLease<T> assigned) {
        if (pool.isOnWorker(worker)) {
            // Already on the borrower's loop, as on every fast acquire: delivered at once, one state change for two.
            if (!STATE.compareAndSet(this, PENDING, DELIVERED)) {
                return false;
            }
            lease = assigned; // read by this thread only: nobody else acts on a DELIVERED borrower
            stopTimer();
            handOver();
            return true;
        }
        if (!STATE.compareAndSet(this, PENDING, ASSIGNING)) {
            return false;
        }
        lease = assigned;
        // Publishes the lease to the delivering and the cancelling thread; fails when a cancel came in between.
        if (!STATE.compareAndSet(this, ASSIGNING, ASSIGNED)) {
            return false;
        }
        stopTimer();
        pool.runOnWorker(worker, this::deliver);
        return true;
    }

    private void deliver() {
        if (STATE.compareAndSet(this, ASSIGNED, DELIVERED)) {
            handOver();
        }
    }

    private void handOver() {
        pool.delivered(this, lease);
        actual.onNext(lease);
        actual.onComplete();
    }

    /** Fails the borrower, if still pending, with the error built by {@code error} at that moment. */
    void fail(AcquireOutcome outcome, Supplier<? extends Throwable> error) {
        if (STATE.compareAndSet(this, PENDING, FAILED)) {
            stopTimer();
            Throwable failure = error.get();
            pool.failed(this, outcome);
            pool.runOnWorker(worker, () -> actual.onError(failure));
        }
    }

    /**
     * Starts the acquire timeout, unless the borrower was served in the meantime.
     * <p>
     * The timer is published before the state is read again, and {@link #stopTimer()} reads the timer after the state
     * change: whichever of the two runs second sees the other's write, so a timer is never left running for a borrower
     * that was served, while the common acquire served at once pays for no atomic read-modify-write here.
     */
    void startTimer(Scheduler scheduler, Duration timeout, Runnable onTimeout) {
        timer = scheduler.schedule(onTimeout, timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (!isPending()) {
            stopTimer();
        }
    }

    /** Called after the state left PENDING. */
    private void stopTimer() {
        if (timer != null) {
            Disposable task = TIMER.getAndSet(this, TIMER_STOPPED);
            task.dispose();
        }
    }

    /** @return whether the borrower is in the waiter queue */
    boolean isQueued() {
        return queued == 1;
    }

    void enterQueue() {
        queued = 1;
        home.pending.incrementAndGet();
    }

    /**
     * @return whether this call took the borrower out of the queue (exactly one call does, per {@link #enterQueue()})
     */
    boolean leaveQueue() {
        if (QUEUED.compareAndSet(this, 1, 0)) {
            home.pending.decrementAndGet();
            return true;
        }
        return false;
    }

    @Override
    public String toString() {
        return "Borrower{worker=" + worker + ", state=" + state + ", step=" + step + "}";
    }
}
