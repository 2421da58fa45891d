package io.github.affinitypool.core;

/**
 * The pool is closed, or was closed while the borrower waited. Every path of a pool refuses with it once closed, so
 * that a retry keyed on connection errors does not keep retrying against a pool that will never serve again.
 */
public final class PoolClosedException extends AffinityPoolException {

    private static final long serialVersionUID = 1L;

    PoolClosedException(AffinityPoolConfig config, String poolName, int worker) {
        this(config.poolLabel() + " '" + poolName + "' is closed", poolName, worker);
    }

    /**
     * For the paths of a pool built around an {@link AffinityPool} that refuse on their own, such as a Redis pool's
     * shared commands and subscriptions.
     *
     * @param message what was refused, naming the pool
     * @param poolName the pool's name
     * @param worker the caller's worker, or {@code -1} off the worker loops
     */
    public PoolClosedException(String message, String poolName, int worker) {
        super(message, poolName, worker, true);
    }
}
