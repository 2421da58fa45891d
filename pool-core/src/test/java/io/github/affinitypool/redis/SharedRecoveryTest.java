package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static io.github.affinitypool.redis.PoolFixtures.onLoop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.Locality;
import io.github.affinitypool.core.PoolClosedException;
import io.github.affinitypool.core.RecordingListener;
import io.github.affinitypool.core.WorkerLoops;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/**
 * A shared connection is replaced after Redis restarts; a frozen Redis fails commands instead of hanging them, and a
 * connection that does not answer the health check a timeout starts is replaced too.
 */
@RedisTest(perMethod = true)
class SharedRecoveryTest {

    @Test
    void brokenSharedConnectionIsReplacedOnTheSameWorker(RedisServer redis) {
        RecordingListener listener = new RecordingListener();
        RedisAffinityPool<String, String> closedPool;
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("replace").workers(2)
                .sharedListener(listener).build()) {
            closedPool = pool;
            onLoop(pool.loops(), 0, () -> pool.commands().clientId());
            onLoop(pool.loops(), 1, () -> pool.commands().clientId());
            List<StatefulRedisConnection<String, String>> before = pool.openSharedConnections();
            assertThat(before).hasSize(2);
            assertThat(pool.sharedStats()).isEqualTo(new SharedStats(1,
                    List.of(new SharedStats.Worker(0, 1, 0, 0), new SharedStats.Worker(1, 1, 0, 0))));
            assertThat(listener.events).containsExactlyInAnyOrder("opened 0", "opened 1");

            redis.kill();

            // While Redis is down every call fails with a clear error; nothing hangs. A call that hung could only end
            // by its command timeout (RedisCommandTimeoutException) or by failureOnLoop's own TIMEOUT (not a
            // RedisException): asserting why it failed proves it did not wait, whatever the machine's load.
            for (int i = 0; i < 5; i++) {
                Throwable error = failureOnLoop(pool, 0);
                assertThat(error).isInstanceOf(RedisException.class)
                        .isNotInstanceOf(RedisCommandTimeoutException.class);
                // Either the command was written before the loss was noticed (connection ... lost: ...), or the
                // reconnect was refused (shared connection ... is unavailable: Connection refused ...).
                if (error instanceof RedisPoolConnectionException && !error.getMessage().startsWith(
                        "Redis pool 'replace' (worker 0): connection to redis://127.0.0.1:" + redis.port()
                                + " lost: ")) {
                    assertThat(error)
                            .hasMessageStartingWith("Redis pool 'replace' (worker 0): shared connection to "
                                    + "redis://127.0.0.1:" + redis.port() + " is unavailable: ")
                            .hasMessageContaining("Connection refused");
                }
            }

            // Worker 0's connection was found broken and its reconnect refused; worker 1's is not known to be broken
            // until a call needs it.
            assertThat(listener.events).containsExactlyInAnyOrder("opened 0", "opened 1", "closed 0 UNUSABLE");
            SharedStats.Worker down = pool.sharedStats().workers().get(0);
            assertThat(down.open()).isZero();
            assertThat(down.allocated() + down.unavailable()).as("%s", down).isEqualTo(1);

            redis.start();

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(onLoop(pool.loops(), 0, () -> pool.commands().ping()).value()).isEqualTo("PONG");
                assertThat(onLoop(pool.loops(), 1, () -> pool.commands().ping()).value()).isEqualTo("PONG");
            });
            assertThat(onLoop(pool.loops(), 0, () -> pool.commands().clientId()).thread())
                    .isSameAs(loopThread(pool.loops(), 0));
            assertThat(pool.openSharedConnections()).hasSize(2).doesNotContainAnyElementsOf(before);
            assertThat(before).noneMatch(StatefulRedisConnection::isOpen);
            assertThat(onLoop(pool.loops(), 0, () -> pool.commands().clientGetname()).value())
                    .isEqualTo("affinity-pool.replace.shared.w0");
            // One shared connection per worker, nothing left over from the reconnect attempts.
            assertThat(redis.clientNames("affinity-pool.replace.")).containsExactlyInAnyOrder(
                    "affinity-pool.replace.shared.w0", "affinity-pool.replace.shared.w1");
            assertThat(pool.sharedStats().open()).isEqualTo(2);
            assertThat(listener.events).containsExactlyInAnyOrder("opened 0", "opened 1", "closed 0 UNUSABLE",
                    "closed 1 UNUSABLE", "opened 0", "opened 1");
            listener.events.clear();
        }
        assertThat(listener.events).containsExactlyInAnyOrder("closed 0 POOL_CLOSED", "closed 1 POOL_CLOSED");
        assertThat(closedPool.sharedStats().open()).isZero();
        // Not a connection error, which a retry would keep trying: the pool will never serve again.
        assertThatThrownBy(() -> closedPool.commands().ping().block(TIMEOUT)).isInstanceOf(PoolClosedException.class)
                .hasMessage("Redis pool 'replace' is closed");
    }

    @Test
    void aSuccessfulExclusiveConnectEndsTheSharedConnectionsBackOff(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("backoff").workers(1)
                .build()) {
            assertTheBackOffOfWorker0EndsWith(redis, pool,
                    () -> assertThat(pool.withConnection(commands -> commands.ping()).blockFirst(TIMEOUT))
                            .isEqualTo("PONG"));
        }
    }

    @Test
    void anotherWorkersSharedReconnectEndsTheBackOffToo(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("backoff").workers(2)
                .build()) {
            // Worker 1's connection broke as well, but no call came there during the outage: its reconnect follows no
            // failed one of its own, and still tells that Redis is back.
            assertTheBackOffOfWorker0EndsWith(redis, pool,
                    () -> assertThat(onLoop(pool.loops(), 1, () -> pool.commands().ping()).value()).isEqualTo("PONG"));
        }
    }

    /**
     * Makes worker 0's shared connection back off at its cap while Redis is back, then has {@code connect} open a
     * connection of the pool, and checks that worker 0 is served before its back-off would have run out.
     */
    private static void assertTheBackOffOfWorker0EndsWith(RedisServer redis, RedisAffinityPool<String, String> pool,
            Runnable connect) {
        onLoop(pool.loops(), 0, () -> pool.commands().ping());
        AtomicLong backOffMillis = new AtomicLong();
        AtomicLong measuredAt = new AtomicLong();
        // The premise, established with Redis already back: the shared connection is still backing off, so a call
        // fails at once without trying to connect. Measured after redis.start(), which spawns a process and waits
        // for it to answer (a slow step on a loaded machine), so that only the connect and the shared call fall in
        // the window compared with the back-off below. Should the back-off run out while Redis starts (the probe
        // then reconnects and is served), the outage is simply made again.
        for (int attempt = 1; backOffMillis.get() < 500; attempt++) {
            assertThat(attempt).as("attempts to catch the back-off still running once Redis is back")
                    .isLessThanOrEqualTo(5);
            redis.kill();

            // Failed reconnects double the back-off; wait until it has just been renewed at its cap (1 s), so that
            // most of it is still left once Redis has started.
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                    .until(() -> backOffOf(failureOnLoop(pool, 0)) >= 900);

            redis.start();
            backOffMillis.set(backOffOf(probeOnLoop(pool, 0)));
            measuredAt.set(System.nanoTime());
        }

        // A connection of the pool connects: Redis is back, so worker 0 need not wait out its back-off.
        connect.run();
        assertThat(onLoop(pool.loops(), 0, () -> pool.commands().ping()).value()).isEqualTo("PONG");
        assertThat(Duration.ofNanos(System.nanoTime() - measuredAt.get()))
                .as("served while the back-off (%d ms) would still have failed the call", backOffMillis.get())
                .isLessThan(Duration.ofMillis(backOffMillis.get()));
        assertThat(pool.sharedStats().workers().get(0).open()).isEqualTo(1);
    }

    @Test
    void listenersThatThrowBreakNeitherThePoolNorTheListenersAddedAfterThem(RedisServer redis) {
        AffinityPoolListener failing = new AffinityPoolListener() {
            @Override
            public void opened(int poolIndex) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void acquired(int worker, Locality locality, long nanos) {
                throw new IllegalStateException("listener bug");
            }
        };
        RecordingListener leases = new RecordingListener();
        RecordingListener shared = new RecordingListener();
        RecordingListener pubSub = new RecordingListener();
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("listeners")
                .workers(1).listener(failing).listener(leases).sharedListener(failing).sharedListener(shared)
                .pubSubListener(failing).pubSubListener(pubSub).build()) {
            assertThat(onLoop(pool.loops(), 0, () -> pool.commands().echo("shared")).value()).isEqualTo("shared");
            assertThat(onLoop(pool.loops(), 0, () -> pool.withConnection(c -> c.echo("leased")).single()).value())
                    .isEqualTo("leased");
            PubSubRecorder subscriber = PubSubRecorder.onWorker(pool, 0, pool.subscribe("news"));
            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscriptions() == 1);
            assertThat(pool.commands().publish("news", "hello").block(TIMEOUT)).isEqualTo(1);
            await().atMost(TIMEOUT).until(() -> subscriber.payloads().equals(List.of("hello")));
            assertThat(subscriber.error.get()).isNull();
            assertThat(leases.events).containsExactly("opened 0", "acquired 0 LOCAL");
            assertThat(shared.events).containsExactly("opened 0");
            assertThat(pubSub.events).containsExactly("opened 0", "acquired 0 LOCAL");
        }
    }

    @Test
    void frozenRedisFailsCommandsWithinTheCommandTimeoutAndARedisThatAnswersAgainKeepsTheConnection(RedisServer redis) {
        // Long enough for the health-check PING that the timeout starts to be answered once Redis resumes.
        Duration commandTimeout = Duration.ofMillis(1000);
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("frozen").workers(1)
                .commandTimeout(commandTimeout).build()) {
            long id = pool.commands().clientId().block(TIMEOUT);
            redis.pause();
            try {
                long start = System.nanoTime();
                Throwable error = failureOnLoop(pool, 0);
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertThat(error).isInstanceOf(RedisCommandTimeoutException.class)
                        .hasMessageContaining("Command timed out after 1 second(s)");
                assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(950)).isLessThan(Duration.ofSeconds(4));
            }
            finally {
                redis.resume();
            }
            // The late reply of the timed-out command is consumed in order, the health check is answered, and the
            // connection keeps working.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(
                    () -> assertThat(pool.commands().clientId().block(TIMEOUT)).isEqualTo(id));
            assertThat(pool.commands().echo("after").block(TIMEOUT)).isEqualTo("after");
            assertThat(pool.openSharedConnections()).hasSize(1);
        }
    }

    /**
     * Lettuce fails a timed-out command on its computation thread; the caller on worker w must get the error on w's
     * loop, as it would have got the reply, whatever it chains on it (a fallback, the HTTP response): on the shared
     * path and on a lease.
     */
    @Test
    void aCommandThatTimesOutFailsOnTheCallersLoop(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("timeout-loop")
                .workers(2).commandTimeout(Duration.ofMillis(300)).build()) {
            // Both workers' shared connections open (their handshakes done) before Redis freezes: a handshake caught
            // by the freeze would fail the command with the connection's unavailability, not a command timeout.
            await().atMost(TIMEOUT).until(() -> pool.sharedStats().open() == 2);
            assertThat(pool.commands().ping().block(TIMEOUT)).isEqualTo("PONG");
            // An exclusive connection open and idle on worker 0 before Redis freezes.
            assertThat(onLoop(pool.loops(), 0, () -> pool.withConnection(c -> c.ping())).value()).isEqualTo("PONG");
            redis.pause();
            try {
                Failure get = failureAndThread(pool.loops(), 0, () -> pool.commands().get("key"));
                Failure range = failureAndThread(pool.loops(), 1, () -> pool.commands().lrange("list", 0, -1));

                assertThat(get.error()).isInstanceOf(RedisCommandTimeoutException.class);
                assertThat(get.thread()).isSameAs(loopThread(pool.loops(), 0));
                assertThat(range.error()).isInstanceOf(RedisCommandTimeoutException.class);
                assertThat(range.thread()).isSameAs(loopThread(pool.loops(), 1));
                Failure leased = failureAndThread(pool.loops(), 0, () -> pool.withConnection(c -> c.get("key")));
                assertThat(leased.error()).isInstanceOf(RedisCommandTimeoutException.class);
                assertThat(leased.thread()).isSameAs(loopThread(pool.loops(), 0));
            }
            finally {
                redis.resume();
            }
        }
    }

    /**
     * Like {@link #aCommandThatTimesOutFailsOnTheCallersLoop}, for the calls that find no open connection and wait for
     * the slot to connect: their command is dispatched once the connect completes, and its timeout comes from
     * Lettuce's computation thread all the same.
     */
    @Test
    void aCommandThatWaitedForTheReconnectAndTimesOutFailsOnTheCallersLoop(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("timeout-reconnect")
                .workers(1).commandTimeout(Duration.ofMillis(300)).build()) {
            long id = pool.commands().clientId().block(TIMEOUT);
            redis.command("CLIENT", "KILL", "ID", Long.toString(id));
            await().atMost(TIMEOUT).until(() -> pool.openSharedConnections().isEmpty());

            // Both wait for the same reconnect; once it is done, DEBUG SLEEP holds Redis past both commands' timeout.
            CompletableFuture<Failure> sleep = new CompletableFuture<>();
            CompletableFuture<Failure> get = new CompletableFuture<>();
            pool.loops().loop(0).execute(() -> {
                subscribeForFailure(PoolFixtures.debugSleep(pool.commands(), "1"), sleep);
                subscribeForFailure(pool.commands().get("key"), get);
            });

            Thread loop = loopThread(pool.loops(), 0);
            Failure slept = sleep.orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
            assertThat(slept.error()).isInstanceOf(RedisCommandTimeoutException.class);
            assertThat(slept.thread()).isSameAs(loop);
            Failure got = get.orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
            assertThat(got.error()).isInstanceOf(RedisCommandTimeoutException.class);
            assertThat(got.thread()).isSameAs(loop);
        }
    }

    private static void subscribeForFailure(Publisher<?> call, CompletableFuture<Failure> failed) {
        Flux.from(call).subscribe(value -> {
        }, error -> failed.complete(new Failure(error, Thread.currentThread())),
                () -> failed.completeExceptionally(new AssertionError("expected the command to fail")));
    }

    @Test
    void sharedConnectionThatStopsAnsweringAfterATimeoutIsClosedAndReplaced(RedisServer redis) {
        // The late command below must be sent after the health-check PING and time out after it, yet be sent before
        // the PING times out: half a command timeout of slack on either side. 500 ms (250 ms of slack) was missed on
        // a loaded 2-core machine (the late command found the connection already closed and waited for a reconnect).
        Duration commandTimeout = Duration.ofMillis(2000);
        RecordingListener listener = new RecordingListener();
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("silent").workers(1)
                .commandTimeout(commandTimeout).sharedListener(listener).build()) {
            long id = pool.commands().clientId().block(TIMEOUT);
            StatefulRedisConnection<String, String> silent = pool.openSharedConnections().get(0);
            long pingsBefore = pingCalls(redis);
            redis.pause();
            try {
                // Five commands time out together; one health check is enough for all of them.
                List<Throwable> errors = Flux.range(0, 5).flatMap(i -> pool.commands().get("key" + i)
                        .then(Mono.<Throwable>empty()).onErrorResume(Mono::just)).collectList().block(TIMEOUT);
                assertThat(errors).hasSize(5).allSatisfy(
                        error -> assertThat(error).isInstanceOf(RedisCommandTimeoutException.class));
                // Sent half a command timeout after the PING, so still in flight when the PING times out (Lettuce's
                // timeout timer ticks every 100 ms): it fails then, saying why, without waiting for its own timeout.
                Throwable inFlight = Mono.delay(commandTimeout.dividedBy(2)).then(pool.commands().get("late"))
                        .then(Mono.<Throwable>empty()).onErrorResume(Mono::just).block(TIMEOUT);
                assertThat(inFlight).isInstanceOf(RedisPoolConnectionException.class).hasMessage("Redis pool 'silent' "
                        + "(worker 0): connection to redis://127.0.0.1:" + redis.port() + " lost: no answer to a "
                        + "health-check PING within 2000 ms after a command timed out");
                // No answer to the PING within the command timeout either: the connection is closed while Redis is
                // still frozen, without waiting for TCP to give up.
                await().atMost(Duration.ofSeconds(5)).until(() -> !silent.isOpen());
                assertThat(pool.openSharedConnections()).isEmpty();
                assertThat(listener.events).containsExactly("opened 0", "closed 0 VALIDATION_FAILED");
            }
            finally {
                redis.resume();
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(
                    () -> assertThat(pool.commands().clientId().block(TIMEOUT)).isNotEqualTo(id));
            assertThat(onLoop(pool.loops(), 0, () -> pool.commands().echo("after")).thread())
                    .isSameAs(loopThread(pool.loops(), 0));
            assertThat(pingCalls(redis) - pingsBefore).as("health-check PINGs").isEqualTo(1);
            assertThat(listener.events).containsExactly("opened 0", "closed 0 VALIDATION_FAILED", "opened 0");
            await().atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(redis.clientNames("affinity-pool.silent."))
                            .containsExactly("affinity-pool.silent.shared.w0"));
        }
    }

    @Test
    void aCommandRefusedInTheLoopTickItsSocketClosedInIsSentOnANewConnection(RedisServer redis) {
        RecordingListener listener = new RecordingListener();
        List<Channel> channels = new CopyOnWriteArrayList<>();
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("tick").workers(1)
                .sharedListener(listener).nettyCustomizer(new NettyCustomizer() {
                    @Override
                    public void afterChannelInitialized(Channel channel) {
                        channels.add(channel);
                    }
                }).build()) {
            onLoop(pool.loops(), 0, () -> pool.commands().ping());
            StatefulRedisConnection<String, String> before = pool.openSharedConnections().get(0);
            assertThat(channels).hasSize(1);
            AtomicBoolean saysOpen = new AtomicBoolean();

            // In one task of the loop: the socket closes, and Lettuce, which hears of it only in a later task, still
            // says the connection is open but rejects the write.
            PoolFixtures.Emission<String> pong = onLoop(pool.loops(), 0, () -> {
                channels.get(0).close();
                saysOpen.set(before.isOpen());
                return pool.commands().ping();
            });

            assertThat(saysOpen).as("the premise: Lettuce has not yet seen the close").isTrue();
            assertThat(pong.value()).isEqualTo("PONG");
            assertThat(pong.thread()).isSameAs(loopThread(pool.loops(), 0));
            assertThat(pool.openSharedConnections()).hasSize(1).doesNotContain(before);
            assertThat(listener.events).containsExactly("opened 0", "closed 0 UNUSABLE", "opened 0");
        }
    }

    private static final Pattern NEXT_ATTEMPT = Pattern.compile("next reconnect attempt in (\\d+) ms");

    /** @return the back-off a shared call's failure reports, or -1 when it reports none ({@code null}: served) */
    private static long backOffOf(Throwable error) {
        Matcher retry = NEXT_ATTEMPT.matcher(String.valueOf(error == null ? null : error.getMessage()));
        return retry.find() ? Long.parseLong(retry.group(1)) : -1;
    }

    /** @return how many PINGs Redis has answered since it started */
    private static long pingCalls(RedisServer redis) {
        String stats = redis.info("commandstats").getOrDefault("cmdstat_ping", "calls=0,");
        return Long.parseLong(stats.substring("calls=".length(), stats.indexOf(',')));
    }

    /** An error signal and the thread it came on. */
    private record Failure(Throwable error, Thread thread) {
    }

    /** @return the error of {@code call} subscribed on the worker's loop, and the thread it came on */
    private static Failure failureAndThread(WorkerLoops loops, int worker, Supplier<Publisher<?>> call) {
        CompletableFuture<Failure> failed = new CompletableFuture<>();
        loops.loop(worker).execute(() -> Flux.from(call.get()).subscribe(value -> {
        }, error -> failed.complete(new Failure(error, Thread.currentThread())),
                () -> failed.completeExceptionally(new AssertionError("expected the command to fail"))));
        return failed.orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
    }

    /** @return the error of a shared call on the worker's loop, or {@code null} when it was served */
    private static Throwable probeOnLoop(RedisAffinityPool<String, String> pool, int worker) {
        try {
            onLoop(pool.loops(), worker, () -> pool.commands().get("key"));
            return null;
        }
        catch (CompletionException ex) {
            return ex.getCause();
        }
    }

    private static Throwable failureOnLoop(RedisAffinityPool<String, String> pool, int worker) {
        try {
            onLoop(pool.loops(), worker, () -> pool.commands().get("key"));
        }
        catch (CompletionException ex) {
            return ex.getCause();
        }
        throw new AssertionError("expected the command to fail");
    }
}
