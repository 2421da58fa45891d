package io.github.affinitypool.redis;

import java.util.concurrent.TimeUnit;

import io.lettuce.core.resource.EventLoopGroupProvider;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;

/**
 * Hands Lettuce one worker's {@link EventLoop} as "the" event loop group, so every channel of the worker's
 * {@code RedisClient} is registered on that loop: its commands are written and its replies decoded there.
 * <p>
 * The loop belongs to the server or to the pool's standalone loops, never to Lettuce: {@code release} and
 * {@code shutdown} do nothing.
 */
final class PinnedEventLoopGroupProvider implements EventLoopGroupProvider {

    private final EventLoop loop;

    PinnedEventLoopGroupProvider(EventLoop loop) {
        this.loop = loop;
    }

    /**
     * Returns the worker loop whatever group class Lettuce asks for. The cast is unchecked on purpose: Lettuce asks
     * for its transport's group class (for example {@code MultiThreadIoEventLoopGroup}), which a single
     * {@link EventLoop} is not, and only ever uses the result as an {@link EventLoopGroup}; {@code type.cast} would
     * throw.
     */
    @Override
    @SuppressWarnings("unchecked")
    public <T extends EventLoopGroup> T allocate(Class<T> type) {
        return (T) loop;
    }

    @Override
    public int threadPoolSize() {
        return 1;
    }

    @Override
    public Future<Boolean> release(EventExecutorGroup eventLoopGroup, long quietPeriod, long timeout, TimeUnit unit) {
        return ImmediateEventExecutor.INSTANCE.newSucceededFuture(Boolean.TRUE);
    }

    @Override
    public Future<Boolean> shutdown(long quietPeriod, long timeout, TimeUnit timeUnit) {
        return ImmediateEventExecutor.INSTANCE.newSucceededFuture(Boolean.TRUE);
    }

    @Override
    public String toString() {
        return "PinnedEventLoopGroupProvider{" + loop + "}";
    }
}
