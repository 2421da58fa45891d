package io.github.affinitypool.core;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.scheduler.Schedulers;

/**
 * Reports leases held longer than {@link AffinityPoolConfig#leakDetectionThreshold()}: one warning with the stack
 * of the code that acquired the lease when the threshold passes, and one line when the lease finally comes back.
 * <p>
 * The stack is captured when {@code acquire()} is called, because that is where the caller's code is on the stack: in
 * reactive code the acquire is usually subscribed later, by the framework (WebFlux subscribes to a handler's
 * {@code Mono} after the handler has returned), where the stack holds only Reactor's and the framework's frames; a
 * capture at delivery would only show the pool's own. (The reliability suite's end-to-end leak test found that a
 * capture at subscription never named the WebFlux handler that acquired the lease.) Capturing costs a stack walk per
 * acquire, which is why detection is off by default (as in HikariCP).
 */
final class LeakDetector {

    private static final Logger log = LoggerFactory.getLogger(LeakDetector.class);

    private final String poolName;
    private final String noun;
    private final long thresholdNanos;
    private final WorkerLoops loops;
    private final AffinityPoolListener listener;

    LeakDetector(String poolName, AffinityPoolConfig config, WorkerLoops loops, AffinityPoolListener listener) {
        this.poolName = poolName;
        this.noun = config.resourceNoun();
        this.thresholdNanos = config.leakDetectionThreshold().toNanos();
        this.loops = loops;
        this.listener = listener;
    }

    /** @return whether detection is on */
    boolean enabled() {
        return thresholdNanos > 0;
    }

    /** @return the stack of the acquiring code, or {@code null} when detection is off */
    AcquiredAt acquiredAt() {
        return enabled() ? new AcquiredAt() : null;
    }

    /**
     * Starts watching a delivered lease.
     *
     * @param worker the worker whose loop the resource lives on; the check runs on it
     * @param acquiredAt the stack captured where {@code acquire()} was called
     * @return the watch, to be told when the lease comes back
     */
    Watch watch(int worker, AcquiredAt acquiredAt) {
        Watch watch = new Watch(worker, acquiredAt, System.nanoTime());
        try {
            watch.timer = loops.scheduler(worker).schedule(watch::thresholdPassed, thresholdNanos,
                    TimeUnit.NANOSECONDS);
        }
        catch (RejectedExecutionException loopShuttingDown) {
            // Called as the lease is handed over: a rejection thrown from here would lose the lease and its borrower.
            watch.timer = Schedulers.parallel().schedule(watch::thresholdPassed, thresholdNanos, TimeUnit.NANOSECONDS);
        }
        return watch;
    }

    /** The stack trace of the code that acquired a lease. */
    static final class AcquiredAt extends Exception {

        AcquiredAt() {
            super("lease acquired here");
        }
    }

    /** The watch over one lease. */
    final class Watch {

        private static final int WATCHING = 0;
        private static final int REPORTED = 1;
        private static final int RETURNED = 2;

        private final int worker;
        private final AcquiredAt acquiredAt;
        private final long leasedAtNanos;
        private final AtomicInteger state = new AtomicInteger(WATCHING);
        private volatile Disposable timer;

        private Watch(int worker, AcquiredAt acquiredAt, long leasedAtNanos) {
            this.worker = worker;
            this.acquiredAt = acquiredAt;
            this.leasedAtNanos = leasedAtNanos;
        }

        private void thresholdPassed() {
            if (state.compareAndSet(WATCHING, REPORTED)) {
                log.warn("Pool '{}': a {} on worker {} has been leased for more than {} ms and not released; "
                        + "possible leak (release it, or use withConnection/withResource)", poolName, noun, worker,
                        Duration.ofNanos(thresholdNanos).toMillis(), acquiredAt);
                listener.leakSuspected(worker);
            }
        }

        /** The lease came back (released or invalidated). */
        void returned() {
            int previous = state.getAndSet(RETURNED);
            if (previous == WATCHING) {
                Disposable pending = timer;
                if (pending != null) {
                    pending.dispose();
                }
            }
            else if (previous == REPORTED) {
                log.info("Pool '{}': the {} on worker {} reported as a possible leak was returned after {} ms",
                        poolName, noun, worker, Duration.ofNanos(System.nanoTime() - leasedAtNanos).toMillis());
            }
        }
    }
}
