package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

import io.lettuce.core.RedisURI;
import io.lettuce.core.api.AsyncCloseable;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.RedisCodec;
import io.netty.channel.EventLoop;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.PooledResourceFactory;
import io.github.affinitypool.core.WorkerLoops;

/**
 * Opens, checks, resets and closes the exclusive connections of a {@link RedisAffinityPool}.
 * <p>
 * {@link #open} connects with {@code connectAsync} on the worker's pinned {@code RedisClient} (never a blocking
 * connect: on the connection's own loop it would deadlock); Lettuce performs the handshake from the Redis URI (HELLO or
 * AUTH with password or ACL user, SELECT, CLIENT SETNAME) before the connection is handed to the pool. The resources
 * it returns are {@link PooledRedisConnection}s.
 */
final class RedisConnectionFactory<K, V> implements PooledResourceFactory<StatefulRedisConnection<K, V>> {

    private final String poolName;

    private final WorkerClients clients;

    private final RedisCodec<K, V> codec;

    private final List<RedisURI> uris;

    private final WorkerLoops loops;

    private final Duration validateTimeout;

    private final Runnable serverReachable;

    /**
     * @param poolName pool name for messages
     * @param clients the per-worker clients
     * @param codec the codec of every connection
     * @param uris per worker, the URI to connect with (client name and handshake timeout set)
     * @param loops the worker loops (validation timeouts run on the connection's loop)
     * @param validateTimeout how long a PING on borrow may take
     * @param serverReachable called after each successful connect: Redis is reachable (again)
     */
    RedisConnectionFactory(String poolName, WorkerClients clients, RedisCodec<K, V> codec, List<RedisURI> uris,
            WorkerLoops loops, Duration validateTimeout, Runnable serverReachable) {
        this.poolName = poolName;
        this.clients = clients;
        this.codec = codec;
        this.uris = uris;
        this.loops = loops;
        this.validateTimeout = validateTimeout;
        this.serverReachable = serverReachable;
    }

    @Override
    public Mono<StatefulRedisConnection<K, V>> open(int worker, EventLoop loop) {
        RedisURI uri = uris.get(worker);
        return connect(() -> clients.client(worker).connectAsync(codec, uri))
                .<StatefulRedisConnection<K, V>>map(connection -> {
                    serverReachable.run();
                    return new PooledRedisConnection<>(connection, poolName, worker, uri);
                })
                .onErrorMap(error -> !(error instanceof RedisPoolConnectionException),
                        error -> new RedisPoolConnectionException(poolName, worker,
                                "Redis pool '" + poolName + "' (worker " + worker + "): cannot connect to "
                                        + RedisUris.describe(uri) + ": " + RedisUris.reason(error, uri),
                                RedisUris.withoutSecrets(RedisUris.unwrap(error), uri)));
    }

    /**
     * Subscribes to a connect and never loses its result: a connection that arrives after the subscriber cancelled is
     * discarded, and discarding closes it.
     */
    static <C extends AsyncCloseable> Mono<C> connect(Supplier<? extends CompletionStage<C>> connect) {
        return Mono.<C>create(sink -> {
            CompletionStage<C> stage;
            try {
                stage = connect.get();
            }
            catch (RuntimeException ex) {
                sink.error(ex);
                return;
            }
            stage.whenComplete((connection, error) -> {
                if (error != null) {
                    sink.error(RedisUris.unwrap(error));
                }
                else {
                    sink.success(connection);
                }
            });
        }).doOnDiscard(AsyncCloseable.class, AsyncCloseable::closeAsync);
    }

    @Override
    public Mono<Void> close(StatefulRedisConnection<K, V> resource) {
        return Mono.fromCompletionStage(resource::closeAsync);
    }

    @Override
    public boolean isUsable(StatefulRedisConnection<K, V> resource) {
        return resource.isOpen();
    }

    @Override
    public Mono<Boolean> validate(StatefulRedisConnection<K, V> resource) {
        PooledRedisConnection<K, V> connection = (PooledRedisConnection<K, V>) resource;
        return connection.ping().timeout(validateTimeout, Mono.just(false), loops.scheduler(connection.worker()));
    }

    @Override
    public Mono<Boolean> reset(StatefulRedisConnection<K, V> resource) {
        return ((PooledRedisConnection<K, V>) resource).resetForNextLease();
    }
}
