package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static io.github.affinitypool.redis.PoolFixtures.onLoop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.protocol.ProtocolKeyword;
import io.lettuce.core.resource.DefaultEventLoopGroupProvider;
import org.junit.jupiter.api.Test;

import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/**
 * Customizers of the Lettuce client resources reach every worker's resources — here a command latency recorder, the
 * hook Lettuce also uses for tracing — while the pool keeps what pins a connection to its worker's loop, even against
 * a customizer that sets an event loop provider of its own.
 */
@RedisTest
class ClientResourcesTest {

    @Test
    void customizersReachEveryWorkerAndCannotUnpinTheConnections(RedisServer redis) {
        RecordingLatencyRecorder recorder = new RecordingLatencyRecorder();
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("resources")
                .workers(2)
                .clientResources(resources -> resources.eventLoopGroupProvider(new DefaultEventLoopGroupProvider(1)))
                .clientResources(resources -> resources.commandLatencyRecorder(recorder))
                .build()) {
            for (int worker = 0; worker < 2; worker++) {
                PoolFixtures.Emission<String> shared = onLoop(pool.loops(), worker, () -> pool.commands().echo("s"));
                PoolFixtures.Emission<String> leased = onLoop(pool.loops(), worker,
                        () -> pool.withConnection(commands -> commands.echo("l")).single());

                assertThat(shared.value()).isEqualTo("s");
                assertThat(shared.thread()).isSameAs(loopThread(pool.loops(), worker));
                assertThat(leased.value()).isEqualTo("l");
                assertThat(leased.thread()).isSameAs(loopThread(pool.loops(), worker));
            }
            Thread loop0 = loopThread(pool.loops(), 0);
            Thread loop1 = loopThread(pool.loops(), 1);
            await().atMost(TIMEOUT).untilAsserted(
                    () -> assertThat(recorder.echoes).containsExactlyInAnyOrder(loop0, loop0, loop1, loop1));
        }
    }

    @Test
    void commandLatencyRecordingIsOffByDefault(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("plain").workers(1)
                .build()) {
            assertThat(pool.commands().echo("x").block(TIMEOUT)).isEqualTo("x");
            assertThat(pool.openSharedConnections()).singleElement().satisfies(connection -> assertThat(
                    connection.getResources().commandLatencyRecorder().isEnabled()).isFalse());
        }
    }

    /** Records the thread of every ECHO whose latency Lettuce reports. */
    private static final class RecordingLatencyRecorder implements CommandLatencyRecorder {

        final List<Thread> echoes = new CopyOnWriteArrayList<>();

        @Override
        public void recordCommandLatency(SocketAddress local, SocketAddress remote, ProtocolKeyword commandType,
                long firstResponseLatency, long completionLatency) {
            if ("ECHO".equals(commandType.toString())) {
                echoes.add(Thread.currentThread());
            }
        }
    }
}
