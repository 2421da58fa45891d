package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static io.github.affinitypool.redis.PoolFixtures.onLoop;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.lettuce.core.SslOptions;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.github.affinitypool.testing.TlsRedisServer;

/**
 * {@code rediss://}: the handshake, both command paths and their affinity over TLS, with the flush coalescing placed
 * behind the {@link SslHandler} so that it coalesces the application's writes, not the TLS records. Runs where
 * redis-server has TLS support (Debian's has); skipped with a message elsewhere.
 */
class TlsTest {

    @TempDir
    static Path dir;

    private static TlsRedisServer tls;

    @BeforeAll
    static void startRedisWithTls() throws Exception {
        tls = TlsRedisServer.startOrAbort(dir);
    }

    @AfterAll
    static void stopRedis() {
        if (tls != null) {
            tls.close();
        }
    }

    @Test
    void bothPathsWorkOverTlsWithRepliesOnTheCallersLoop() {
        List<Channel> channels = new CopyOnWriteArrayList<>();
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(tls.server().tlsUri())
                .name("tls").workers(2)
                .clientOptions(options -> options.sslOptions(SslOptions.builder()
                        .trustManager(tls.certificate().certificate().toFile()).build()))
                .nettyCustomizer(new NettyCustomizer() {
                    @Override
                    public void afterChannelInitialized(Channel channel) {
                        channels.add(channel);
                    }
                })
                .build()) {
            for (int worker = 0; worker < 2; worker++) {
                String key = "tls:" + worker;
                Thread loop = loopThread(pool.loops(), worker);

                PoolFixtures.Emission<String> set = onLoop(pool.loops(), worker, () -> pool.commands().set(key, "v"));
                PoolFixtures.Emission<String> get = onLoop(pool.loops(), worker,
                        () -> pool.withConnection(c -> c.get(key)));

                assertThat(set.value()).isEqualTo("OK");
                assertThat(set.thread()).isSameAs(loop);
                assertThat(get.value()).isEqualTo("v");
                assertThat(get.thread()).isSameAs(loop);
            }
            assertThat(tls.server().command("GET", "tls:1")).isEqualTo("v");
            // Two shared connections and at least one exclusive one per worker, all on TLS.
            assertThat(channels).hasSizeGreaterThanOrEqualTo(4);
            for (Channel channel : channels) {
                List<String> handlers = channel.pipeline().names();
                String ssl = channel.pipeline().context(SslHandler.class).name();
                assertThat(handlers.indexOf(FlushCoalescing.HANDLER_NAME))
                        .as("coalescing right behind TLS in %s", handlers).isEqualTo(handlers.indexOf(ssl) + 1);
            }
        }
    }
}
