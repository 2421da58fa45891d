package io.github.affinitypool.core;

import java.time.Duration;

/**
 * Nothing became free within {@link AffinityPoolConfig#acquireTimeout()}. The message names the pool, the borrower's
 * worker, the state and the settings to raise, for example:
 * {@code Redis pool 'default' (worker 1): no connection within 2000 ms (open 16/16, idle 0, pending 37); raise
 * affinity-pool.redis.pool.max-open or acquire-timeout}. When the borrowers wait for openings instead (running below
 * the cap, or all that the cap counts is still being opened), raising {@code max-open} would not help, so the message
 * says that opening is slow:
 * {@code … (open 3/16, connecting 3, idle 0, pending 5); opening a connection takes longer than the acquire timeout:
 * check the server, or raise affinity-pool.redis.pool.acquire-timeout or max-concurrent-connects}.
 */
public final class AcquireTimeoutException extends PoolExhaustedException {

    private static final long serialVersionUID = 1L;

    private final Duration timeout;

    AcquireTimeoutException(AffinityPoolConfig config, String poolName, int worker, PoolState state) {
        super(where(config, poolName, worker) + ": no " + config.resourceNoun() + " within "
                + config.acquireTimeout().toMillis() + " ms (" + state.describe() + "); " + advice(config, state),
                poolName, worker, state);
        this.timeout = config.acquireTimeout();
    }

    private static String advice(AffinityPoolConfig config, PoolState state) {
        if (state.waitingForOpenings()) {
            return "opening a " + config.resourceNoun() + " takes longer than the acquire timeout: check the server, "
                    + "or raise " + config.propertyPrefix() + ".acquire-timeout or max-concurrent-connects";
        }
        return "raise " + config.propertyPrefix() + ".max-open or acquire-timeout";
    }

    /** @return the acquire timeout that elapsed */
    public Duration timeout() {
        return timeout;
    }
}
