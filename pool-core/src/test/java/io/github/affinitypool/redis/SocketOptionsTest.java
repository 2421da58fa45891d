package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.onLoop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import io.lettuce.core.SocketOptions;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.Test;

import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/**
 * Socket options given through {@code clientOptions} reach every connection of the pool — the shared ones, the
 * exclusive ones and the Pub/Sub ones — although the pool sets options of its own on the same builder, and without
 * them every connection keeps Lettuce's default TCP keep-alive: how an idle connection notices a peer that vanished
 * without closing it (docs/redis-pool.md, "Peers that vanish").
 */
@RedisTest
class SocketOptionsTest {

    @Test
    void keepAliveFromClientOptionsReachesEveryConnection(RedisServer redis) {
        SocketOptions keepAlive = SocketOptions.builder()
                .keepAlive(SocketOptions.KeepAliveOptions.builder().enable().idle(Duration.ofSeconds(30))
                        .interval(Duration.ofSeconds(10)).count(3).build())
                .build();

        List<Integer> keepAliveIdle = readEveryKind(redis,
                builder -> builder.clientOptions(options -> options.socketOptions(keepAlive)),
                SocketOptionsTest::keepAliveIdleSeconds);

        assertThat(keepAliveIdle).containsExactly(30, 30, 30);
    }

    @Test
    void connectTimeoutReplacesOnlyTheConnectTimeoutOfTheCustomizersSocketOptions(RedisServer redis) {
        SocketOptions keepAliveAndSlowConnects = SocketOptions.builder().connectTimeout(Duration.ofSeconds(20))
                .keepAlive(SocketOptions.KeepAliveOptions.builder().enable().idle(Duration.ofSeconds(30)).build())
                .build();

        List<String> settings = readEveryKind(redis,
                builder -> builder.clientOptions(options -> options.socketOptions(keepAliveAndSlowConnects))
                        .connectTimeout(Duration.ofMillis(1500)),
                channel -> "keep-alive idle " + keepAliveIdleSeconds(channel) + " s, connect timeout "
                        + channel.config().getConnectTimeoutMillis() + " ms");

        assertThat(settings).containsOnly("keep-alive idle 30 s, connect timeout 1500 ms").hasSize(3);
    }

    @Test
    void withoutThemEveryConnectionHasLettucesDefaultKeepAlive(RedisServer redis) {
        // Lettuce 7: keep-alive on, first probe after 13 s idle, then every 13 s, 3 probes: a vanished peer of an idle
        // connection is noticed within about 52 s.
        int lettuceDefault = (int) SocketOptions.create().getKeepAlive().getIdle().toSeconds();

        assertThat(lettuceDefault).isEqualTo(13);
        assertThat(readEveryKind(redis, UnaryOperator.identity(), SocketOptionsTest::keepAliveIdleSeconds))
                .containsExactly(lettuceDefault, lettuceDefault, lettuceDefault);
    }

    private static int keepAliveIdleSeconds(Channel channel) {
        if (channel instanceof EpollSocketChannel epoll) {
            return epoll.config().getTcpKeepIdle();
        }
        return channel.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE));
    }

    /**
     * Opens one shared, one exclusive and one Pub/Sub connection on worker 0.
     *
     * @return what {@code reader} reads from each channel while it is open, in the order they were opened
     */
    private static <T> List<T> readEveryKind(RedisServer redis,
            UnaryOperator<RedisAffinityPool.Builder<String, String>> options, Function<Channel, T> reader) {
        List<Channel> channels = new CopyOnWriteArrayList<>();
        NettyCustomizer recording = new NettyCustomizer() {
            @Override
            public void afterChannelInitialized(Channel channel) {
                channels.add(channel);
            }
        };
        try (RedisAffinityPool<String, String> pool = options.apply(RedisAffinityPool.builder(redis.uri())
                .name("sockets").workers(1).nettyCustomizer(recording)).build()) {
            assertThat(onLoop(pool.loops(), 0, () -> pool.commands().ping()).value()).isEqualTo("PONG");
            assertThat(onLoop(pool.loops(), 0, () -> pool.withConnection(c -> c.ping())).value()).isEqualTo("PONG");
            PubSubRecorder subscriber = PubSubRecorder.onWorker(pool, 0, pool.subscribe("sockets"));
            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 1);
            assertThat(subscriber.error.get()).isNull();
            assertThat(channels).allSatisfy(
                    channel -> assertThat(channel.config().getOption(ChannelOption.SO_KEEPALIVE)).isTrue());
            return channels.stream().map(reader).toList();
        }
    }
}
