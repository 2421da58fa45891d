package io.github.affinitypool.redis;

import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.Lease;
import io.github.affinitypool.core.Locality;

/**
 * An exclusive Redis connection borrowed from a {@link RedisAffinityPool}: for transactions (MULTI/EXEC, WATCH),
 * blocking commands, explicit pipelining ({@code setAutoFlushCommands(false)} ... {@code flushCommands()}), anything
 * that needs one connection to itself.
 * <p>
 * The connection lives on the event loop of {@link #worker()}; for a {@link Locality#LOCAL} lease that is the
 * borrower's own loop, so replies are decoded and emitted there. Release it exactly once with {@link #release()}
 * (idempotent); afterwards its commands are refused, unsent. Whatever state it was left in (open MULTI, WATCH,
 * SELECT, auto-flush off, a timeout set with {@code setTimeout}, a command still in flight) is reset or the connection
 * closed before anyone else gets it. A timeout set with {@code setTimeout} applies to the lease's commands issued
 * after it, in place of the pool's command timeout.
 *
 * @param <K> key type
 * @param <V> value type
 */
public final class RedisLease<K, V> {

    private final Lease<StatefulRedisConnection<K, V>> lease;

    private final PooledRedisConnection<K, V> connection;

    /**
     * What the lease hands out: its commands end with the release. A command issued later is refused, and one being
     * dispatched when the release starts (a cancel from another thread can arrive while the connection's loop
     * dispatches the lease's next command) is done before the release looks at the connection's state.
     */
    private final ScopedConnection<K, V> scoped;

    RedisLease(Lease<StatefulRedisConnection<K, V>> lease) {
        this.lease = lease;
        this.connection = (PooledRedisConnection<K, V>) lease.resource();
        this.scoped = new ScopedConnection<>(connection, ScopedConnection.Kind.LEASE);
    }

    /**
     * @return reactive commands on the leased connection; replies are emitted on its event loop; after the release
     *         every command fails with an {@link IllegalStateException}, unsent
     */
    public RedisReactiveCommands<K, V> reactive() {
        return scoped.reactive();
    }

    /** @return asynchronous commands on the leased connection; refused after the release, as {@link #reactive()} */
    public RedisAsyncCommands<K, V> async() {
        return scoped.async();
    }

    /**
     * @return the leased connection, a view of it that refuses commands after the release (its blocking
     *         {@code sync()} API is not available: a blocking call on an event loop deadlocks)
     */
    public StatefulRedisConnection<K, V> connection() {
        return scoped;
    }

    /** @return the leased connection with its clean-state tracking */
    PooledRedisConnection<K, V> pooled() {
        return connection;
    }

    /** @return the index of the worker whose event loop the connection lives on */
    public int worker() {
        return lease.worker();
    }

    /** @return where the connection came from, relative to the borrower's worker */
    public Locality locality() {
        return lease.locality();
    }

    /**
     * Resets the connection's state if the lease changed it and returns it to the pool (or closes it). Idempotent.
     * Like every {@code Mono}, it does nothing until subscribed; from then on the lease's commands are refused.
     *
     * @return completion of the release
     */
    public Mono<Void> release() {
        // The scope ends when the release is subscribed to, not when it is assembled: work.then(lease.release())
        // calls release() before the work's commands are even sent.
        return Mono.defer(() -> {
            scoped.end();
            return lease.release();
        });
    }

    /**
     * Closes the connection instead of returning it. Idempotent; a no-op after {@link #release()}.
     *
     * @return completion of the invalidation
     */
    public Mono<Void> invalidate() {
        return Mono.defer(() -> {
            scoped.end();
            return lease.invalidate();
        });
    }

    @Override
    public String toString() {
        return "RedisLease{worker=" + lease.worker() + ", locality=" + lease.locality() + "}";
    }
}
