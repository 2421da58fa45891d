package io.github.affinitypool.core;

/**
 * An acquire failed because nothing was free: no idle resource anywhere, and no new one could be opened for it in time
 * ({@link AffinityPoolConfig#maxOpen()} reached, or openings too slow). Carries the pool state at the time of the
 * failure.
 * <p>
 * No stack trace is captured: these are expected under overload, where filling stack traces would add to the load, and
 * the trace would only show the timer or queue that noticed, not the caller.
 */
public abstract class PoolExhaustedException extends AffinityPoolException {

    private static final long serialVersionUID = 1L;

    private final int open;
    private final int maxOpen;
    private final int connecting;
    private final int idle;
    private final int pending;

    PoolExhaustedException(String message, String poolName, int worker, PoolState state) {
        super(message, poolName, worker, false);
        this.open = state.open();
        this.maxOpen = state.maxOpen();
        this.connecting = state.connecting();
        this.idle = state.idle();
        this.pending = state.pending();
    }

    /** @return resources open (or being opened) across all pools */
    public int open() {
        return open;
    }

    /** @return the configured {@link AffinityPoolConfig#maxOpen()} */
    public int maxOpen() {
        return maxOpen;
    }

    /**
     * @return resources being opened, or waiting for their turn behind
     *         {@link AffinityPoolConfig#maxConcurrentConnects()}, counted in {@link #open()}
     */
    public int connecting() {
        return connecting;
    }

    /** @return idle resources across all pools */
    public int idle() {
        return idle;
    }

    /** @return borrowers waiting in the queue */
    public int pending() {
        return pending;
    }

    /** The pool state an exhaustion message describes. */
    record PoolState(int open, int maxOpen, int connecting, int idle, int pending) {

        String describe() {
            return "open " + open + "/" + maxOpen + (connecting > 0 ? ", connecting " + connecting : "") + ", idle "
                    + idle + ", pending " + pending;
        }

        /**
         * @return whether the borrowers wait for openings rather than for the cap: openings run and there is room
         *         below the cap, or every resource counted against it is still being opened (a server that does not
         *         answer), where a higher cap would only add openings that hang as well
         */
        boolean waitingForOpenings() {
            return connecting > 0 && (open < maxOpen || connecting == open);
        }
    }

    static String where(AffinityPoolConfig config, String poolName, int worker) {
        return config.poolLabel() + " '" + poolName + "' (" + (worker < 0 ? "off-loop" : "worker " + worker) + ")";
    }
}
