package io.github.affinitypool.sample.reliability;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import io.github.affinitypool.core.WorkerLoops;

/**
 * Checks that no worker event loop is blocked: every 20 ms it hands each loop a task that records how long it waited
 * to run, and keeps the worst wait. A loop blocked on Redis (a synchronous call, a lock) would show it as a wait as
 * long as the block.
 */
final class LoopProbe implements AutoCloseable {

    private final AtomicLong worstWaitNanos = new AtomicLong();

    private final AtomicInteger probes = new AtomicInteger();

    private final Thread thread;

    private volatile boolean running = true;

    LoopProbe(WorkerLoops loops) {
        thread = new Thread(() -> {
            while (running) {
                for (int worker = 0; worker < loops.size(); worker++) {
                    long sent = System.nanoTime();
                    loops.loop(worker).execute(() -> {
                        worstWaitNanos.accumulateAndGet(System.nanoTime() - sent, Math::max);
                        probes.incrementAndGet();
                    });
                }
                // Probe cadence, not synchronisation.
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
        }, "loop-probe");
        thread.setDaemon(true);
        thread.start();
    }

    /** @return the longest any probe task waited for its loop, in ms */
    long worstWaitMillis() {
        return TimeUnit.NANOSECONDS.toMillis(worstWaitNanos.get());
    }

    /** @return probe tasks that ran */
    int probes() {
        return probes.get();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
    }
}
