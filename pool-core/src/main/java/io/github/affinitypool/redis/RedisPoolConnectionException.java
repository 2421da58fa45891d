package io.github.affinitypool.redis;

import io.lettuce.core.RedisConnectionException;

/**
 * A connection of a {@link RedisAffinityPool} could not be opened, or a shared connection is unavailable while the pool
 * reconnects it. The message names the pool, the worker, the Redis URI (never its password) and the cause reported
 * by Redis or the network, for example
 * {@code Redis pool 'default' (worker 1): cannot connect to redis://localhost:6400: WRONGPASS invalid username-password
 * pair or user is disabled.}
 */
public class RedisPoolConnectionException extends RedisConnectionException {

    private static final long serialVersionUID = 1L;

    private final String poolName;

    private final int worker;

    /**
     * @param poolName the pool's name
     * @param worker the worker the connection belongs to
     * @param message the complete message, without credentials
     * @param cause the underlying failure
     */
    public RedisPoolConnectionException(String poolName, int worker, String message, Throwable cause) {
        super(message, cause);
        this.poolName = poolName;
        this.worker = worker;
    }

    /** @return the pool's name */
    public String poolName() {
        return poolName;
    }

    /** @return the worker the connection belongs to */
    public int worker() {
        return worker;
    }
}
