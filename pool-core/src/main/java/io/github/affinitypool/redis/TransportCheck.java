package io.github.affinitypool.redis;

import io.lettuce.core.resource.Transports;
import io.netty.channel.Channel;
import io.netty.channel.socket.SocketChannel;
import reactor.netty.resources.LoopResources;

import io.github.affinitypool.core.WorkerLoops;

/**
 * Start-up check that Lettuce opens the same kind of channel as the worker loops can run.
 * <p>
 * Lettuce picks its socket channel class ({@code EpollSocketChannel}, {@code IoUringSocketChannel},
 * {@code NioSocketChannel}, ...) by itself; pinned to a Reactor Netty loop, that channel has to match the loop's
 * transport or registering it fails on every connect. Mismatches are refused at start-up with the system property
 * that aligns both sides.
 */
final class TransportCheck {

    /** Lettuce's switches ({@code io.lettuce.core.resource.EpollProvider} etc.). */
    static final String LETTUCE_EPOLL = "io.lettuce.core.epoll";

    static final String LETTUCE_IOURING = "io.lettuce.core.iouring";

    static final String LETTUCE_KQUEUE = "io.lettuce.core.kqueue";

    /** Reactor Netty's switch ({@code reactor.netty.ReactorNetty#NATIVE}). */
    static final String REACTOR_NATIVE = "reactor.netty.native";

    private TransportCheck() {
    }

    /**
     * Compares Reactor Netty's channel class for the workers' group with Lettuce's.
     *
     * @param loops the worker loops
     * @throws IllegalStateException on a mismatch
     */
    static void verify(WorkerLoops loops) {
        LoopResources resources = loops.loopResources();
        Class<? extends SocketChannel> reactor = resources.onChannelClass(SocketChannel.class, loops.group());
        verify(reactor, Transports.socketChannelClass());
    }

    /**
     * @param reactorChannel the channel class Reactor Netty uses on the worker loops
     * @param lettuceChannel the channel class Lettuce would open
     * @throws IllegalStateException when they differ, naming the system property that aligns them
     */
    static void verify(Class<? extends Channel> reactorChannel, Class<? extends Channel> lettuceChannel) {
        if (reactorChannel.equals(lettuceChannel)) {
            return;
        }
        throw new IllegalStateException("Transport mismatch: the worker loops run " + reactorChannel.getSimpleName()
                + " (Reactor Netty) but Lettuce would open " + lettuceChannel.getSimpleName()
                + ", which cannot be registered on them. "
                + advice(transport(reactorChannel), transport(lettuceChannel)));
    }

    private static String advice(String reactor, String lettuce) {
        if ("nio".equals(reactor)) {
            // Reactor Netty chose NIO (native disabled or preferNative=false): switch Lettuce's native transport off.
            return "Start the JVM with -D" + lettuceProperty(lettuce)
                    + "=false so that Lettuce uses NIO as well, or let "
                    + "Reactor Netty use the native transport (-D" + REACTOR_NATIVE + "=true and preferNative=true).";
        }
        if ("nio".equals(lettuce)) {
            return "Start the JVM with -D" + REACTOR_NATIVE
                    + "=false (or pass preferNative=false) so that Reactor Netty "
                    + "uses NIO as well, or put the " + reactor + " native transport on the classpath for Lettuce too.";
        }
        // Two different native transports (for example epoll and io_uring): switch off the one Lettuce prefers.
        return "Start the JVM with -D" + lettuceProperty(lettuce) + "=false so that Lettuce falls back to " + reactor
                + ", or -D" + REACTOR_NATIVE + "=false together with -D" + lettuceProperty(lettuce)
                + "=false to use NIO on both sides.";
    }

    private static String lettuceProperty(String transport) {
        switch (transport) {
            case "io_uring":
                return LETTUCE_IOURING;
            case "kqueue":
                return LETTUCE_KQUEUE;
            default:
                return LETTUCE_EPOLL;
        }
    }

    static String transport(Class<?> channelClass) {
        String name = channelClass.getSimpleName().toLowerCase(java.util.Locale.ROOT);
        if (name.startsWith("epoll")) {
            return "epoll";
        }
        if (name.startsWith("iouring")) {
            return "io_uring";
        }
        if (name.startsWith("kqueue")) {
            return "kqueue";
        }
        return "nio";
    }
}
