package io.github.affinitypool.core;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/** A clock that only moves when a test advances it, and can run a test's action at a chosen read. */
final class MutableClock extends Clock {

    private final AtomicLong millis = new AtomicLong(1_000_000);

    private volatile Thread hookThread;

    private final AtomicReference<Runnable> hook = new AtomicReference<>();

    void advance(Duration duration) {
        millis.addAndGet(duration.toMillis());
    }

    /**
     * Runs {@code action} once, inline, at the next read of this clock on {@code thread}: a way to make another
     * thread's work happen at a chosen point of the pool's code, for races that timing alone hits once in a thousand
     * runs.
     */
    void onNextReadOn(Thread thread, Runnable action) {
        hookThread = thread;
        hook.set(action);
    }

    @Override
    public long millis() {
        if (Thread.currentThread() == hookThread) {
            Runnable action = hook.getAndSet(null);
            if (action != null) {
                action.run();
            }
        }
        return millis.get();
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis());
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException();
    }
}
