package io.github.affinitypool.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lettuce.core.resource.Transports;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.Test;
import reactor.netty.resources.LoopResources;

import io.github.affinitypool.core.WorkerLoops;

class TransportCheckTest {

    /** Stands in for netty-transport-native-io_uring's channel, which is not on the test class path. */
    abstract static class IoUringSocketChannel extends NioSocketChannel {
    }

    @Test
    void sameChannelClassPasses() {
        assertThatNoException()
                .isThrownBy(() -> TransportCheck.verify(EpollSocketChannel.class, EpollSocketChannel.class));
        assertThatNoException().isThrownBy(() -> TransportCheck.verify(NioSocketChannel.class, NioSocketChannel.class));
    }

    @Test
    void nioLoopsWithNativeLettuceNameLettucesSwitch() {
        assertThatIllegalStateException()
                .isThrownBy(() -> TransportCheck.verify(NioSocketChannel.class, EpollSocketChannel.class))
                .withMessageStartingWith("Transport mismatch: the worker loops run NioSocketChannel (Reactor Netty) "
                        + "but Lettuce would open EpollSocketChannel")
                .withMessageContaining("-Dio.lettuce.core.epoll=false");
    }

    @Test
    void nativeLoopsWithNioLettuceNameReactorsSwitch() {
        assertThatIllegalStateException()
                .isThrownBy(() -> TransportCheck.verify(EpollSocketChannel.class, NioSocketChannel.class))
                .withMessageContaining("-Dreactor.netty.native=false");
    }

    @Test
    void twoNativeTransportsNameTheOneLettucePrefers() {
        assertThatIllegalStateException()
                .isThrownBy(() -> TransportCheck.verify(EpollSocketChannel.class, IoUringSocketChannel.class))
                .withMessageContaining("-Dio.lettuce.core.iouring=false so that Lettuce falls back to epoll");
    }

    @Test
    void buildRefusesNioLoopsWhenLettuceUsesEpoll() {
        assumeTrue(Epoll.isAvailable() && Transports.socketChannelClass() == EpollSocketChannel.class,
                "needs the epoll transport for Lettuce");
        LoopResources nio = LoopResources.create("transport-check", 1, 1, true);
        try {
            assertThatIllegalStateException()
                    .isThrownBy(() -> RedisAffinityPool.builder("redis://127.0.0.1:1").loopResources(nio, false)
                            .build())
                    .withMessageContaining("NioSocketChannel")
                    .withMessageContaining("-Dio.lettuce.core.epoll=false");
        }
        finally {
            nio.dispose();
        }
    }

    @Test
    void standaloneLoopsMatchLettuce() {
        try (WorkerLoops loops = WorkerLoops.standalone("transport-ok", 1)) {
            assertThatNoException().isThrownBy(() -> TransportCheck.verify(loops));
            assertThat(loops.loopResources().onChannelClass(io.netty.channel.socket.SocketChannel.class, loops.group()))
                    .isEqualTo(Transports.socketChannelClass());
        }
    }
}
