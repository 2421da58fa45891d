package io.github.affinitypool.autoconfigure;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Mono;

import org.springframework.context.SmartLifecycle;

/**
 * Closes the pools at the right moment of a context shutdown: after the web server has stopped taking requests
 * and drained them (graceful shutdown runs at {@code DEFAULT_PHASE - 1024}, the server stops at
 * {@code DEFAULT_PHASE - 2048}), and before {@code ReactorResourceFactory} (phase 0) disposes the event loops the
 * pools' connections live on. Closing later would close connections on dead loops; closing earlier would fail
 * requests still in flight.
 */
public final class AffinityPoolLifecycle implements SmartLifecycle {

    /** Between the web server's stop phase and the Reactor Netty resources' phase 0. */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    private static final Log logger = LogFactory.getLog(AffinityPoolLifecycle.class);

    private final String poolNames;

    private final Supplier<Mono<Void>> closer;

    private final AtomicBoolean running = new AtomicBoolean();

    /** Whether a stop closed the pools, which cannot be opened again. */
    private volatile boolean closed;

    /**
     * @param poolNames the pools' names, for the log
     * @param closer closes the pools asynchronously, letting leases in flight finish
     */
    public AffinityPoolLifecycle(String poolNames, Supplier<Mono<Void>> closer) {
        this.poolNames = poolNames;
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
            logger.warn("Redis affinity pool '" + poolNames + "' did not close cleanly: " + error);
            callback.run();
        }, () -> {
            logger.debug("Redis affinity pool '" + poolNames + "' closed");
            callback.run();
        });
    }

    @Override
    public boolean isRunning() {
        return running.get();
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
