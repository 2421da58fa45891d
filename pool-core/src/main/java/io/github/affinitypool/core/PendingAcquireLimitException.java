package io.github.affinitypool.core;

/**
 * Nothing was free and {@link AffinityPoolConfig#maxPendingAcquires()} borrowers were already waiting (with a limit of
 * 0: nothing was free and waiting is disabled), so the acquire failed at once instead of queueing.
 */
public final class PendingAcquireLimitException extends PoolExhaustedException {

    private static final long serialVersionUID = 1L;

    private final int maxPendingAcquires;

    PendingAcquireLimitException(AffinityPoolConfig config, String poolName, int worker, PoolState state) {
        super(where(config, poolName, worker) + ": no " + config.resourceNoun() + " free and "
                + (config.maxPendingAcquires() == 0 ? "waiting is disabled" : "the wait queue is full")
                + " (" + state.describe() + ", max-pending-acquires " + config.maxPendingAcquires() + "); raise "
                + config.propertyPrefix() + ".max-pending-acquires or max-open", poolName, worker, state);
        this.maxPendingAcquires = config.maxPendingAcquires();
    }

    /** @return the configured limit of waiting borrowers that was reached */
    public int maxPendingAcquires() {
        return maxPendingAcquires;
    }
}
