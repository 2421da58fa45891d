package io.github.affinitypool.core;

import java.util.List;

/**
 * Receives pool events as they happen, so that metrics (for example Micrometer meters) can be recorded without polling.
 * <p>
 * Methods are called synchronously on pool threads, often an event loop: they must be cheap and must not block.
 * An exception thrown by a listener is logged and otherwise ignored. All methods do nothing by default.
 */
public interface AffinityPoolListener {

    /** A listener that ignores every event. */
    AffinityPoolListener NONE = new AffinityPoolListener() {
    };

    /**
     * Guards a listener for the pool that calls it: events run on the pool's threads, often an event loop, where an
     * exception would break the operation that raised the event.
     *
     * @param listener the listener to call
     * @param poolName the pool's name, for the log
     * @return a listener that passes every event to {@code listener} and logs what it throws instead of throwing it;
     *         {@link #NONE} itself when {@code listener} is {@link #NONE}
     */
    static AffinityPoolListener guarded(AffinityPoolListener listener, String poolName) {
        return listener == NONE || listener instanceof GuardedListener || listener instanceof CompositeListener
                ? listener : new GuardedListener(listener, poolName);
    }

    /**
     * Guards several listeners for the pool that calls them, each on its own: one that throws does not keep the event
     * from the ones after it.
     *
     * @param listeners the listeners to call, in order
     * @param poolName the pool's name, for the log
     * @return {@link #NONE} for no listener (or only {@link #NONE}s), the one listener guarded, or a listener that
     *         passes every event to each guarded listener in order
     */
    static AffinityPoolListener guarded(List<? extends AffinityPoolListener> listeners, String poolName) {
        List<AffinityPoolListener> parts = listeners.stream()
                .filter(listener -> listener != NONE)
                .map(listener -> guarded(listener, poolName))
                .toList();
        return switch (parts.size()) {
            case 0 -> NONE;
            case 1 -> parts.get(0);
            default -> new CompositeListener(parts);
        };
    }

    /**
     * A borrower received a lease.
     *
     * @param worker the borrower's worker, or {@code -1} for an off-loop borrower
     * @param locality where the resource came from
     * @param nanos time from subscription to delivery
     */
    default void acquired(int worker, Locality locality, long nanos) {
    }

    /**
     * An acquire failed.
     *
     * @param worker the borrower's worker, or {@code -1} for an off-loop borrower
     * @param outcome why
     * @param nanos time from subscription to failure
     */
    default void acquireFailed(int worker, AcquireOutcome outcome, long nanos) {
    }

    /**
     * A resource was opened.
     *
     * @param poolIndex the worker pool ({@code 0..n-1}) or {@link AffinityPoolStats#OVERFLOW} it belongs to
     */
    default void opened(int poolIndex) {
    }

    /**
     * A resource was closed.
     *
     * @param poolIndex the worker pool ({@code 0..n-1}) or {@link AffinityPoolStats#OVERFLOW} it belonged to
     * @param reason why
     */
    default void closed(int poolIndex, CloseReason reason) {
    }

    /**
     * A lease has been held longer than {@link AffinityPoolConfig#leakDetectionThreshold()}.
     *
     * @param worker the worker whose loop the leased resource lives on
     */
    default void leakSuspected(int worker) {
    }
}
