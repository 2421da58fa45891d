package io.github.affinitypool.core;

/** Where a leased resource came from, relative to the worker that acquired it. */
public enum Locality {

    /** From the borrower's own worker pool: the resource's I/O runs on the borrower's loop. */
    LOCAL,

    /** An idle resource taken from another worker's pool, because the borrower's own pool had none and was full. */
    STOLEN,

    /** From the shared overflow pool, used by an on-loop borrower when its own pool had nothing free. */
    OVERFLOW,

    /** Acquired by a caller that is not on any worker loop (main thread, {@code boundedElastic}, timers). */
    OFF_LOOP
}
