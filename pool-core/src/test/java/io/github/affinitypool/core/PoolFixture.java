package io.github.affinitypool.core;

import java.time.Duration;
import java.util.function.UnaryOperator;

import reactor.core.publisher.Mono;

/**
 * Standalone worker loops, a {@link StubFactory}, a {@link MutableClock} and a recording listener around one pool under
 * test. Borrowers run on a chosen worker's loop by subscribing there, exactly as a request handler on that loop would.
 */
final class PoolFixture implements AutoCloseable {

    static final Duration WAIT = Duration.ofSeconds(5);

    final WorkerLoops loops;
    final StubFactory factory = new StubFactory();
    final MutableClock clock = new MutableClock();
    final RecordingListener listener = new RecordingListener();
    AffinityPool<StubResource> pool;

    PoolFixture(int workers) {
        this.loops = WorkerLoops.standalone("pool-test", workers);
    }

    /**
     * Creates the pool with the test clock, a generous acquire timeout and a short close timeout (tests that end with
     * leases out need not wait for them), customised by {@code config}.
     */
    AffinityPool<StubResource> start(UnaryOperator<AffinityPoolConfig.Builder> config) {
        return start(config, listener);
    }

    AffinityPool<StubResource> start(UnaryOperator<AffinityPoolConfig.Builder> config, AffinityPoolListener listener) {
        AffinityPoolConfig.Builder builder = AffinityPoolConfig.builder()
                .clock(clock)
                .acquireTimeout(WAIT)
                .closeTimeout(Duration.ofMillis(100));
        pool = AffinityPool.create("default", loops, factory, config.apply(builder).build(), listener);
        return pool;
    }

    /** @return an acquire subscribed on {@code worker}'s loop ({@code -1}: on the subscribing thread) */
    Mono<Lease<StubResource>> acquireOn(int worker) {
        return worker < 0 ? pool.acquire() : pool.acquire().subscribeOn(loops.scheduler(worker));
    }

    /** @return a lease borrowed on {@code worker}'s loop, with the thread it was delivered on */
    Borrowed borrow(int worker) {
        return acquireOn(worker)
                .map(lease -> new Borrowed(lease, Thread.currentThread()))
                .block(WAIT);
    }

    void release(Borrowed borrowed) {
        borrowed.lease().release().block(WAIT);
    }

    /**
     * Releases on the resource's own loop, as a request handler on that loop would: the resource stays parked there.
     */
    void releaseOnLoop(Borrowed borrowed) {
        borrowed.lease().release().subscribeOn(loops.scheduler(borrowed.lease().worker())).block(WAIT);
    }

    /** Acquires and releases on {@code worker}'s loop, leaving one resource parked there; returns it. */
    StubResource warmOnLoop(int worker) {
        Borrowed borrowed = borrow(worker);
        releaseOnLoop(borrowed);
        return borrowed.resource();
    }

    /** Acquires and releases on {@code worker}, leaving one idle resource there; returns it. */
    StubResource warm(int worker) {
        Borrowed borrowed = borrow(worker);
        release(borrowed);
        return borrowed.resource();
    }

    Thread loopThread(int worker) {
        return Mono.fromCallable(Thread::currentThread).subscribeOn(loops.scheduler(worker)).block(WAIT);
    }

    PoolStats total() {
        return pool.stats().total();
    }

    @Override
    public void close() {
        try {
            if (pool != null) {
                pool.closeAsync().block(WAIT.multipliedBy(3));
            }
        }
        finally {
            loops.close();
        }
    }

    record Borrowed(Lease<StubResource> lease, Thread deliveredOn) {

        StubResource resource() {
            return lease.resource();
        }
    }
}
