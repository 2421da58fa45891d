package io.github.affinitypool.sample.reliability;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.lettuce.core.protocol.RedisCommand;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * Counts the pool's connects in flight, measured on the Netty channels themselves: a connect is in flight from the
 * channel's registration (Lettuce calls {@link #afterChannelInitialized} from its {@code ChannelInitializer}, i.e. on
 * {@code channelRegistered}) until the Redis handshake has completed (Lettuce's {@code RedisHandshakeHandler} passes
 * {@code channelActive} down the pipeline only then, so a handler at the tail sees it at that moment), or until the
 * channel has closed (or, for a refused connect, been unregistered). It also reads the client name the handshake sets
 * ({@code HELLO ... SETNAME} or {@code CLIENT SETNAME}), so a test can tell exclusive, shared and Pub/Sub connections
 * apart.
 */
final class ConnectProbe implements NettyCustomizer {

    private static final Pattern CLIENT_NAME = Pattern.compile("affinity-pool\\.[^\\s\\]]+");

    private final AtomicInteger inFlight = new AtomicInteger();

    private final AtomicInteger peak = new AtomicInteger();

    /** Handshakes completed, by the client name they set ({@code "?"} when none was seen). */
    private final Map<String, AtomicInteger> connectedByName = new ConcurrentHashMap<>();

    private final AtomicInteger failed = new AtomicInteger();

    @Override
    public void afterChannelInitialized(Channel channel) {
        peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        channel.pipeline().addLast("reliabilityConnectProbe", new Probe());
    }

    /** @return connects in flight now */
    int inFlight() {
        return inFlight.get();
    }

    /** @return the most connects in flight at once since the last {@link #resetPeak()} */
    int peak() {
        return peak.get();
    }

    /** @return connects that closed before their handshake completed */
    int failed() {
        return failed.get();
    }

    /** @return a copy of the completed handshakes by client name */
    Map<String, Integer> connectedByName() {
        Map<String, Integer> copy = new TreeMap<>();
        connectedByName.forEach((name, count) -> copy.put(name, count.get()));
        return copy;
    }

    /** Starts a new peak measurement from the connects in flight now, and forgets the names seen. */
    void resetPeak() {
        peak.set(inFlight.get());
        connectedByName.clear();
        failed.set(0);
    }

    /** Sits at the tail of a pool connection's pipeline until its handshake has completed. */
    private final class Probe extends ChannelDuplexHandler {

        private boolean finished;

        private String clientName = "?";

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (!finished && msg instanceof RedisCommand<?, ?, ?> command && command.getArgs() != null) {
                Matcher name = CLIENT_NAME.matcher(command.getArgs().toCommandString());
                if (name.find()) {
                    clientName = name.group();
                }
            }
            super.write(ctx, msg, promise);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            finish(true);
            super.channelActive(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            finish(false);
            super.channelInactive(ctx);
        }

        /** A refused connect never becomes active (nor inactive): its channel is only unregistered. */
        @Override
        public void channelUnregistered(ChannelHandlerContext ctx) throws Exception {
            finish(false);
            super.channelUnregistered(ctx);
        }

        private void finish(boolean handshakeDone) {
            if (finished) {
                return;
            }
            finished = true;
            inFlight.decrementAndGet();
            if (handshakeDone) {
                connectedByName.computeIfAbsent(clientName, ignored -> new AtomicInteger()).incrementAndGet();
            }
            else {
                failed.incrementAndGet();
            }
        }
    }
}
