package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.push.PushListener;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.protocol.RedisCommand;
import io.lettuce.core.resource.ClientResources;

/**
 * A {@link StatefulRedisConnection} that forwards everything to another one; the pool's wrappers
 * ({@link PooledRedisConnection}, {@link ScopedConnection}) override what they track or refuse. The command APIs
 * ({@code reactive()}, {@code async()}, {@code sync()}) are left to them, since they must be bound to the wrapper for
 * its {@code dispatch} to see every command.
 */
abstract class ForwardingRedisConnection<K, V> implements StatefulRedisConnection<K, V> {

    private final StatefulRedisConnection<K, V> target;

    ForwardingRedisConnection(StatefulRedisConnection<K, V> target) {
        this.target = target;
    }

    @Override
    public <T> RedisCommand<K, V, T> dispatch(RedisCommand<K, V, T> command) {
        return target.dispatch(command);
    }

    @Override
    public Collection<RedisCommand<K, V, ?>> dispatch(Collection<? extends RedisCommand<K, V, ?>> commands) {
        return target.dispatch(commands);
    }

    @Override
    public boolean isMulti() {
        return target.isMulti();
    }

    @Override
    public void setAutoFlushCommands(boolean autoFlush) {
        target.setAutoFlushCommands(autoFlush);
    }

    @Override
    public void flushCommands() {
        target.flushCommands();
    }

    @Override
    public void setTimeout(Duration timeout) {
        target.setTimeout(timeout);
    }

    @Override
    public Duration getTimeout() {
        return target.getTimeout();
    }

    @Override
    public void addListener(PushListener listener) {
        target.addListener(listener);
    }

    @Override
    public void removeListener(PushListener listener) {
        target.removeListener(listener);
    }

    @Override
    public void addListener(RedisConnectionStateListener listener) {
        target.addListener(listener);
    }

    @Override
    public void removeListener(RedisConnectionStateListener listener) {
        target.removeListener(listener);
    }

    @Override
    public boolean isOpen() {
        return target.isOpen();
    }

    /** Starts closing the connection without waiting (waiting on its own event loop would deadlock). */
    @Override
    public void close() {
        target.closeAsync();
    }

    @Override
    public CompletableFuture<Void> closeAsync() {
        return target.closeAsync();
    }

    @Override
    public ClientOptions getOptions() {
        return target.getOptions();
    }

    @Override
    public ClientResources getResources() {
        return target.getResources();
    }

    @Override
    public RedisCodec<K, V> getCodec() {
        return target.getCodec();
    }
}
