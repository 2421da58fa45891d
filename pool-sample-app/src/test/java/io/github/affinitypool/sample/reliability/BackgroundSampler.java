package io.github.affinitypool.sample.reliability;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs a sample every few milliseconds on a daemon thread of its own until closed. The period is a sampling cadence,
 * not synchronisation: it only leaves this small machine to the load under test.
 */
final class BackgroundSampler implements AutoCloseable {

    private final Thread thread;

    private volatile boolean running = true;

    /**
     * @param name the thread's name
     * @param periodMillis pause between two samples
     * @param sample what to sample; an exception ends only that sample
     */
    BackgroundSampler(String name, long periodMillis, Runnable sample) {
        thread = new Thread(() -> {
            while (running) {
                try {
                    sample.run();
                }
                catch (RuntimeException unavailable) {
                    // e.g. Redis killed or restarting: nothing to sample this time.
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(periodMillis));
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(10_000);
    }
}
