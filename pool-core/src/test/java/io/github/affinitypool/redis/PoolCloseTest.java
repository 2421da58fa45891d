package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.stream.Stream;

import io.netty.channel.EventLoop;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.Disposable;
import reactor.netty.resources.LoopResources;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.core.WorkerLoops;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/**
 * {@code close()} closes every connection the pool opened (exclusive, shared, Pub/Sub) and shuts down the loops only
 * when the pool owns them: standalone ({@code workers(n)}) yes, integrated (a server's loops) never.
 */
@RedisTest
class PoolCloseTest {

    @Test
    void closingAStandalonePoolClosesEveryConnectionAndShutsItsOwnLoopsDown(RedisServer redis) {
        RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("close-own").workers(2)
                .build();
        WorkerLoops loops = pool.loops();
        Disposable subscriber = openConnectionsOfEveryKind(redis, pool, "close-own");

        pool.close();

        for (int worker = 0; worker < 2; worker++) {
            assertThat(loops.loop(worker).isShuttingDown()).as("worker %d shutting down", worker).isTrue();
        }
        await().atMost(TIMEOUT).until(() -> loops.loop(0).isTerminated() && loops.loop(1).isTerminated());
        assertEveryConnectionClosed(redis, pool, "close-own");
        subscriber.dispose();
    }

    @Test
    void aCommandInFlightWhenThePoolClosesFailsSayingThatThePoolClosedItsConnection(RedisServer redis) {
        RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("close-busy").workers(1)
                .build();
        CompletableFuture<Throwable> failed = new CompletableFuture<>();
        await().atMost(TIMEOUT).until(() -> pool.sharedStats().open() == 1);
        redis.pause(); // no reply: the GET stays in flight
        try {
            // Dispatched on the worker's loop while subscribing there, so it has been written when the task ends.
            CompletableFuture.runAsync(() -> pool.commands().get("k").subscribe(null, failed::complete),
                    pool.loops().loop(0)).join();
            pool.close();
            assertThat(failed).succeedsWithin(TIMEOUT).asInstanceOf(InstanceOfAssertFactories.THROWABLE)
                    .isInstanceOf(RedisPoolConnectionException.class)
                    .hasMessage("Redis pool 'close-busy' (worker 0): connection to " + redis.uri() + " lost: the pool "
                            + "was closed");
        }
        finally {
            redis.resume();
        }
    }

    @Test
    void theLongestCloseTimeoutTheConfigurationTakesStillLetsCloseWait(RedisServer redis) {
        RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("close-long").workers(1)
                .poolConfig(AffinityPoolConfig.builder().closeTimeout(AffinityPoolConfig.MAX_DURATION).build())
                .build();
        assertThat(pool.withConnection(c -> c.ping()).blockLast(TIMEOUT)).isEqualTo("PONG");

        pool.close(); // threw ArithmeticException: three times the timeout overflowed block()'s nanoseconds

        await().atMost(TIMEOUT).until(() -> redis.clientNames("affinity-pool.close-long.").isEmpty());
    }

    /** Puts a builder in integrated mode on a server's loops. */
    interface Integrated extends BiFunction<RedisAffinityPool.Builder<String, String>, LoopResources,
            RedisAffinityPool.Builder<String, String>> {
    }

    static Stream<Arguments> integratedModes() {
        Integrated loopResources = (builder, server) -> builder.loopResources(server, LoopResources.DEFAULT_NATIVE);
        Integrated serverDefault = (builder, server) -> builder.loopResources(server);
        Integrated workerLoops = (builder, server) -> builder.workerLoops(
                WorkerLoops.integrated(server, LoopResources.DEFAULT_NATIVE));
        return Stream.of(Arguments.of("loopResources(.., preferNative)", loopResources),
                Arguments.of("loopResources(..)", serverDefault),
                Arguments.of("workerLoops(WorkerLoops.integrated(..))", workerLoops));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("integratedModes")
    void closingAnIntegratedPoolClosesEveryConnectionAndLeavesTheServersLoopsRunning(String mode,
            Integrated integrated, RedisServer redis) throws Exception {
        LoopResources server = LoopResources.create("close-server", 1, 2, true);
        try {
            RedisAffinityPool<String, String> pool = integrated.apply(
                    RedisAffinityPool.builder(redis.uri()).name("close-shared"), server).build();
            List<EventLoop> loops = List.of(pool.loops().loop(0), pool.loops().loop(1));
            Disposable subscriber = openConnectionsOfEveryKind(redis, pool, "close-shared");

            pool.close();

            assertEveryConnectionClosed(redis, pool, "close-shared");
            for (EventLoop loop : loops) {
                assertThat(loop.isShuttingDown()).as("%s shutting down", loop).isFalse();
                // Still runs tasks, on its own thread.
                String thread = loop.submit(() -> Thread.currentThread().getName()).get(10, TimeUnit.SECONDS);
                assertThat(thread).startsWith("close-server");
            }
            assertThat(server.isDisposed()).isFalse();
            subscriber.dispose();
        }
        finally {
            server.disposeLater().block(TIMEOUT);
        }
    }

    /**
     * Opens an exclusive connection on each of the two workers (returned idle), waits for the two shared connections
     * and opens a Pub/Sub connection on worker 0, all checked in Redis's CLIENT LIST.
     *
     * @return the Pub/Sub subscriber
     */
    private static Disposable openConnectionsOfEveryKind(RedisServer redis, RedisAffinityPool<String, String> pool,
            String name) {
        for (int worker = 0; worker < 2; worker++) {
            assertThat(PoolFixtures.onLoop(pool.loops(), worker, () -> pool.withConnection(c -> c.ping())).value())
                    .isEqualTo("PONG");
        }
        Disposable subscriber = pool.subscribe("close:channel").subscribeOn(pool.loops().scheduler(0)).subscribe();
        String prefix = "affinity-pool." + name + ".";
        await().atMost(TIMEOUT).untilAsserted(() -> assertThat(redis.clientNames(prefix)).containsExactlyInAnyOrder(
                prefix + "w0", prefix + "w1", prefix + "shared.w0", prefix + "shared.w1", prefix + "pubsub.w0"));
        assertThat(pool.stats().total().idle()).isEqualTo(2);
        return subscriber;
    }

    private static void assertEveryConnectionClosed(RedisServer redis, RedisAffinityPool<String, String> pool,
            String name) {
        await().atMost(TIMEOUT).until(() -> redis.clientNames("affinity-pool." + name + ".").isEmpty());
        assertThat(pool.stats().total().open()).isZero();
        assertThat(pool.stats().total().closedByReason().get(CloseReason.POOL_CLOSED)).isEqualTo(2L);
        assertThat(pool.sharedStats().open()).isZero();
        assertThat(pool.pubSubStats().open()).isZero();
    }
}
