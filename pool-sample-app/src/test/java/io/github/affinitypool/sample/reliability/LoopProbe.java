package io.github.affinitypool.sample.reliability;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.github.affinitypool.core.WorkerLoops;

/**
 * Checks that no worker event loop is blocked: every 20 ms it hands each loop a task that records how long it waited
 * to run, and keeps the worst wait. A loop blocked on Redis (a synchronous call, a lock) would show it as a wait as
 * long as the block.
 */
final class LoopProbe implements AutoCloseable {

    private final AtomicLong worstWaitNanos = new AtomicLong();

    private final BackgroundSampler sampler;

    LoopProbe(WorkerLoops loops) {
        sampler = new BackgroundSampler("loop-probe", 20, () -> {
            for (int worker = 0; worker < loops.size(); worker++) {
                long sent = System.nanoTime();
                loops.loop(worker).execute(() -> worstWaitNanos.accumulateAndGet(System.nanoTime() - sent, Math::max));
            }
        });
    }

    /** @return the longest any probe task waited for its loop, in ms */
    long worstWaitMillis() {
        return TimeUnit.NANOSECONDS.toMillis(worstWaitNanos.get());
    }

    @Override
    public void close() throws InterruptedException {
        sampler.close();
    }
}
