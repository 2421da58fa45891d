package io.github.affinitypool.core;

import reactor.core.publisher.Mono;

/**
 * One exclusive borrow of a pooled resource. Exactly one of {@link #release()} and {@link #invalidate()} takes effect;
 * later calls do nothing. Like every {@link Mono}, neither does anything until subscribed.
 *
 * @param <T> the pooled resource type
 */
public interface Lease<T> {

    /** @return the borrowed resource, for the exclusive use of the holder until released */
    T resource();

    /** @return the index of the worker whose event loop the resource lives on */
    int worker();

    /** @return how the resource was obtained, relative to the borrower's worker */
    Locality locality();

    /**
     * Runs {@link PooledResourceFactory#reset(Object)}, then hands the resource to a waiting borrower or returns it to
     * its pool; when that pool keeps {@code maxIdlePerWorker} idle resources already, it goes to the shared overflow
     * instead. A resource whose reset fails, or that is past its lifetime, is closed. Idempotent.
     *
     * @return completion of the release
     */
    Mono<Void> release();

    /**
     * Closes the resource instead of returning it, for example after an I/O error left it in an unknown state.
     * Idempotent, and a no-op after {@link #release()}.
     *
     * @return completion of the invalidation
     */
    Mono<Void> invalidate();
}
