package io.github.affinitypool.autoconfigure;

import java.util.function.Supplier;

import reactor.core.publisher.Mono;

import org.springframework.context.SmartLifecycle;

/**
 * Closes the pools at the right moment of a context shutdown: after the web server has stopped taking requests
 * and drained them (graceful shutdown runs at {@code DEFAULT_PHASE - 1024}, the server stops at
 * {@code DEFAULT_PHASE - 2048}), and before {@code ReactorResourceFactory} (phase 0) disposes the event loops the
 * pools' connections live on. Closing later would close connections on dead loops; closing earlier would fail
 * requests still in flight.
 */
public final class AffinityPoolLifecycle extends ClosingLifecycle {

    /** Between the web server's stop phase and the Reactor Netty resources' phase 0. */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    /**
     * @param poolNames the pools' names, for the log
     * @param closer closes the pools asynchronously, letting leases in flight finish
     */
    public AffinityPoolLifecycle(String poolNames, Supplier<Mono<Void>> closer) {
        super(poolNames, "closing", closer);
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
