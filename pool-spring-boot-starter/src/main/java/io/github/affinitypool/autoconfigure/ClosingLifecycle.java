package io.github.affinitypool.autoconfigure;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Mono;

import org.springframework.context.SmartLifecycle;

/**
 * A {@link SmartLifecycle} that does one asynchronous closing step of the pools when the context stops, in its phase,
 * and refuses to start again afterwards.
 */
abstract class ClosingLifecycle implements SmartLifecycle {

    private static final Log logger = LogFactory.getLog(ClosingLifecycle.class);

    private final String poolNames;

    private final String step;

    private final Supplier<Mono<Void>> closer;

    private final AtomicBoolean running = new AtomicBoolean();

    /** Whether a stop ran the step, which cannot be undone. */
    private volatile boolean closed;

    /**
     * @param poolNames the pools' names, for messages
     * @param step what {@code closer} does, for the log, for example "closing"
     * @param closer does the step asynchronously
     */
    ClosingLifecycle(String poolNames, String step, Supplier<Mono<Void>> closer) {
        this.poolNames = poolNames;
        this.step = step;
        this.closer = closer;
    }

    /**
     * @throws IllegalStateException when the context is started again after a stop (a CRaC restore, or
     *         {@code stop()} then {@code start()}): the pools closed at the stop, and their connections belonged to
     *         event loops disposed then; failing loudly beats handing out a pool that refuses every call
     */
    @Override
    public void start() {
        if (closed) {
            throw new IllegalStateException("Redis affinity pool '" + poolNames + "' was closed when the application "
                    + "context stopped and cannot start again (its connections were pinned to event loops disposed at "
                    + "the stop); restart the application instead of stopping and starting its context");
        }
        running.set(true);
    }

    @Override
    public void stop() {
        if (running.compareAndSet(true, false)) {
            closed = true;
            closer.get().block();
        }
    }

    @Override
    public void stop(Runnable callback) {
        if (!running.compareAndSet(true, false)) {
            callback.run();
            return;
        }
        closed = true;
        // Non-blocking: the context waits for the callback, so no thread (least of all an event loop) is parked.
        closer.get().subscribe(null, error -> {
            logger.warn("Redis affinity pool '" + poolNames + "': " + step + " failed: " + error);
            callback.run();
        }, () -> {
            logger.debug("Redis affinity pool '" + poolNames + "': " + step + " done");
            callback.run();
        });
    }

    @Override
    public boolean isRunning() {
        return running.get();
    }
}
