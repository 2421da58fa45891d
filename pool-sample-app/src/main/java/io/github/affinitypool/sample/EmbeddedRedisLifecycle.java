package io.github.affinitypool.sample;

import io.github.affinitypool.autoconfigure.AffinityPoolLifecycle;
import io.github.affinitypool.testing.RedisServer;

import org.springframework.context.SmartLifecycle;

/**
 * Stops the embedded redis-server once the pool has closed (a lower phase stops later).
 */
final class EmbeddedRedisLifecycle implements SmartLifecycle {

    private final RedisServer server;

    private volatile boolean running = true;

    EmbeddedRedisLifecycle(RedisServer server) {
        this.server = server;
    }

    /** @return the embedded server */
    RedisServer server() {
        return server;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        server.close();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return AffinityPoolLifecycle.PHASE - 1;
    }
}
