package io.github.affinitypool.core;

import io.netty.channel.EventLoop;
import reactor.core.publisher.Mono;

/**
 * Opens, checks and closes the resources of an {@link AffinityPool}.
 * <p>
 * Every method may be called concurrently, from any thread. The pool subscribes to the returned {@link Mono}s on the
 * loop of the worker the resource lives on, so an implementation doing I/O on that loop never needs its own thread hop;
 * the {@link Mono}s should therefore be lazy (do the work on subscription, as {@code Mono.defer} or
 * {@code Mono.fromCallable} do). A constant answer such as {@code Mono.just(true)} is read at once, without a hop.
 *
 * @param <T> the pooled resource type
 */
public interface PooledResourceFactory<T> {

    /**
     * Opens a resource whose I/O lives on the given worker's loop; the returned {@link Mono} is subscribed on that
     * loop. It must not block: a blocking call on the loop the resource needs would deadlock until it times out.
     *
     * @param worker index of the worker the resource belongs to
     * @param loop that worker's event loop
     * @return the open resource
     */
    Mono<T> open(int worker, EventLoop loop);

    /**
     * Closes a resource. The pool counts the resource as closed once the returned {@link Mono} has been subscribed, so
     * the close should be initiated on subscription. Errors are logged and never reach a borrower.
     *
     * @param resource the resource to close
     * @return completion of the close
     */
    Mono<Void> close(T resource);

    /**
     * Cheap check without I/O (for example "is the channel still open"), run before a resource is handed out, on
     * release and in background eviction, on any thread. A resource for which this returns {@code false} is never
     * handed out and is closed.
     *
     * @param resource the resource to check
     * @return whether the resource can still be used; {@code true} by default
     */
    default boolean isUsable(T resource) {
        return true;
    }

    /**
     * I/O check (for example a PING) run on borrow when the resource has been idle longer than
     * {@link AffinityPoolConfig#validateAfterIdle()}. Emitting {@code false}, failing, or not answering within
     * {@link AffinityPoolConfig#acquireTimeout()} closes the resource, and the borrower gets another one.
     *
     * @param resource the resource to check
     * @return whether the resource is healthy; {@code true} by default
     */
    default Mono<Boolean> validate(T resource) {
        return Mono.just(true);
    }

    /**
     * Runs on release before the resource is reused (for example to discard a transaction the borrower left open).
     * Emitting {@code false}, failing, or not answering within {@link AffinityPoolConfig#acquireTimeout()} closes the
     * resource instead of returning it to the pool.
     *
     * @param resource the released resource
     * @return {@code true} to keep the resource; {@code true} by default
     */
    default Mono<Boolean> reset(T resource) {
        return Mono.just(true);
    }
}
