package io.github.affinitypool.redis;

import io.lettuce.core.resource.NettyCustomizer;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.SslHandler;

/**
 * Adds Netty's {@link FlushConsolidationHandler} to every Redis channel, so that the commands written on a loop in
 * one tick leave in one flush (one {@code write} system call) instead of one each.
 * <p>
 * Lettuce flushes after every command. With {@code consolidateWhenNoReadInProgress} the first flush of a tick is
 * turned into a task that runs after the tick's other tasks, and flushes issued while the channel reads (commands
 * chained in reply callbacks) wait for the end of the read. The handler sits next to the socket, or right after the
 * {@link SslHandler} for {@code rediss://} so that TLS records are built once per consolidated flush.
 * <p>
 * A user customizer, if any, runs afterwards.
 */
final class FlushCoalescing implements NettyCustomizer {

    /** Name of the handler in the channel pipeline. */
    static final String HANDLER_NAME = "affinityPoolFlushConsolidation";

    private final NettyCustomizer next;

    /**
     * @param next customizer to apply after the pool's own, may be {@code null}
     */
    FlushCoalescing(NettyCustomizer next) {
        this.next = next;
    }

    @Override
    public void afterBootstrapInitialized(Bootstrap bootstrap) {
        if (next != null) {
            next.afterBootstrapInitialized(bootstrap);
        }
    }

    @Override
    public void afterChannelInitialized(Channel channel) {
        ChannelPipeline pipeline = channel.pipeline();
        if (pipeline.get(HANDLER_NAME) == null) {
            FlushConsolidationHandler handler = new FlushConsolidationHandler(
                    FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true);
            SslHandler ssl = pipeline.get(SslHandler.class);
            if (ssl != null) {
                pipeline.addAfter(pipeline.context(ssl).name(), HANDLER_NAME, handler);
            }
            else {
                pipeline.addFirst(HANDLER_NAME, handler);
            }
        }
        if (next != null) {
            next.afterChannelInitialized(channel);
        }
    }
}
