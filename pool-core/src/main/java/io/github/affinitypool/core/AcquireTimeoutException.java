package io.github.affinitypool.core;

import java.time.Duration;

/**
 * Nothing became free within {@link AffinityPoolConfig#acquireTimeout()}. The message names the pool, the borrower's
 * worker, the state and the settings to raise, for example:
 * {@code Redis pool 'default' (worker 1): no connection within 2000 ms (open 16/16, idle 0, pending 37); raise
 * affinity-pool.redis.pool.max-open or acquire-timeout}.
 */
public final class AcquireTimeoutException extends PoolExhaustedException {

    private static final long serialVersionUID = 1L;

    private final Duration timeout;

    AcquireTimeoutException(AffinityPoolConfig config, String poolName, int worker, PoolState state) {
        super(where(config, poolName, worker) + ": no " + config.resourceNoun() + " within "
                + config.acquireTimeout().toMillis() + " ms (" + state.describe() + "); raise "
                + config.propertyPrefix() + ".max-open or acquire-timeout", poolName, worker, state);
        this.timeout = config.acquireTimeout();
    }

    /** @return the acquire timeout that elapsed */
    public Duration timeout() {
        return timeout;
    }
}
