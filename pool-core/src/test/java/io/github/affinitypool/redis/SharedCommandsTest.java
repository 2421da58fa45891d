package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static io.github.affinitypool.redis.PoolFixtures.onLoop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.json.JsonParser;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.WorkerLoops;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;
import io.github.affinitypool.testing.UnansweredPort;

/** The shared {@code commands()} path: pinning, flush coalescing, routing. */
@RedisTest
class SharedCommandsTest {

    /**
     * Pins the mechanism: a command issued on worker w is written on, and its reply emitted on, w's loop thread. A
     * Lettuce upgrade that ignored the pinned EventLoopGroupProvider, or published on a scheduler, fails here.
     */
    @ParameterizedTest(name = "{0} workers")
    @ValueSource(ints = { 2, 4 })
    void replyIsEmittedOnTheCallersWorkerLoop(int workers, RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("pin-" + workers)
                .workers(workers).build()) {
            WorkerLoops loops = pool.loops();
            RedisReactiveCommands<String, String> commands = pool.commands();
            for (int worker = 0; worker < workers; worker++) {
                String key = "pin:" + workers + ":" + worker;
                String value = "value-" + worker;
                Thread loop = loopThread(loops, worker);

                PoolFixtures.Emission<String> set = onLoop(loops, worker, () -> commands.set(key, value));
                PoolFixtures.Emission<String> get = onLoop(loops, worker, () -> commands.get(key));
                // Assembled off-loop, subscribed on the loop: routed when subscribed.
                Mono<String> deferred = commands.get(key);
                PoolFixtures.Emission<String> subscribedOn = onLoop(loops, worker, () -> deferred);

                assertThat(set.value()).isEqualTo("OK");
                assertThat(set.thread()).isSameAs(loop);
                assertThat(get.value()).isEqualTo(value);
                assertThat(get.thread()).isSameAs(loop);
                assertThat(subscribedOn.value()).isEqualTo(value);
                assertThat(subscribedOn.thread()).isSameAs(loop);
                String viaScheduler = commands.get(key).subscribeOn(loops.scheduler(worker))
                        .map(reply -> reply + "@" + Thread.currentThread().getName()).block(TIMEOUT);
                assertThat(viaScheduler).isEqualTo(value + "@" + loop.getName());
            }
        }
    }

    @Test
    void digestAndJsonParserAnswerWithoutAConnection(RedisServer redis) {
        String script = "return 'caf\u00e9'";
        String loaded;
        try (RedisAffinityPool<String, String> up = RedisAffinityPool.builder(redis.uri()).name("digest-up").workers(1)
                .build()) {
            loaded = up.commands().scriptLoad(script).block(TIMEOUT);
        }
        JsonParser parser = (JsonParser) Proxy.newProxyInstance(JsonParser.class.getClassLoader(),
                new Class<?>[] { JsonParser.class }, (proxy, method, args) -> null);
        // A host that answers no connect: no shared connection opens, yet digest() agrees with Redis's SHA-1.
        try (UnansweredPort unanswered = UnansweredPort.open();
                RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(unanswered.uri()).name("digest")
                        .workers(2).clientOptions(options -> options.jsonParser(() -> parser)).build()) {
            assertThat(pool.sharedStats().open()).isZero();
            assertThat(pool.commands().digest(script)).isEqualTo(loaded).hasSize(40);
            assertThat(pool.commands().digest(script.getBytes(StandardCharsets.UTF_8))).isEqualTo(loaded);
            assertThat(pool.commands().getJsonParser()).isSameAs(parser);
        }
    }

    @Test
    void offLoopCallersAreSpreadOverTheWorkersRoundRobin(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("off-loop").workers(2)
                .build()) {
            Set<Thread> loops = Set.of(loopThread(pool.loops(), 0), loopThread(pool.loops(), 1));
            Set<Thread> replyThreads = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                replyThreads.add(pool.commands().ping().map(pong -> Thread.currentThread()).block(TIMEOUT));
            }
            assertThat(replyThreads).isEqualTo(loops);
        }
    }

    @Test
    void manyCommandsIssuedInOneLoopTickLeaveInOneFlush(RedisServer redis) throws Exception {
        Map<Channel, int[]> flushesAndWrites = new ConcurrentHashMap<>();
        NettyCustomizer counting = new NettyCustomizer() {
            @Override
            public void afterChannelInitialized(Channel channel) {
                int[] counts = new int[2];
                flushesAndWrites.put(channel, counts);
                // First in the pipeline: sees what leaves the flush consolidation, i.e. what reaches the socket.
                channel.pipeline().addFirst("test-flush-counter", new ChannelOutboundHandlerAdapter() {
                    @Override
                    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                        counts[1]++;
                        ctx.write(msg, promise);
                    }

                    @Override
                    public void flush(ChannelHandlerContext ctx) {
                        counts[0]++;
                        ctx.flush();
                    }
                });
            }
        };
        int commandsPerTick = 200;
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("coalesce").workers(2)
                .nettyCustomizer(counting).build()) {
            WorkerLoops loops = pool.loops();
            RedisReactiveCommands<String, String> commands = pool.commands();
            Map<String, String> values = new ConcurrentHashMap<>();
            for (int i = 0; i < commandsPerTick; i++) {
                values.put("coalesce:" + i, "v" + i);
            }
            assertThat(commands.mset(values).block(TIMEOUT)).isEqualTo("OK");
            onLoop(loops, 0, commands::ping); // worker 0's shared connection is connected
            EventLoop loop0 = loops.loop(0);
            Channel channel = flushesAndWrites.keySet().stream().filter(c -> c.eventLoop() == loop0)
                    .findFirst().orElseThrow();
            int[] counts = flushesAndWrites.get(channel);
            int[] before = loop0.submit(() -> counts.clone()).get(10, TimeUnit.SECONDS);

            Thread loopThread = loopThread(loops, 0);
            AtomicReferenceArray<String> replies = new AtomicReferenceArray<>(commandsPerTick);
            AtomicInteger onOtherThread = new AtomicInteger();
            CountDownLatch done = new CountDownLatch(commandsPerTick);
            loop0.execute(() -> {
                for (int i = 0; i < commandsPerTick; i++) {
                    int index = i;
                    commands.get("coalesce:" + i).subscribe(value -> {
                        replies.set(index, value);
                        if (Thread.currentThread() != loopThread) {
                            onOtherThread.incrementAndGet();
                        }
                        done.countDown();
                    });
                }
            });
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            int[] after = loop0.submit(() -> counts.clone()).get(10, TimeUnit.SECONDS);

            int flushes = after[0] - before[0];
            int writes = after[1] - before[1];
            assertThat(writes).isEqualTo(commandsPerTick);
            assertThat(flushes).as("flushes reaching the socket for %d commands", commandsPerTick).isEqualTo(1);
            for (int i = 0; i < commandsPerTick; i++) {
                assertThat(replies.get(i)).isEqualTo("v" + i);
            }
            assertThat(onOtherThread).hasValue(0);
        }
    }

    @Test
    void coalescingHandlerSitsNextToTheSocket(RedisServer redis) {
        List<Channel> channels = new ArrayList<>();
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("pipeline").workers(1)
                .nettyCustomizer(new NettyCustomizer() {
                    @Override
                    public void afterChannelInitialized(Channel channel) {
                        synchronized (channels) {
                            channels.add(channel);
                        }
                    }
                }).build()) {
            assertThat(pool.commands().ping().block(TIMEOUT)).isEqualTo("PONG");
            synchronized (channels) {
                assertThat(channels).isNotEmpty();
                for (Channel channel : channels) {
                    assertThat(channel.pipeline().names().get(0)).isEqualTo(FlushCoalescing.HANDLER_NAME);
                }
            }
        }
    }

    @Test
    void callsOnOneWorkerAreSpreadOverItsSharedConnections(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("spread").workers(2)
                .sharedConnectionsPerWorker(2).build()) {
            List<Long> ids = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                ids.add(onLoop(pool.loops(), 0, () -> pool.commands().clientId()).value());
            }
            for (int i = 0; i < 4; i++) {
                names.add(onLoop(pool.loops(), 0, () -> pool.commands().clientGetname()).value());
            }
            // Round robin within worker 0: a, b, a, b.
            assertThat(new HashSet<>(ids)).hasSize(2);
            assertThat(ids.get(0)).isEqualTo(ids.get(2)).isNotEqualTo(ids.get(1));
            assertThat(new HashSet<>(names)).containsExactly("affinity-pool.spread.shared.w0");
            assertThat(pool.sharedConnections()).isEqualTo(4);
        }
    }

    /**
     * Lettuce stops reading a connection's socket while a subscriber of a reply has elements it did not request yet.
     * On a shared connection a slow reader of a large reply (a slow HTTP client streaming a list) would stall every
     * other caller of its worker until its own command timed out: the shared path buffers the reply instead.
     */
    @Test
    void aSlowReaderOfALargeReplyHoldsUpNeitherItsWorkerNorItself(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("slow-reader")
                .workers(1).commandTimeout(Duration.ofSeconds(2)).build()) {
            RedisReactiveCommands<String, String> commands = pool.commands();
            String[] values = new String[1000];
            Arrays.fill(values, "x".repeat(1000));
            for (int batch = 0; batch < 10; batch++) {
                commands.rpush("big", values).block(TIMEOUT); // 10 MB: many socket reads
            }
            List<String> received = new CopyOnWriteArrayList<>();
            CompletableFuture<Void> done = new CompletableFuture<>();
            BaseSubscriber<String> slow = new BaseSubscriber<>() {
                @Override
                protected void hookOnSubscribe(Subscription subscription) {
                    request(1);
                }

                @Override
                protected void hookOnNext(String value) {
                    received.add(value);
                }

                @Override
                protected void hookOnError(Throwable error) {
                    done.completeExceptionally(error);
                }

                @Override
                protected void hookOnComplete() {
                    done.complete(null);
                }
            };
            commands.lrange("big", 0, -1).subscribe(slow);
            await().atMost(TIMEOUT).until(() -> received.size() == 1);

            // Another caller of the same worker is answered while the reader still asks for nothing more (held up,
            // it would be answered only once the reader's command had timed out).
            assertThat(commands.set("other", "v").then(commands.get("other")).block(TIMEOUT)).isEqualTo("v");
            assertThat(done).isNotDone();
            assertThat(received).hasSize(1);
            // The reply was read whole meanwhile: the reader reads on later, without a timeout.
            slow.request(Long.MAX_VALUE);
            assertThat(done).succeedsWithin(TIMEOUT);
            assertThat(received).hasSize(10_000);
        }
    }

    @Test
    void fluxCommandsAreRoutedToo(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("flux").workers(2)
                .build()) {
            RedisReactiveCommands<String, String> commands = pool.commands();
            assertThat(commands.rpush("flux:list", "a", "b", "c").block(TIMEOUT)).isEqualTo(3L);
            Thread loop1 = loopThread(pool.loops(), 1);
            List<String> threads = Flux.defer(() -> commands.lrange("flux:list", 0, -1))
                    .map(value -> value + "@" + (Thread.currentThread() == loop1))
                    .subscribeOn(pool.loops().scheduler(1)).collectList().block(TIMEOUT);
            assertThat(threads).containsExactly("a@true", "b@true", "c@true");
            assertThat(commands.toString()).isEqualTo("RedisAffinityPool('flux').commands()");
        }
    }
}
