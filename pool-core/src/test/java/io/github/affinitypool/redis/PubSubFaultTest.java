package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static io.github.affinitypool.redis.PubSubTest.numsub;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.protocol.ProtocolVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;
import reactor.util.retry.Retry;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/**
 * A lost Pub/Sub connection fails every subscriber on it, clearly, also when the peer vanished without closing the TCP
 * connection; subscribing again works once Redis is back.
 */
@RedisTest(perMethod = true)
class PubSubFaultTest {

    @Test
    void aConnectionLostWhileTheHandedOutMessagesAreBeingSubscribedIsSignalledOnlyAfterOnSubscribe(RedisServer redis)
            throws Exception {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("later-fault")
                .workers(1).build()) {
            Flux<PubSubMessage<String, String>> messages = pool.subscribeLater("news").block(TIMEOUT);
            List<String> signals = new CopyOnWriteArrayList<>();
            CountDownLatch inOnSubscribe = new CountDownLatch(1);
            CountDownLatch connectionLost = new CountDownLatch(1);
            Thread subscriber = new Thread(() -> messages.subscribe(new BaseSubscriber<>() {
                @Override
                protected void hookOnSubscribe(Subscription subscription) {
                    inOnSubscribe.countDown();
                    // The connection fails while the downstream is still in its onSubscribe.
                    awaitQuietly(connectionLost);
                    signals.add("onSubscribe");
                    subscription.request(1);
                }

                @Override
                protected void hookOnError(Throwable error) {
                    signals.add("onError");
                }
            }));
            subscriber.start();
            assertThat(inOnSubscribe.await(5, TimeUnit.SECONDS)).isTrue();

            redis.kill();
            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().open() == 0 || !signals.isEmpty());
            connectionLost.countDown();

            await().atMost(TIMEOUT).until(() -> signals.size() == 2);
            assertThat(signals).containsExactly("onSubscribe", "onError");
            subscriber.join(5_000);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void redisKilledFailsEverySubscriberAndResubscribingWorksAfterTheRestart(RedisServer redis) {
        List<String> closes = new CopyOnWriteArrayList<>();
        AffinityPoolListener listener = new AffinityPoolListener() {
            @Override
            public void closed(int poolIndex, CloseReason reason) {
                closes.add(poolIndex + " " + reason);
            }
        };
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("fault").workers(2)
                .pubSubListener(listener).build()) {
            List<PubSubRecorder> before = List.of(PubSubRecorder.onWorker(pool, 0, pool.subscribe("alerts")),
                    PubSubRecorder.onWorker(pool, 1, pool.subscribe("alerts")),
                    PubSubRecorder.onWorker(pool, 0, pool.psubscribe("alert*")),
                    PubSubRecorder.onWorker(pool, 1, pool.psubscribe("alert*")));
            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 4 && numsub(redis, "alerts") == 2
                    && patternClients(redis) == 2);

            redis.kill();

            await().atMost(TIMEOUT).until(() -> before.stream().allMatch(s -> s.error.get() != null));
            for (int i = 0; i < before.size(); i++) {
                int worker = i % 2;
                Throwable error = before.get(i).error.get();
                assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                        .hasMessageStartingWith("Redis pool 'fault' (worker " + worker
                                + "): Pub/Sub connection to redis://127.0.0.1:" + redis.port() + " lost")
                        .hasMessageEndingWith("; subscribe again to resubscribe");
                assertThat(((RedisPoolConnectionException) error).worker()).isEqualTo(worker);
                assertThat(before.get(i).threads()).containsExactly(loopThread(pool.loops(), worker));
            }
            assertThat(pool.pubSubStats().open()).isZero();
            assertThat(pool.pubSubStats().subscriptions()).isZero();
            assertThat(closes).containsExactlyInAnyOrder("0 UNUSABLE", "1 UNUSABLE");

            // While Redis is down a subscribe fails at once, naming the server.
            StepVerifier.create(pool.subscribe("alerts").subscribeOn(pool.loops().scheduler(0)))
                    .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                            .hasMessageStartingWith("Redis pool 'fault' (worker 0): cannot open a Pub/Sub connection "
                                    + "to redis://127.0.0.1:" + redis.port() + ": "))
                    .verify(TIMEOUT);
            assertThat(pool.pubSubStats().open()).isZero();

            redis.restart();

            // Resubscribe, the way an application would: retry until Redis answers.
            Retry untilRedisAnswers = Retry.fixedDelay(100, Duration.ofMillis(50));
            PubSubRecorder channel = PubSubRecorder.onWorker(pool, 1,
                    pool.subscribe("alerts").retryWhen(untilRedisAnswers));
            PubSubRecorder pattern = PubSubRecorder.onWorker(pool, 1,
                    pool.psubscribe("alert*").retryWhen(untilRedisAnswers));
            await().atMost(TIMEOUT).until(() -> numsub(redis, "alerts") == 1 && patternClients(redis) == 1);
            assertThat(pool.commands().publish("alerts", "back").retryWhen(untilRedisAnswers).block(TIMEOUT))
                    .isEqualTo(2L);
            await().atMost(TIMEOUT).until(() -> channel.count() == 1 && pattern.count() == 1);
            assertThat(channel.messages()).containsExactly(new PubSubMessage<>("alerts", null, "back"));
            assertThat(pattern.messages()).containsExactly(new PubSubMessage<>("alerts", "alert*", "back"));
            assertThat(channel.threads()).containsExactly(loopThread(pool.loops(), 1));
            assertThat(pool.pubSubStats().open()).isEqualTo(1);
            assertThat(redis.clientNames("affinity-pool.fault.pubsub.")).containsExactly(
                    "affinity-pool.fault.pubsub.w1");
        }
    }

    @ParameterizedTest
    @EnumSource(value = ProtocolVersion.class, names = {"RESP2", "RESP3"})
    void aQuietConnectionAnswersTheHealthCheckAndKeepsItsSubscribers(ProtocolVersion protocol, RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = healthChecked(redis, protocol).build()) {
            PubSubRecorder subscriber = PubSubRecorder.onWorker(pool, 0, pool.subscribe("quiet"));
            await().atMost(TIMEOUT).until(() -> numsub(redis, "quiet") == 1);
            String clientId = pubSubClientId(redis);
            long pingsBefore = pingCalls(redis);

            await().atMost(TIMEOUT).until(() -> pingCalls(redis) >= pingsBefore + 3);

            assertThat(pool.commands().publish("quiet", "still here").block(TIMEOUT)).isEqualTo(1L);
            await().atMost(TIMEOUT).until(() -> subscriber.count() == 1);
            assertThat(subscriber.messages()).containsExactly(new PubSubMessage<>("quiet", null, "still here"));
            assertThat(subscriber.error.get()).isNull();
            assertThat(pubSubClientId(redis)).isEqualTo(clientId);
            assertThat(pool.pubSubStats().open()).isEqualTo(1);
        }
    }

    @Test
    void aFrozenRedisFailsTheSubscribersOfAQuietConnectionWithinTheCheckIntervalAndTheCommandTimeout(
            RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = healthChecked(redis, ProtocolVersion.RESP3).build()) {
            List<PubSubRecorder> subscribers = List.of(PubSubRecorder.onWorker(pool, 0, pool.subscribe("quiet")),
                    PubSubRecorder.onWorker(pool, 1, pool.psubscribe("qui*")));
            await().atMost(TIMEOUT).until(() -> numsub(redis, "quiet") == 1 && patternClients(redis) == 1);

            redis.pause();
            try {
                await().atMost(TIMEOUT).until(() -> subscribers.stream().allMatch(s -> s.error.get() != null));
            }
            finally {
                redis.resume();
            }

            for (int worker = 0; worker < 2; worker++) {
                assertThat(subscribers.get(worker).error.get()).isInstanceOf(RedisPoolConnectionException.class)
                        .hasMessage("Redis pool 'checked' (worker " + worker
                                + "): Pub/Sub connection to redis://127.0.0.1:" + redis.port()
                                + " lost: no answer to a health-check PING within 500 ms; subscribe again "
                                + "to resubscribe");
                assertThat(subscribers.get(worker).threads()).containsExactly(loopThread(pool.loops(), worker));
            }
            assertThat(pool.pubSubStats().open()).isZero();
            PubSubRecorder again = PubSubRecorder.onWorker(pool, 0, pool.subscribe("quiet"));
            await().atMost(TIMEOUT).until(() -> numsub(redis, "quiet") == 1);
            assertThat(pool.commands().publish("quiet", "back").block(TIMEOUT)).isEqualTo(1L);
            await().atMost(TIMEOUT).until(() -> again.count() == 1);
            assertThat(redis.clientNames("affinity-pool.checked.pubsub.")).containsExactly(
                    "affinity-pool.checked.pubsub.w0");
        }
    }

    @Test
    void closingTheSubscriptionsWhileAConnectionIsBeingOpenedCompletesOnlyOnceTheConnectHasEnded(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("late").workers(1)
                .commandTimeout(Duration.ofMillis(500)).build()) {
            PubSubRecorder subscriber = new PubSubRecorder();
            redis.pause(); // the TCP connect succeeds, the handshake waits until the command timeout fails it
            try {
                pool.subscribe("late").subscribe(subscriber);
                await().atMost(TIMEOUT).until(() -> pool.pubSubStats().workers().get(0).pending() == 1);

                StepVerifier.create(pool.closeSubscriptions()).verifyComplete();

                // Done means done: the connect has ended and its permit is back, not still on its way.
                assertThat(pool.pubSubStats().open()).isZero();
                assertThat(subscriber.completed).isTrue();
                assertThat(subscriber.error.get()).isNull();
            }
            finally {
                redis.resume();
            }
            // Redis reads the abandoned handshake (HELLO, CLIENT SETNAME) it accepted while stopped, then the close.
            await().atMost(TIMEOUT).until(() -> redis.clientNames("affinity-pool.late.pubsub.").isEmpty());
        }
    }

    /** A pool whose quiet Pub/Sub connections are checked every 100 ms with a 500 ms PING timeout. */
    private static RedisAffinityPool.Builder<String, String> healthChecked(RedisServer redis,
            ProtocolVersion protocol) {
        return RedisAffinityPool.builder(redis.uri()).name("checked").workers(2)
                .poolConfig(AffinityPoolConfig.builder().evictionInterval(Duration.ofMillis(100)).build())
                .commandTimeout(Duration.ofMillis(500))
                .clientOptions(options -> options.protocolVersion(protocol));
    }

    private static String pubSubClientId(RedisServer redis) {
        return redis.command("CLIENT", "LIST").lines()
                .filter(line -> line.contains(" name=affinity-pool.checked.pubsub."))
                .map(line -> line.substring(0, line.indexOf(' '))).findFirst().orElseThrow();
    }

    /** @return PINGs the server answered, from {@code INFO commandstats} */
    private static long pingCalls(RedisServer redis) {
        return redis.command("INFO", "commandstats").lines().filter(line -> line.startsWith("cmdstat_ping:"))
                .mapToLong(line -> Long.parseLong(line.substring(line.indexOf("calls=") + 6, line.indexOf(',')))).sum();
    }

    /** @return clients with a pattern subscription ({@code PUBSUB NUMPAT} counts distinct patterns on Redis 7) */
    private static long patternClients(RedisServer redis) {
        return redis.command("CLIENT", "LIST").lines().filter(line -> line.contains(" psub=1 ")).count();
    }
}
