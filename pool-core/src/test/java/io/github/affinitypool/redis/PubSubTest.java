package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.netty.util.concurrent.SingleThreadEventExecutor;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

import io.github.affinitypool.core.PoolClosedException;
import io.github.affinitypool.core.RecordingListener;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/** The Pub/Sub hub: one connection and one SUBSCRIBE per worker, delivery on the subscriber's loop, back-pressure. */
@RedisTest
class PubSubTest {

    @Test
    void hundredSubscribersOnTwoWorkersShareOneSubscriptionPerWorker(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("hub").workers(2)
                .build()) {
            List<PubSubRecorder> subscribers = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                subscribers.add(PubSubRecorder.onWorker(pool, i % 2, pool.subscribe("news")));
            }
            await().atMost(TIMEOUT).untilAsserted(() -> {
                assertThat(pool.pubSubStats().subscribers()).isEqualTo(100);
                assertThat(numsub(redis, "news")).isEqualTo(2);
            });
            // Exactly one Pub/Sub client per worker, and none of them is a command connection.
            assertThat(redis.clientNames("affinity-pool.hub.pubsub.")).containsExactlyInAnyOrder(
                    "affinity-pool.hub.pubsub.w0", "affinity-pool.hub.pubsub.w1");
            assertThat(pubSubClients(redis)).isEqualTo(2);
            assertThat(pool.stats().total().open()).isZero();
            PubSubStats stats = pool.pubSubStats();
            assertThat(stats.open()).isEqualTo(2);
            for (PubSubStats.Worker worker : stats.workers()) {
                assertThat(worker.channels()).isEqualTo(1);
                assertThat(worker.subscribers()).isEqualTo(50);
                assertThat(worker.acquired()).isEqualTo(1);
                assertThat(worker.idle()).isZero();
                assertThat(worker.pending()).isZero();
            }

            List<String> sent = IntStream.range(0, 20).mapToObj(i -> "m" + i).collect(Collectors.toList());
            for (String message : sent) {
                assertThat(pool.commands().publish("news", message).block(TIMEOUT)).isEqualTo(2L);
            }

            await().atMost(TIMEOUT).until(() -> subscribers.stream().allMatch(s -> s.count() == sent.size()));
            for (int i = 0; i < subscribers.size(); i++) {
                PubSubRecorder recorder = subscribers.get(i);
                assertThat(recorder.payloads()).containsExactlyElementsOf(sent);
                assertThat(recorder.messages()).allMatch(m -> m.channel().equals("news") && m.pattern() == null);
                assertThat(recorder.threads()).containsExactly(loopThread(pool.loops(), i % 2));
            }
            assertThat(pool.pubSubStats().received()).isEqualTo(2L * sent.size());

            // Unsubscribed only when the last local subscriber of each worker leaves.
            for (int i = 0; i < 98; i++) {
                subscribers.get(i).dispose();
            }
            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 2);
            assertThat(numsub(redis, "news")).isEqualTo(2);
            subscribers.get(98).dispose();
            subscribers.get(99).dispose();
            await().atMost(TIMEOUT).untilAsserted(() -> {
                assertThat(numsub(redis, "news")).isZero();
                assertThat(pool.pubSubStats().subscriptions()).isZero();
            });
            // The connections stay open, idle, for the next subscriber.
            assertThat(pool.pubSubStats().workers()).allMatch(w -> w.open() == 1 && w.idle() == 1 && w.acquired() == 0);
            assertThat(subscribers).allMatch(s -> s.error.get() == null);
        }
    }

    @Test
    void aSlowSubscriberKeepsOnlyTheNewestMessagesAndDoesNotHoldUpTheOthers(RedisServer redis) {
        int buffer = 16;
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("slow").workers(1)
                .pubSubBufferSize(buffer).build()) {
            PubSubRecorder fast = new PubSubRecorder();
            PubSubRecorder slow = new PubSubRecorder(1);
            pool.subscribe("ticks").subscribe(fast);
            pool.subscribe("ticks").subscribe(slow);
            await().atMost(TIMEOUT).untilAsserted(() -> {
                assertThat(pool.pubSubStats().subscribers()).isEqualTo(2);
                assertThat(numsub(redis, "ticks")).isEqualTo(1);
            });

            int published = 100;
            for (int i = 0; i < published; i++) {
                pool.commands().publish("ticks", "t" + i).block(TIMEOUT);
            }
            // The fast subscriber gets everything while the slow one has taken a single message.
            await().atMost(TIMEOUT).until(() -> fast.count() == published);
            assertThat(slow.payloads()).containsExactly("t0");
            // Messages reach both subscribers in the same loop task, so the slow one's buffer is settled now.
            int dropped = published - 1 - buffer;
            assertThat(pool.pubSubStats().dropped()).isEqualTo(dropped);

            slow.requestUnbounded();
            await().atMost(TIMEOUT).until(() -> slow.count() == 1 + buffer);
            List<String> expected = new ArrayList<>(List.of("t0"));
            IntStream.range(published - buffer, published).forEach(i -> expected.add("t" + i));
            assertThat(slow.payloads()).containsExactlyElementsOf(expected);
            assertThat(pool.pubSubStats().dropped()).isEqualTo(dropped);
        }
    }

    @Test
    void patternSubscriptionsAreSharedAndCarryTheirPattern(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("pattern").workers(2)
                .build()) {
            PubSubRecorder first = PubSubRecorder.onWorker(pool, 0, pool.psubscribe("sport.*"));
            PubSubRecorder second = PubSubRecorder.onWorker(pool, 0, pool.psubscribe("sport.*", "sport.*"));
            PubSubRecorder plain = PubSubRecorder.onWorker(pool, 1, pool.subscribe("sport.tennis"));
            await().atMost(TIMEOUT).untilAsserted(() -> {
                assertThat(pool.pubSubStats().subscribers()).isEqualTo(3);
                assertThat(redis.command("PUBSUB", "NUMPAT")).isEqualTo("1");
                assertThat(numsub(redis, "sport.tennis")).isEqualTo(1);
            });
            assertThat(pool.pubSubStats().workers().get(0).patterns()).isEqualTo(1);

            pool.commands().publish("sport.tennis", "ace").block(TIMEOUT);
            pool.commands().publish("sport.golf", "birdie").block(TIMEOUT);

            await().atMost(TIMEOUT).until(() -> first.count() == 2 && second.count() == 2 && plain.count() == 1);
            assertThat(first.messages()).containsExactly(new PubSubMessage<>("sport.tennis", "sport.*", "ace"),
                    new PubSubMessage<>("sport.golf", "sport.*", "birdie"));
            assertThat(second.messages()).isEqualTo(first.messages());
            assertThat(first.messages()).allMatch(PubSubMessage::isPatternMessage);
            assertThat(plain.messages()).containsExactly(new PubSubMessage<>("sport.tennis", null, "ace"));
            assertThat(first.threads()).containsExactly(loopThread(pool.loops(), 0));
            assertThat(plain.threads()).containsExactly(loopThread(pool.loops(), 1));

            first.dispose();
            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 2);
            assertThat(redis.command("PUBSUB", "NUMPAT")).isEqualTo("1");
            second.dispose();
            await().atMost(TIMEOUT).until(() -> "0".equals(redis.command("PUBSUB", "NUMPAT")));
            plain.dispose();
        }
    }

    @Test
    void theCapIsRespectedAndSubscribersOfAWorkerWithoutAConnectionGetTheirMessagesOnTheirOwnLoop(RedisServer redis) {
        RecordingListener listener = new RecordingListener();
        List<String> events = listener.events;
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("capped").workers(2)
                .pubSubMaxOpen(1).pubSubListener(listener).build()) {
            PubSubRecorder onZero = PubSubRecorder.onWorker(pool, 0, pool.subscribe("capped"));
            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 1);
            PubSubRecorder onOne = PubSubRecorder.onWorker(pool, 1, pool.subscribe("capped"));
            await().atMost(TIMEOUT).untilAsserted(() -> {
                assertThat(pool.pubSubStats().subscribers()).isEqualTo(2);
                assertThat(numsub(redis, "capped")).isEqualTo(1);
            });
            assertThat(pubSubClients(redis)).isEqualTo(1);
            assertThat(pool.pubSubStats().open()).isEqualTo(1);
            assertThat(pool.pubSubStats().workers().get(0).subscribers()).isEqualTo(2);

            pool.commands().publish("capped", "hello").block(TIMEOUT);
            await().atMost(TIMEOUT).until(() -> onZero.count() == 1 && onOne.count() == 1);
            assertThat(onZero.threads()).containsExactly(loopThread(pool.loops(), 0));
            assertThat(onOne.threads()).containsExactly(loopThread(pool.loops(), 1));
            assertThat(events).containsExactly("opened 0", "acquired 0 LOCAL", "acquired 1 STOLEN");
        }
        assertThat(events).endsWith("closed 0 POOL_CLOSED");
    }

    @Test
    void messagesForAStalledLoopOfAnotherWorkerWaitInABoundedInboxNotATaskEach(RedisServer redis)
            throws InterruptedException {
        int buffer = 16;
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("stalled").workers(2)
                .pubSubMaxOpen(1).pubSubBufferSize(buffer).build()) {
            PubSubRecorder onZero = PubSubRecorder.onWorker(pool, 0, pool.subscribe("stalled"));
            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 1);
            // Worker 1 has no Pub/Sub connection of its own (cap 1): worker 0's loop hands it its messages.
            PubSubRecorder onOne = PubSubRecorder.onWorker(pool, 1, pool.subscribe("stalled"));
            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 2 && numsub(redis, "stalled") == 1);

            SingleThreadEventExecutor loopOne = (SingleThreadEventExecutor) pool.loops().loop(1);
            CountDownLatch stall = new CountDownLatch(1);
            CountDownLatch stalled = new CountDownLatch(1);
            // A fault injected on purpose: worker 1's loop is held until the messages have arrived on worker 0.
            loopOne.execute(() -> {
                stalled.countDown();
                awaitUninterruptibly(stall);
            });
            int published = 100;
            try {
                assertThat(stalled.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
                for (int i = 0; i < published; i++) {
                    redis.command("PUBLISH", "stalled", "t" + i);
                }
                await().atMost(TIMEOUT).until(() -> onZero.count() == published);
                // One task on the stalled loop moves the inbox, however many messages came; the inbox kept the newest.
                assertThat(loopOne.pendingTasks()).isOne();
                assertThat(pool.pubSubStats().dropped()).isEqualTo(published - buffer);
            }
            finally {
                stall.countDown();
            }
            await().atMost(TIMEOUT).until(() -> onOne.count() == buffer);
            assertThat(onOne.payloads()).containsExactlyElementsOf(
                    IntStream.range(published - buffer, published).mapToObj(i -> "t" + i).toList());
            assertThat(onOne.threads()).containsExactly(loopThread(pool.loops(), 1));
            assertThat(pool.pubSubStats().dropped()).isEqualTo(published - buffer);
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (latch.getCount() > 0) {
            try {
                latch.await();
            }
            catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void offLoopSubscribersAreSpreadOverTheWorkers(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("offloop").workers(2)
                .build()) {
            PubSubRecorder a = new PubSubRecorder();
            PubSubRecorder b = new PubSubRecorder();
            pool.subscribe("spread").subscribe(a);
            pool.subscribe("spread").subscribe(b);
            await().atMost(TIMEOUT).until(() -> numsub(redis, "spread") == 2 && pool.pubSubStats().subscribers() == 2);
            pool.commands().publish("spread", "x").block(TIMEOUT);
            await().atMost(TIMEOUT).until(() -> a.count() == 1 && b.count() == 1);
            Set<Thread> loops = Set.of(loopThread(pool.loops(), 0), loopThread(pool.loops(), 1));
            assertThat(a.threads()).hasSize(1).isSubsetOf(loops).doesNotContainAnyElementsOf(b.threads());
            assertThat(b.threads()).hasSize(1).isSubsetOf(loops);
        }
    }

    @Test
    void closingThePoolCompletesSubscribersAndRefusesNewOnes(RedisServer redis) {
        RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("closing").workers(1)
                .build();
        PubSubRecorder recorder = new PubSubRecorder();
        pool.subscribe("closing").subscribe(recorder);
        await().atMost(TIMEOUT).until(() -> numsub(redis, "closing") == 1);

        pool.close();

        await().atMost(TIMEOUT).until(recorder.completed::get);
        assertThat(recorder.error.get()).isNull();
        assertThat(pool.pubSubStats().open()).isZero();
        await().atMost(TIMEOUT).until(() -> numsub(redis, "closing") == 0);
        StepVerifier.create(pool.subscribe("closing"))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PoolClosedException.class)
                        .hasMessage("Redis pool 'closing' is closed"))
                .verify(TIMEOUT);
    }

    @Test
    void closingTheSubscriptionsCompletesSubscribersAndLeavesCommandsWorking(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("ending").workers(1)
                .build()) {
            PubSubRecorder recorder = new PubSubRecorder();
            pool.subscribe("ending").subscribe(recorder);
            await().atMost(TIMEOUT).until(() -> numsub(redis, "ending") == 1);

            pool.closeSubscriptions().block(TIMEOUT);

            await().atMost(TIMEOUT).until(recorder.completed::get);
            assertThat(recorder.error.get()).isNull();
            assertThat(pool.pubSubStats().open()).isZero();
            await().atMost(TIMEOUT).until(() -> numsub(redis, "ending") == 0);
            assertThat(pool.commands().set("still", "working").block(TIMEOUT)).isEqualTo("OK");
            assertThat(pool.withConnection(c -> c.get("still")).blockLast(TIMEOUT)).isEqualTo("working");
            StepVerifier.create(pool.subscribeLater("ending"))
                    .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PoolClosedException.class)
                            .hasMessage("Redis pool 'ending' takes no more subscriptions: it is shutting down"))
                    .verify(TIMEOUT);

            pool.close();
            pool.closeSubscriptions().block(TIMEOUT);
            StepVerifier.create(pool.subscribe("ending"))
                    .expectErrorSatisfies(error -> assertThat(error).hasMessage("Redis pool 'ending' is closed"))
                    .verify(TIMEOUT);
        }
    }

    /** Subscribes and cancels racing each other on two workers that share one connection: the counts end exact. */
    @Test
    void cancelsRacingSubscribesLeaveNoSubscriptionBehind(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("racing").workers(2)
                .pubSubMaxOpen(1).build()) {
            PubSubRecorder keeper = PubSubRecorder.onWorker(pool, 0, pool.subscribe("kept"));
            await().atMost(TIMEOUT).until(() -> numsub(redis, "kept") == 1);
            List<Disposable> kept = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                Flux<PubSubMessage<String, String>> messages = i % 3 == 0 ? pool.psubscribe("ch" + (i % 5) + "*")
                        : pool.subscribe("ch" + (i % 7), "kept");
                Disposable subscription = messages.subscribeOn(pool.loops().scheduler(i % 2)).subscribe();
                if (i % 2 == 0) {
                    subscription.dispose(); // racing its join
                }
                else {
                    kept.add(subscription);
                }
            }
            kept.forEach(Disposable::dispose);

            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 1);
            assertThat(pool.pubSubStats().subscriptions()).isEqualTo(1);
            assertThat(pool.pubSubStats().pending()).isZero();
            await().atMost(TIMEOUT).until(() -> redis.command("PUBSUB", "CHANNELS").trim().equals("kept")
                    && redis.command("PUBSUB", "NUMPAT").trim().equals("0"));
            assertThat(pool.commands().publish("kept", "x").block(TIMEOUT)).isEqualTo(1L);
            await().atMost(TIMEOUT).until(() -> keeper.count() == 1);
            assertThat(pool.pubSubStats().open()).isEqualTo(1);
        }
    }

    @Test
    void subscribeValidatesItsArguments(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("args").workers(1)
                .build()) {
            assertThatThrownBy(() -> pool.subscribe()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("channels must not be empty");
            assertThatThrownBy(() -> pool.psubscribe("a", null)).isInstanceOf(NullPointerException.class)
                    .hasMessage("patterns must not contain null");
            assertThatThrownBy(() -> RedisAffinityPool.builder(redis.uri()).pubSubMaxOpen(0))
                    .hasMessage("pubSubMaxOpen must be at least 1, was 0");
            assertThatThrownBy(() -> RedisAffinityPool.builder(redis.uri()).pubSubBufferSize(0))
                    .hasMessage("pubSubBufferSize must be at least 1, was 0");
        }
    }

    /** @return the number of clients subscribed to {@code channel} ({@code PUBSUB NUMSUB}) */
    static long numsub(RedisServer redis, String channel) {
        String[] reply = redis.command("PUBSUB", "NUMSUB", channel).split("\n");
        return Long.parseLong(reply[1].trim());
    }

    /** @return the number of clients in {@code CLIENT LIST} with a subscription */
    static long pubSubClients(RedisServer redis) {
        return redis.command("CLIENT", "LIST").lines()
                .filter(line -> line.contains(" sub=") && !line.contains(" sub=0 ")).count();
    }
}
