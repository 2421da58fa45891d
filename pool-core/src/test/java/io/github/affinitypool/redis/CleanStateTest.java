package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.clientLine;
import static io.github.affinitypool.redis.PoolFixtures.debugSleep;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.Stream;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.ArrayOutput;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolKeyword;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import io.github.affinitypool.core.CloseReason;

/**
 * A lease never hands the next borrower a dirty connection. One worker and max-open 1, so the next lease gets the same
 * connection (same CLIENT ID) when it was reset, and a new one when it had to be closed.
 */
class CleanStateTest extends PoolPerTest {

    CleanStateTest() {
        super(builder -> exclusive(builder, "clean", 1, 1, Duration.ofSeconds(1)));
    }

    @Test
    void cleanReleaseCostsNoRoundTrip() {
        RedisLease<String, String> lease = acquire();
        assertThat(lease.reactive().set("plain", "v").block(TIMEOUT)).isEqualTo("OK");
        long before = processedCommands();
        lease.release().block(TIMEOUT);
        // Only the INFO of the first count was processed in between: no DISCARD/UNWATCH/SELECT/PING on release.
        assertThat(processedCommands() - before).isEqualTo(1);
    }

    @Test
    void releaseTriggeredByTheReplyKeepsTheConnection() {
        // The release runs inside the reply's onComplete: the command must already count as done there.
        long first = pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT);
        long second = pool.acquire().flatMap(lease -> lease.reactive().clientId()
                .flatMap(id -> lease.release().thenReturn(id))).block(TIMEOUT);
        long third = pool.acquire().flatMap(lease -> Mono.fromCompletionStage(lease.async().clientId())
                .flatMap(id -> lease.release().thenReturn(id))).block(TIMEOUT);
        assertThat(second).isEqualTo(first);
        assertThat(third).isEqualTo(first);
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
    }

    @Test
    void openMultiIsDiscarded() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        assertThat(first.reactive().multi().block(TIMEOUT)).isEqualTo("OK");
        RedisFuture<String> queued = first.async().set("tx:key", "queued");
        assertThat(first.connection().isMulti()).isTrue();
        first.release().block(TIMEOUT);

        RedisLease<String, String> next = acquire();
        assertThat(clientId(next)).isEqualTo(id);
        assertThat(next.connection().isMulti()).isFalse();
        assertThat(next.reactive().get("tx:key").block(TIMEOUT)).isNull();
        assertThat(next.reactive().set("tx:key", "direct").block(TIMEOUT)).isEqualTo("OK");
        assertThat(queued.toCompletableFuture().isDone()).isTrue();
        next.release().block(TIMEOUT);
    }

    @Test
    void watchedKeysAreUnwatched() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        assertThat(first.reactive().watch("w:key").block(TIMEOUT)).isEqualTo("OK");
        first.release().block(TIMEOUT);
        // Another client changes the key the first lease watched.
        assertThat(pool.commands().set("w:key", "changed").block(TIMEOUT)).isEqualTo("OK");

        assertTheNextTransactionOnTheSameConnectionRuns(id);
    }

    @Test
    void selectedDatabaseIsSelectedBack() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        assertThat(first.reactive().select(3).block(TIMEOUT)).isEqualTo("OK");
        assertThat(first.reactive().set("sel:key", "in-3").block(TIMEOUT)).isEqualTo("OK");
        first.release().block(TIMEOUT);

        RedisLease<String, String> next = acquire();
        assertThat(clientId(next)).isEqualTo(id);
        assertThat(next.reactive().clientInfo().block(TIMEOUT)).contains(" db=0 ");
        assertThat(next.reactive().get("sel:key").block(TIMEOUT)).isNull();
        next.release().block(TIMEOUT);
        assertThat(redis.info("keyspace")).containsKey("db3").doesNotContainKey("db0");
    }

    @Test
    void autoFlushIsTurnedBackOn() throws Exception {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        setWithAutoFlushOff(first, "af:key");
        first.release().block(TIMEOUT); // auto-flush still off

        RedisLease<String, String> next = acquire();
        // Would time out (1 s) if auto-flush were still off.
        assertThat(next.reactive().get("af:key").block(TIMEOUT)).isEqualTo("v");
        assertThat(clientId(next)).isEqualTo(id);
        next.release().block(TIMEOUT);
    }

    @Test
    void aLeaseThatTurnedAutoFlushOnAgainIsCleanedInsideMultiAndKept() throws Exception {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        setWithAutoFlushOff(first, "af:again");
        first.connection().setAutoFlushCommands(true); // a pipeline, done
        assertThat(first.reactive().multi().block(TIMEOUT)).isEqualTo("OK");
        RedisFuture<Long> queued = first.async().incr("af:queued"); // in flight until EXEC or DISCARD
        first.release().block(TIMEOUT);

        RedisLease<String, String> next = acquire();
        assertThat(clientId(next)).isEqualTo(id);
        assertThat(next.connection().isMulti()).isFalse();
        assertThat(next.reactive().get("af:queued").block(TIMEOUT)).isNull();
        assertThat(queued.toCompletableFuture().isDone()).isTrue();
        next.release().block(TIMEOUT);
    }

    /** Turns auto-flush off, sets {@code key} to "v", flushes, and waits for the reply. */
    private static void setWithAutoFlushOff(RedisLease<String, String> lease, String key) throws Exception {
        lease.connection().setAutoFlushCommands(false);
        RedisFuture<String> set = lease.async().set(key, "v");
        lease.connection().flushCommands();
        assertThat(set.get(5, TimeUnit.SECONDS)).isEqualTo("OK");
    }

    @Test
    void commandsTheLeaseLeftUnflushedAreNeverSentAndTheConnectionIsClosed() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        first.connection().setAutoFlushCommands(false);
        RedisFuture<String> unflushed = first.async().set("af:unflushed", "v");
        // Abandoned half-built: the caller never sent it, so the release must not either.
        first.release().block(TIMEOUT);

        // Once Redis has seen the connection close, it has read everything ever written on it.
        await().atMost(TIMEOUT).until(() -> clientLine(redis, id).isEmpty());
        assertThat(redis.command("EXISTS", "af:unflushed")).isEqualTo("0");
        assertThat(pool.stats().total().closedByReason()).containsEntry(CloseReason.RESET_FAILED, 1L);
        await().atMost(TIMEOUT).until(() -> unflushed.toCompletableFuture().isDone());
        assertThat(unflushed.toCompletableFuture()).isCompletedExceptionally();
        RedisLease<String, String> next = acquire();
        assertThat(clientId(next)).isNotEqualTo(id);
        next.release().block(TIMEOUT);
    }

    @Test
    void aChangedTimeoutIsThePoolsAgainForTheNextLease() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        first.reactive().setTimeout(Duration.ofSeconds(5));
        // Longer than the pool's 1 s: the lease's 5 s applied.
        assertThat(debugSleep(first.reactive(), "1.2").block(TIMEOUT)).isEqualTo("OK");
        first.release().block(TIMEOUT);

        RedisLease<String, String> next = acquire();
        assertThat(clientId(next)).isEqualTo(id);
        assertThat(next.connection().getTimeout()).isEqualTo(Duration.ofSeconds(1));
        StepVerifier.create(debugSleep(next.reactive(), "1.2"))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(RedisCommandTimeoutException.class)
                        .hasMessage("DEBUG. Command timed out after 1 second(s)"))
                .verify(TIMEOUT);
        next.release().block(TIMEOUT);
    }

    @Test
    void cancelledWithACommandInFlightIsClosed() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        Disposable blocked = first.reactive().blpop(0, "never:filled").subscribe();
        awaitBlockedClients(1);
        blocked.dispose();
        first.release().block(TIMEOUT);

        RedisLease<String, String> next = acquireNewConnection(id);
        // A new connection: nothing answers the abandoned BLPOP in place of this command.
        assertThat(next.reactive().rpush("never:filled", "x").block(TIMEOUT)).isEqualTo(1L);
        assertThat(next.reactive().lrange("never:filled", 0, -1).collectList().block(TIMEOUT)).containsExactly("x");
        next.release().block(TIMEOUT);
        awaitBlockedClients(0);
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isEqualTo(1L);
    }

    /**
     * A lease's next command is being dispatched on the connection's loop (the reply to the one before it came in)
     * while its subscriber cancels from another thread. Reactor may hold the cancel back until that dispatch has
     * returned, so the release must not judge the connection before the dispatch is done, and a command dispatched
     * after the release must never reach the connection.
     */
    @Test
    void aCommandDispatchedWhileTheLeaseIsCancelledOffItsLoopNeverReachesTheNextLease() throws Exception {
        CountDownLatch dispatching = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        // MULTI, spelled as Lettuce spells it, so that Lettuce opens its transaction state when it dispatches it. The
        // pool reads its name as the lease dispatches it: the first time, the loop stops there (as a thread preempted
        // there would) until the test lets it go on.
        ProtocolKeyword multi = new ProtocolKeyword() {

            private final AtomicBoolean stopped = new AtomicBoolean();

            @Override
            public byte[] getBytes() {
                if (stopped.compareAndSet(false, true)) {
                    dispatching.countDown();
                    try {
                        proceed.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                    }
                    catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                }
                return "MULTI".getBytes(StandardCharsets.US_ASCII);
            }

            @Override
            public String toString() {
                return "MULTI";
            }
        };
        Disposable lease = pool.withConnection(c -> c.echo("first")
                .then(c.dispatch(multi, new StatusOutput<>(StringCodec.UTF8)).next())).subscribe();
        assertThat(dispatching.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

        Thread canceller = new Thread(lease::dispose, "canceller");
        canceller.start();
        // Either the cancel released the lease at once, or its release waits for the dispatch under way.
        await().atMost(TIMEOUT).until(() -> pool.stats().total().acquired() == 0
                || canceller.getState() == Thread.State.BLOCKED);
        proceed.countDown();
        canceller.join(TIMEOUT.toMillis());
        await().atMost(TIMEOUT).until(() -> pool.stats().total().acquired() == 0);

        // The next lease's connection is not in a transaction, neither in Lettuce nor in Redis, and its commands are
        // answered with their own replies (a command Lettuce queues in a transaction waits for an EXEC: 1 s timeout).
        RedisLease<String, String> next = acquire();
        try {
            assertThat(next.connection().isMulti()).as("Lettuce's isMulti()").isFalse();
            assertThat(next.reactive().echo("second").block(TIMEOUT)).isEqualTo("second");
            assertThat(next.reactive().clientInfo().block(TIMEOUT)).contains(" db=0 ").contains(" multi=-1 ");
        }
        finally {
            next.release().block(TIMEOUT);
        }
        assertThat(pool.stats().total().acquired()).isZero();
    }

    @Test
    void aLeaseEndsWhenItsReleaseIsSubscribedToNotWhenItIsAssembled() {
        RedisLease<String, String> lease = acquire();
        // The idiom: release() is called while the chain is assembled, before SET is sent.
        String reply = lease.reactive().set("lease:chained", "v").then(lease.release())
                .then(pool.commands().get("lease:chained")).block(TIMEOUT);
        assertThat(reply).isEqualTo("v");
        StepVerifier.create(lease.reactive().get("lease:chained")).expectError(IllegalStateException.class)
                .verify(TIMEOUT);
        assertThat(pool.stats().total().acquired()).isZero();
    }

    @Test
    void aLeaseFromAcquireRefusesCommandsAndControlsAfterItsRelease() {
        RedisLease<String, String> lease = acquire();
        RedisReactiveCommands<String, String> reactive = lease.reactive();
        assertThat(reactive.ping().block(TIMEOUT)).isEqualTo("PONG");
        lease.release().block(TIMEOUT);

        StepVerifier.create(reactive.set("lease:late", "x"))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(IllegalStateException.class)
                        .hasMessage("SET was issued after the lease had ended; issue every command of a lease before "
                                + "its release (with withConnection(...), before the publisher your function returns "
                                + "completes)"))
                .verify(TIMEOUT);
        assertThat(lease.async().incr("lease:late-incr").toCompletableFuture()).isCompletedExceptionally();
        assertThatThrownBy(() -> lease.connection().setAutoFlushCommands(false))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("setAutoFlushCommands was issued after the lease had ended");
        // Closing is no longer the holder's to decide: the connection went back to the pool, and stays open there.
        assertThatThrownBy(() -> lease.connection().close()).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("close was issued after the lease had ended");
        assertThat(lease.connection().closeAsync()).isCompletedExceptionally();
        assertThat(pool.stats().total().idle()).isOne();
        assertThat(lease.pooled().isOpen()).isTrue();
        assertThat(pool.commands().exists("lease:late", "lease:late-incr").block(TIMEOUT)).isZero();
    }

    @Test
    void timedOutCommandIsClosed() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        redis.pause();
        try {
            StepVerifier.create(first.reactive().get("frozen"))
                    .expectError(RedisCommandTimeoutException.class)
                    .verify(TIMEOUT);
        }
        finally {
            redis.resume();
        }
        first.release().block(TIMEOUT);

        RedisLease<String, String> next = acquireNewConnection(id);
        assertThat(next.reactive().ping().block(TIMEOUT)).isEqualTo("PONG");
        next.release().block(TIMEOUT);
    }

    @Test
    void cancelledAsyncCommandIsClosed() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        CompletableFuture<?> pending = first.async().blpop(0, "never:filled").toCompletableFuture();
        awaitBlockedClients(1);
        pending.cancel(true);
        first.release().block(TIMEOUT);

        acquireNewConnection(id).release().block(TIMEOUT);
        awaitBlockedClients(0);
    }

    @Test
    void aLeaseThatEnteredSubscribeModeIsClosed() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        // Lettuce's command API has no SUBSCRIBE on a plain connection; dispatch sends it all the same.
        Disposable subscribe = first.reactive().dispatch(CommandType.SUBSCRIBE, new StatusOutput<>(StringCodec.UTF8),
                new CommandArgs<>(StringCodec.UTF8).addKey("lease:channel")).subscribe();
        await().atMost(Duration.ofSeconds(5)).until(() -> clientLine(redis, id).contains(" sub=1 "));
        assertThat(redis.command("PUBSUB", "NUMSUB", "lease:channel")).isEqualTo("lease:channel\n1");
        first.release().block(TIMEOUT);
        subscribe.dispose();

        RedisLease<String, String> next = acquireNewConnection(id);
        assertThat(next.reactive().clientInfo().block(TIMEOUT)).contains(" flags=N ").contains(" sub=0 ");
        assertThat(next.reactive().set("after:subscribe", "v").block(TIMEOUT)).isEqualTo("OK");
        assertThat(next.reactive().get("after:subscribe").block(TIMEOUT)).isEqualTo("v");
        next.release().block(TIMEOUT);
        // The subscribed connection is gone from the server, and with it the subscription.
        await().atMost(Duration.ofSeconds(5)).until(() -> clientLine(redis, id).isEmpty());
        assertThat(redis.command("PUBSUB", "NUMSUB", "lease:channel")).isEqualTo("lease:channel\n0");
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isEqualTo(1L);
        assertThat(pool.stats().total().acquired()).isZero();
        assertThat(pool.stats().total().open()).isEqualTo(1);
    }

    /**
     * A command after which the pool cannot trust the connection.
     *
     * @param command the command as the test names it
     * @param since the Redis version that has it
     * @param call the call on a lease's commands
     * @param reply part of the reply Redis gives to it
     */
    record StateChange(String command, String since, LeaseCall call, String reply) {

        @Override
        public String toString() {
            return command;
        }
    }

    static Stream<StateChange> stateThePoolCannotUndo() {
        return Stream.of(
                new StateChange("CLIENT TRACKING ON", "6.0", c -> c.clientTracking(TrackingArgs.Builder.enabled()),
                        "OK"),
                new StateChange("CLIENT TRACKING ON, the sub-command added as a value", "6.0", c -> c.dispatch(
                        CommandType.CLIENT, new StatusOutput<>(StringCodec.UTF8),
                        new CommandArgs<>(StringCodec.UTF8).addValue("TRACKING").add("ON")), "OK"),
                new StateChange("CLIENT NO-EVICT ON", "7.0", c -> c.clientNoEvict(true), "OK"),
                new StateChange("CLIENT SETNAME", "2.6.9", c -> c.clientSetname("renamed"), "OK"),
                new StateChange("SCRIPT DEBUG YES", "3.2", c -> c.dispatch(CommandType.SCRIPT,
                        new StatusOutput<>(StringCodec.UTF8),
                        new CommandArgs<>(StringCodec.UTF8).add("DEBUG").add("YES")), "OK"),
                // Lettuce's isMulti() does not notice a MULTI whose keyword is spelled otherwise.
                new StateChange("MULTI sent as 'multi'", "1.2", c -> c.dispatch(PoolFixtures.keyword("multi"),
                        new StatusOutput<>(StringCodec.UTF8)), "OK"),
                // Redis ends the connection after its reply.
                new StateChange("QUIT", "1.0", RedisReactiveCommands::quit, "OK"),
                // Drops the handshake's state: database, name, protocol back to RESP2.
                new StateChange("RESET", "6.2", c -> c.dispatch(PoolFixtures.keyword("RESET"),
                        new StatusOutput<>(StringCodec.UTF8)), "RESET"),
                // Renegotiates the protocol and may change the connection's credentials.
                new StateChange("HELLO 3 SETNAME", "6.0", c -> c.dispatch(CommandType.HELLO,
                        new ArrayOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).add(3)
                                .add("SETNAME").add("hello")).map(String::valueOf), "proto, 3"),
                // Refused by a server without cluster support, yet the pool cannot know that from the command.
                new StateChange("READONLY", "3.0", c -> c.readOnly()
                        .onErrorResume(error -> Mono.just(String.valueOf(error.getMessage()))),
                        "cluster support disabled"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stateThePoolCannotUndo")
    void connectionStateThePoolCannotUndoIsClosed(StateChange change) {
        redis.assumeVersionAtLeast(change.since(), change.command());
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        assertThat(Flux.from(change.call().apply(first.reactive())).blockLast(TIMEOUT)).contains(change.reply());
        first.release().block(TIMEOUT);

        RedisLease<String, String> next = acquireNewConnection(id);
        String info = next.reactive().clientInfo().block(TIMEOUT);
        assertThat(info).contains(" flags=N ").contains(" multi=-1 ").contains(" name=affinity-pool.clean.w0 ");
        assertThat(next.reactive().set("after", "v").block(TIMEOUT)).isEqualTo("OK");
        next.release().block(TIMEOUT);
    }

    @Test
    void anExecOrDiscardWithoutMultiLeavesTheKeysWatchedSoTheReleaseUnwatchesThem() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        assertThat(first.reactive().watch("w:key").block(TIMEOUT)).isEqualTo("OK");
        StepVerifier.create(first.reactive().discard()).expectErrorMessage("ERR DISCARD without MULTI").verify(TIMEOUT);
        StepVerifier.create(first.reactive().exec()).expectErrorMessage("ERR EXEC without MULTI").verify(TIMEOUT);
        first.release().block(TIMEOUT);
        assertThat(pool.commands().set("w:key", "changed").block(TIMEOUT)).isEqualTo("OK");

        assertTheNextTransactionOnTheSameConnectionRuns(id);
    }

    @Test
    void aTransactionLettuceForgotAfterANestedMultiFailedIsStillDiscarded() throws Exception {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        RedisFuture<String> multi = first.async().multi();
        RedisFuture<String> nested = first.async().multi();
        assertThat(multi.get(5, TimeUnit.SECONDS)).isEqualTo("OK");
        assertThatThrownBy(() -> nested.get(5, TimeUnit.SECONDS)).hasMessageContaining("MULTI calls can not be nested");
        // Lettuce forgets the transaction when a MULTI fails; Redis still has it open.
        assertThat(first.connection().isMulti()).isFalse();
        first.release().block(TIMEOUT);

        RedisLease<String, String> next = acquire();
        assertThat(clientId(next)).isEqualTo(id);
        assertThat(next.reactive().clientInfo().block(TIMEOUT)).contains(" multi=-1 ");
        assertThat(next.reactive().set("after:nested", "v").block(TIMEOUT)).isEqualTo("OK");
        assertThat(next.reactive().get("after:nested").block(TIMEOUT)).isEqualTo("v");
        next.release().block(TIMEOUT);
    }

    @Test
    void aWatchSentBeforeAnEarlierUnwatchWasAnsweredIsStillUnwatched() throws Exception {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        // Pipelined: the WATCH is sent before the UNWATCH's reply arrives, and the UNWATCH clears only earlier ones.
        RedisFuture<String> unwatch = first.async().unwatch();
        RedisFuture<String> watch = first.async().watch("w:key");
        assertThat(unwatch.get(5, TimeUnit.SECONDS)).isEqualTo("OK");
        assertThat(watch.get(5, TimeUnit.SECONDS)).isEqualTo("OK");
        first.release().block(TIMEOUT);
        assertThat(pool.commands().set("w:key", "changed").block(TIMEOUT)).isEqualTo("OK");

        assertTheNextTransactionOnTheSameConnectionRuns(id);
    }

    /**
     * Another client changed w:key since the previous lease watched it: the transaction runs only if it was unwatched.
     */
    private void assertTheNextTransactionOnTheSameConnectionRuns(long id) {
        RedisLease<String, String> next = acquire();
        assertThat(clientId(next)).isEqualTo(id);
        next.reactive().multi().block(TIMEOUT);
        next.reactive().set("w:key", "mine").subscribe();
        TransactionResult result = next.reactive().exec().block(TIMEOUT);
        assertThat(result.wasDiscarded()).isFalse();
        assertThat(next.reactive().get("w:key").block(TIMEOUT)).isEqualTo("mine");
        next.release().block(TIMEOUT);
    }

    /** A call on a lease's commands. */
    interface LeaseCall extends Function<RedisReactiveCommands<String, String>, Publisher<String>> {
    }

    @Test
    void errorRepliesLeaveTheConnectionReusable() {
        RedisLease<String, String> first = acquire();
        long id = clientId(first);
        assertThat(first.reactive().set("str", "v").block(TIMEOUT)).isEqualTo("OK");
        StepVerifier.create(first.reactive().lpush("str", "x")).expectErrorMessage(
                "WRONGTYPE Operation against a key holding the wrong kind of value").verify(TIMEOUT);
        first.release().block(TIMEOUT);

        RedisLease<String, String> next = acquire();
        assertThat(clientId(next)).isEqualTo(id);
        next.release().block(TIMEOUT);
    }

    private RedisLease<String, String> acquire() {
        return pool.acquire().block(TIMEOUT);
    }

    /** @return a lease on a different connection than the one with CLIENT ID {@code previousId} */
    private RedisLease<String, String> acquireNewConnection(long previousId) {
        RedisLease<String, String> next = acquire();
        assertThat(clientId(next)).as("CLIENT ID of the next lease").isNotEqualTo(previousId);
        return next;
    }

    private void awaitBlockedClients(int count) {
        await().atMost(Duration.ofSeconds(5))
                .until(() -> String.valueOf(count).equals(redis.info("clients").get("blocked_clients")));
    }

    private static long clientId(RedisLease<String, String> lease) {
        return lease.reactive().clientId().block(TIMEOUT);
    }

    private long processedCommands() {
        return Long.parseLong(redis.info("stats").get("total_commands_processed"));
    }
}
