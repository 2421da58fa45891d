package io.github.affinitypool.core;

/** Why an acquire failed, as reported to {@link AffinityPoolListener#acquireFailed(int, AcquireOutcome, long)}. */
public enum AcquireOutcome {

    /** Nothing became free within the acquire timeout ({@link AcquireTimeoutException}). */
    TIMEOUT,

    /** Nothing was free and the waiter queue was full ({@link PendingAcquireLimitException}). */
    PENDING_LIMIT,

    /** The pool was closed, or closed while the acquire waited ({@link PoolClosedException}). */
    CLOSED,

    /** Opening a resource for the borrower failed; the borrower receives the factory's error. */
    ERROR
}
