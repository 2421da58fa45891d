package io.github.affinitypool.core;

/** The pool is closed, or was closed while the borrower waited. */
public final class PoolClosedException extends AffinityPoolException {

    private static final long serialVersionUID = 1L;

    PoolClosedException(AffinityPoolConfig config, String poolName, int worker) {
        super(config.poolLabel() + " '" + poolName + "' is closed", poolName, worker, true);
    }
}
