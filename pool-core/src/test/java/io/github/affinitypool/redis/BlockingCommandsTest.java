package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.debugSleep;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.stream.Stream;

import io.lettuce.core.Consumer;
import io.lettuce.core.KeyValue;
import io.lettuce.core.LMPopArgs;
import io.lettuce.core.LMoveArgs;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.XReadArgs.StreamOffset;
import io.lettuce.core.ZPopArgs;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.KeyValueOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.CloseReason;

/**
 * Blocking commands called on {@code commands()} run transparently on an exclusive lease of the caller's worker: they
 * block only that connection, their timeout covers their block time, and a cancelled one closes its connection.
 * <p>
 * And the command timeout itself (300 ms here): a lease that sets its own with {@code setTimeout} gets it for its
 * commands, a blocking one its block time on top. Each timeout is read off the message of Lettuce's
 * {@link RedisCommandTimeoutException}, which names it. That the next borrower gets the pool's timeout again:
 * {@code CleanStateTest}.
 */
class BlockingCommandsTest extends PoolPerTest {

    BlockingCommandsTest() {
        super(builder -> builder.name("blocking").workers(2).poolConfig(AffinityPoolConfig.builder().maxOpen(4).build())
                .commandTimeout(Duration.ofMillis(300)));
    }

    @Test
    void blpopOnCommandsWaitsOnALeaseOfTheCallersWorkerWhileTheSharedPathGoesOn() throws Exception {
        CompletableFuture<String> popped = new CompletableFuture<>();
        pool.loops().loop(1).execute(() -> pool.commands().blpop(0, "queue")
                .subscribe(kv -> popped.complete(kv.getValue() + "@" + Thread.currentThread().getName()),
                        popped::completeExceptionally));
        awaitBlockedClients(1);
        assertThat(pool.stats().workers().get(1).acquired()).isEqualTo(1);

        // The shared connections are not blocked.
        assertThat(pool.commands().rpush("queue", "job").block(TIMEOUT)).isEqualTo(1L);

        assertThat(popped.get(10, TimeUnit.SECONDS)).isEqualTo("job@" + loopThread(pool.loops(), 1).getName());
        await().atMost(TIMEOUT).untilAsserted(() -> assertThat(pool.stats().total().acquired()).isZero());
        // Released clean and kept: the blocking command completed.
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
        assertThat(pool.stats().workers().get(1).idle()).isEqualTo(1);
    }

    /** A blocking command besides BLPOP, the Redis version that has it, and the command that unblocks it. */
    record Variant(String command, String since, Function<RedisReactiveCommands<String, String>, Publisher<?>> block,
            Function<RedisReactiveCommands<String, String>, Publisher<?>> feed) {

        @Override
        public String toString() {
            return command;
        }
    }

    static Stream<Variant> blockingVariants() {
        return Stream.of(
                new Variant("BRPOPLPUSH", "2.2", c -> c.brpoplpush(0, "variant:src", "variant:dst"),
                        c -> c.rpush("variant:src", "v")),
                new Variant("BLMOVE", "6.2",
                        c -> c.blmove("variant:src", "variant:dst", LMoveArgs.Builder.leftRight(), 0),
                        c -> c.rpush("variant:src", "v")),
                new Variant("BLMPOP", "7.0", c -> c.blmpop(0, LMPopArgs.Builder.left(), "variant:src"),
                        c -> c.rpush("variant:src", "v")),
                new Variant("BZMPOP", "7.0", c -> c.bzmpop(0, ZPopArgs.Builder.min(), "variant:zset"),
                        c -> c.zadd("variant:zset", 1.0, "v")),
                new Variant("XREADGROUP BLOCK", "5.0",
                        c -> c.xgroupCreate(StreamOffset.from("variant:stream", "$"), "group",
                                XGroupCreateArgs.Builder.mkstream()).thenMany(c.xreadgroup(Consumer.from("group", "c"),
                                XReadArgs.Builder.block(Duration.ZERO), StreamOffset.lastConsumed("variant:stream"))),
                        c -> c.xadd("variant:stream", "k", "v")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("blockingVariants")
    void everyBlockingVariantOnCommandsWaitsOnALeaseAndKeepsItClean(Variant variant) throws Exception {
        redis.assumeVersionAtLeast(variant.since(), variant.command());
        CompletableFuture<Long> answers = Flux.from(variant.block().apply(pool.commands())).count().toFuture();
        awaitBlockedClients(1);
        assertThat(pool.stats().total().acquired()).isEqualTo(1);

        Flux.from(variant.feed().apply(pool.commands())).blockLast(TIMEOUT);

        assertThat(answers.get(10, TimeUnit.SECONDS)).isEqualTo(1L);
        await().atMost(TIMEOUT).untilAsserted(() -> assertThat(pool.stats().total().acquired()).isZero());
        // Answered, so released clean and kept, not closed.
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
    }

    @Test
    void aBlockTimeLongerThanTheCommandTimeoutIsNotCutOff() {
        // Command timeout 300 ms, BLPOP blocks up to 1 s: answered (empty) by Redis, not timed out by the client.
        StepVerifier.create(pool.commands().blpop(1, "empty")).verifyComplete();
        StepVerifier.create(pool.commands().xread(XReadArgs.Builder.block(Duration.ofMillis(700)),
                StreamOffset.latest("no-stream"))).verifyComplete();
    }

    @Test
    void aCancelledBlockingCommandClosesItsConnection() {
        Disposable waiting = pool.commands().brpop(0, "never").subscribe();
        awaitBlockedClients(1);
        waiting.dispose();

        awaitBlockedClients(0);
        await().atMost(TIMEOUT).untilAsserted(() -> {
            assertThat(pool.stats().total().acquired()).isZero();
            assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isEqualTo(1L);
        });
        // Nothing consumed what arrives later in place of the abandoned BRPOP.
        assertThat(pool.commands().rpush("never", "x").block(TIMEOUT)).isEqualTo(1L);
        assertThat(pool.commands().lrange("never", 0, -1).collectList().block(TIMEOUT)).containsExactly("x");
    }

    @Test
    void xreadWithBlockWaitsForTheNextEntry() throws Exception {
        CompletableFuture<List<StreamMessage<String, String>>> read = pool.commands()
                .xread(XReadArgs.Builder.block(Duration.ZERO), StreamOffset.latest("events"))
                .collectList().toFuture();
        awaitBlockedClients(1);
        pool.commands().xadd("events", "type", "created").block(TIMEOUT);
        List<StreamMessage<String, String>> entries = read.get(10, TimeUnit.SECONDS);
        assertThat(entries).hasSize(1);
        assertThat(entries.get(0).getBody()).containsEntry("type", "created");
    }

    @Test
    void dispatchedBlockingCommandsRunOnALeaseToo() {
        pool.commands().rpush("dispatched", "a").block(TIMEOUT);
        CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8).addKey("dispatched").add(1);
        Object popped = pool.commands()
                .dispatch(CommandType.BLPOP, new KeyValueOutput<String, String>(StringCodec.UTF8), args)
                .blockFirst(TIMEOUT);
        assertThat(popped).isEqualTo(KeyValue.just("dispatched", "a"));
        assertThat(pool.stats().total().misses()).isEqualTo(1); // an exclusive connection was opened for it
    }

    /** Every way a lease's borrower can reach {@code setTimeout}. */
    static Stream<Arguments> waysToSetALeasesTimeout() {
        return Stream.of(
                Arguments.of("reactive()", (TimeoutSetter) (lease, timeout) -> lease.reactive().setTimeout(timeout)),
                Arguments.of("async()", (TimeoutSetter) (lease, timeout) -> lease.async().setTimeout(timeout)),
                Arguments.of("connection()",
                        (TimeoutSetter) (lease, timeout) -> lease.connection().setTimeout(timeout)),
                Arguments.of("reactive().getStatefulConnection()", (TimeoutSetter) (lease, timeout) ->
                        lease.reactive().getStatefulConnection().setTimeout(timeout)),
                Arguments.of("async().getStatefulConnection()", (TimeoutSetter) (lease, timeout) ->
                        lease.async().getStatefulConnection().setTimeout(timeout)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("waysToSetALeasesTimeout")
    void aLeaseThatRaisedItsTimeoutRunsACommandLongerThanThePoolsTimeout(String way, TimeoutSetter setTimeout) {
        awaitSharedConnections();
        RedisLease<String, String> lease = pool.acquire().block(TIMEOUT);
        setTimeout.accept(lease, Duration.ofSeconds(5));
        assertThat(lease.connection().getTimeout()).isEqualTo(Duration.ofSeconds(5));
        // 600 ms, twice the pool's command timeout.
        assertThat(debugSleep(lease.reactive(), "0.6").block(TIMEOUT)).isEqualTo("OK");
        lease.release().block(TIMEOUT);
        // Nothing timed out, so the connection was kept.
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
    }

    @Test
    void aLeaseThatLoweredItsTimeoutTimesOutAtIt() {
        awaitSharedConnections();
        StepVerifier.create(pool.withConnection(c -> {
            c.setTimeout(Duration.ofMillis(100));
            return debugSleep(c, "0.6");
        })).expectErrorSatisfies(error -> assertThat(error).isInstanceOf(RedisCommandTimeoutException.class)
                .hasMessage("DEBUG. Command timed out after 100 millisecond(s)")).verify(TIMEOUT);
    }

    @Test
    void aBlockingCommandOnALeaseGetsItsBlockTimeOnTopOfTheLeasesTimeout() {
        awaitSharedConnections();
        RedisLease<String, String> lease = pool.acquire().block(TIMEOUT);
        lease.reactive().setTimeout(Duration.ofMillis(100));
        redis.pause();
        try {
            // Nothing answers: BLPOP times out after its 200 ms block time plus the lease's 100 ms.
            StepVerifier.create(lease.reactive().blpop(0.2, "empty"))
                    .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(RedisCommandTimeoutException.class)
                            .hasMessage("BLPOP. Command timed out after 300 millisecond(s)"))
                    .verify(TIMEOUT);
        }
        finally {
            redis.resume();
        }
        lease.release().block(TIMEOUT);
    }

    @Test
    void aRaisedTimeoutCoversTheCommandsQueuedInATransaction() {
        awaitSharedConnections();
        // A queued command completes only with EXEC's reply, so its timeout runs until then; Lettuce wraps it.
        TransactionResult result = pool.transaction(c -> {
            c.setTimeout(Duration.ofSeconds(5));
            return debugSleep(c, "0.6");
        }).block(TIMEOUT);
        assertThat(result.wasDiscarded()).isFalse();
        assertThat((Object) result.get(0)).isEqualTo("OK");
        await().atMost(TIMEOUT).untilAsserted(() -> assertThat(pool.stats().total().acquired()).isZero());
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
    }

    /** Sets a lease's timeout one way. */
    interface TimeoutSetter extends BiConsumer<RedisLease<String, String>, Duration> {
    }

    /**
     * Waits for the shared connections the pool opens when it is built: a server frozen (DEBUG SLEEP, pause) during
     * their handshake would time it out, and they would reconnect, logging a warning.
     */
    private void awaitSharedConnections() {
        await().atMost(TIMEOUT).until(() -> pool.sharedStats().open() == 2);
    }

    private void awaitBlockedClients(int count) {
        await().atMost(Duration.ofSeconds(5))
                .until(() -> String.valueOf(count).equals(redis.info("clients").get("blocked_clients")));
    }
}
