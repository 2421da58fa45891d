package io.github.affinitypool.autoconfigure;

import java.util.function.Supplier;

import reactor.core.publisher.Mono;

import org.springframework.boot.web.server.context.WebServerApplicationContext;

/**
 * Ends the pools' Pub/Sub subscriptions when a context shutdown begins, just before the web server's graceful shutdown
 * ({@code DEFAULT_PHASE - 1024}) waits for the requests in flight. A response built on a subscription (server-sent
 * events, a WebSocket feed) never ends by itself, so graceful shutdown would otherwise wait its whole timeout
 * ({@code spring.lifecycle.timeout-per-shutdown-phase}, 30 s by default) and then cut it off; ended here, its
 * subscribers complete and the response finishes cleanly. Commands keep working until {@link AffinityPoolLifecycle}
 * closes the pools, after the web server has stopped.
 */
public final class AffinityPoolSubscriptionsLifecycle extends ClosingLifecycle {

    /**
     * Just above the web server's graceful shutdown phase, so that it stops first. A compile-time constant: an
     * application without a web server does not need the class it comes from.
     */
    public static final int PHASE = WebServerApplicationContext.GRACEFUL_SHUTDOWN_PHASE + 1;

    /**
     * @param poolNames the pools' names, for the log
     * @param closer ends the pools' subscriptions asynchronously ({@code RedisAffinityPool.closeSubscriptions()})
     */
    public AffinityPoolSubscriptionsLifecycle(String poolNames, Supplier<Mono<Void>> closer) {
        super(poolNames, "ending the Pub/Sub subscriptions", closer);
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
