package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static io.github.affinitypool.redis.PubSubTest.numsub;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;

import io.lettuce.core.RedisCommandExecutionException;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

import io.github.affinitypool.core.PoolClosedException;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/** {@code subscribeLater}: the messages are handed out once Redis has confirmed the subscription, not before. */
@RedisTest(aclUsers = "listener listener-pw ~* resetchannels &allowed.* +@all")
class PubSubConfirmationTest {

    @Test
    void everythingPublishedOnceTheMessagesAreHandedOutIsReceivedInOrder(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("later").workers(1)
                .build()) {
            Flux<PubSubMessage<String, String>> messages = pool.subscribeLater("orders", "refunds").block(TIMEOUT);

            // No waiting: Redis has registered both channels before the Flux was handed out.
            assertThat(numsub(redis, "orders")).isEqualTo(1);
            assertThat(numsub(redis, "refunds")).isEqualTo(1);
            // Published before anyone subscribed to the messages: kept in the subscriber's buffer.
            assertThat(pool.commands().publish("orders", "o1").block(TIMEOUT)).isEqualTo(1L);

            PubSubRecorder recorder = new PubSubRecorder();
            messages.subscribe(recorder);
            assertThat(pool.commands().publish("refunds", "r1").block(TIMEOUT)).isEqualTo(1L);

            await().atMost(TIMEOUT).until(() -> recorder.count() == 2);
            assertThat(recorder.messages()).containsExactly(new PubSubMessage<>("orders", null, "o1"),
                    new PubSubMessage<>("refunds", null, "r1"));
            assertThat(recorder.threads()).containsExactly(loopThread(pool.loops(), 0));
            StepVerifier.create(messages).expectErrorSatisfies(error -> assertThat(error)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("The messages of PubSubSubscriber{worker=0, channels=[orders, refunds]} allow only one "
                            + "subscriber; it is already subscribed")).verify(TIMEOUT);

            recorder.dispose();
            await().atMost(TIMEOUT).until(() -> numsub(redis, "orders") == 0 && numsub(redis, "refunds") == 0);
        }
    }

    @Test
    void subscribersOfAChannelWhoseSubscribeIsUnansweredWaitForItAndACancelledOneUnsubscribes(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("waiting").workers(1)
                .build()) {
            assertThat(pool.subscribeLater("warm").block(TIMEOUT)).isNotNull();
            CompletableFuture<Flux<PubSubMessage<String, String>>> first;
            CompletableFuture<Flux<PubSubMessage<String, String>>> second;
            AtomicReference<Flux<PubSubMessage<String, String>>> abandoned = new AtomicReference<>();
            redis.pause();
            try {
                first = pool.subscribeLater("late").toFuture();
                second = pool.psubscribeLater("la*").toFuture();
                Disposable cancelled = pool.subscribeLater("abandoned").subscribe(abandoned::set);
                await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 4);
                // Redis is stopped, so it cannot have confirmed anything.
                assertThat(first).isNotDone();
                assertThat(second).isNotDone();

                cancelled.dispose();
                await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 3);
            }
            finally {
                redis.resume();
            }

            PubSubRecorder plain = new PubSubRecorder();
            PubSubRecorder pattern = new PubSubRecorder();
            first.join().subscribe(plain);
            second.join().subscribe(pattern);
            assertThat(numsub(redis, "late")).isEqualTo(1);
            // Received twice by the one connection: through the channel and through the pattern.
            assertThat(pool.commands().publish("late", "now").block(TIMEOUT)).isEqualTo(2L);
            await().atMost(TIMEOUT).until(() -> plain.count() == 1 && pattern.count() == 1);
            assertThat(pattern.messages()).containsExactly(new PubSubMessage<>("late", "la*", "now"));
            // The UNSUBSCRIBE of the cancelled subscriber was sent after its SUBSCRIBE, on the same connection.
            assertThat(numsub(redis, "abandoned")).isZero();
            assertThat(abandoned.get()).isNull();
            assertThat(pool.pubSubStats().subscribers()).isEqualTo(3);
        }
    }

    @Test
    void aChannelRedisRefusesFailsItsSubscribersAndLeavesTheOthersListening(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uriForUser("listener"))
                .name("acl").workers(1).build()) {
            PubSubRecorder allowed = new PubSubRecorder();
            pool.subscribeLater("allowed.news").block(TIMEOUT).subscribe(allowed);

            StepVerifier.create(pool.subscribeLater("secret"))
                    .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(RedisCommandExecutionException.class)
                            .hasMessageStartingWith("NOPERM"))
                    .verify(TIMEOUT);
            PubSubRecorder refused = new PubSubRecorder();
            pool.subscribe("secret", "allowed.sport").subscribe(refused);
            await().atMost(TIMEOUT).until(() -> refused.error.get() != null);
            assertThat(refused.error.get()).isInstanceOf(RedisCommandExecutionException.class)
                    .hasMessageStartingWith("NOPERM");

            assertThat(pool.commands().publish("allowed.news", "still listening").block(TIMEOUT)).isEqualTo(1L);
            await().atMost(TIMEOUT).until(() -> allowed.count() == 1);
            assertThat(allowed.error.get()).isNull();
            assertThat(pool.pubSubStats().subscribers()).isEqualTo(1);
            assertThat(pool.pubSubStats().open()).isEqualTo(1);
        }
    }

    /**
     * Subscribes written in one loop tick, the first of several channels: Redis answers each channel on its own, and
     * each refusal must reach its own subscriber, never be taken for another command's confirmation.
     */
    @Test
    void refusalsWrittenBehindAMultiChannelSubscribeReachTheirOwnSubscribers(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uriForUser("listener"))
                .name("behind").workers(1).build()) {
            assertThat(pool.subscribeLater("allowed.warm").block(TIMEOUT)).isNotNull(); // the connection is open
            PubSubRecorder allowed = new PubSubRecorder();
            PubSubRecorder refused = new PubSubRecorder();
            CompletableFuture<Flux<PubSubMessage<String, String>>> later = new CompletableFuture<>();
            pool.loops().loop(0).execute(() -> {
                pool.subscribe("allowed.a", "allowed.b", "allowed.c").subscribe(allowed);
                pool.subscribe("secret").subscribe(refused);
                pool.subscribeLater("secret2").subscribe(later::complete, later::completeExceptionally);
            });

            await().atMost(TIMEOUT).until(() -> refused.error.get() != null);
            assertThat(refused.error.get()).isInstanceOf(RedisCommandExecutionException.class)
                    .hasMessageStartingWith("NOPERM");
            assertThat(later).failsWithin(TIMEOUT).withThrowableOfType(ExecutionException.class)
                    .withCauseInstanceOf(RedisCommandExecutionException.class).withMessageContaining("NOPERM");
            assertThat(pool.commands().publish("allowed.c", "c1").block(TIMEOUT)).isEqualTo(1L);
            await().atMost(TIMEOUT).until(() -> allowed.count() == 1);
            assertThat(allowed.error.get()).isNull();
            // allowed.warm and the three allowed channels; nothing counted for the refused ones
            assertThat(pool.pubSubStats().subscriptions()).isEqualTo(4);
            assertThat(pool.pubSubStats().subscribers()).isEqualTo(2);
        }
    }

    @Test
    void aRefusedChannelOfOneSubscriberWaitingForTheConnectionLeavesTheOthersSubscribed(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uriForUser("listener"))
                .name("waiting-acl").workers(1).build()) {
            PubSubRecorder allowed = new PubSubRecorder();
            PubSubRecorder refused = new PubSubRecorder();
            pool.loops().loop(0).execute(() -> { // both wait for the same connect
                pool.subscribe("allowed.news").subscribe(allowed);
                pool.subscribe("secret").subscribe(refused);
            });

            await().atMost(TIMEOUT).until(() -> refused.error.get() != null);
            assertThat(refused.error.get()).hasMessageStartingWith("NOPERM");
            await().atMost(TIMEOUT).until(() -> numsub(redis, "allowed.news") == 1);
            assertThat(pool.commands().publish("allowed.news", "hello").block(TIMEOUT)).isEqualTo(1L);
            await().atMost(TIMEOUT).until(() -> allowed.count() == 1);
            assertThat(allowed.error.get()).isNull();
        }
    }

    /**
     * The pattern of getting-started and the sample's event stream, cancelled while the element that starts the stream
     * is written: the messages were handed out, but the {@code startWith} never subscribed to them. The cancel reaches
     * the hand-out's {@code Mono} alone, and it must end the subscription: nothing else would.
     */
    @Test
    void aCancelAfterTheHandOutEndsASubscriptionWhoseMessagesNobodySubscribedTo(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("handout").workers(1)
                .build()) {
            AtomicReference<Flux<PubSubMessage<String, String>>> handedOut = new AtomicReference<>();
            StepVerifier.create(pool.subscribeLater("news").doOnNext(handedOut::set)
                    .flatMapMany(messages -> messages.map(PubSubMessage::payload).startWith("subscribed")), 1)
                    .expectNext("subscribed")
                    .thenCancel()
                    .verify(TIMEOUT);

            await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 0);
            await().atMost(TIMEOUT).until(() -> numsub(redis, "news") == 0);
            StepVerifier.create(handedOut.get())
                    .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(IllegalStateException.class)
                            .hasMessageEndingWith("were cancelled with the Mono that handed them out"))
                    .verify(TIMEOUT);
        }
    }

    @Test
    void closingThePoolBeforeRedisConfirmsCompletesEmptyAndLaterSubscribesAreRefused(RedisServer redis) {
        RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("closing").workers(1)
                .build();
        pool.subscribeLater("warm").block(TIMEOUT);
        redis.pause();
        try {
            StepVerifier.create(pool.subscribeLater("never"))
                    .then(() -> await().atMost(TIMEOUT).until(() -> pool.pubSubStats().subscribers() == 2))
                    .then(pool::close)
                    .verifyComplete();
        }
        finally {
            redis.resume();
        }
        StepVerifier.create(pool.subscribeLater("after"))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PoolClosedException.class)
                        .hasMessage("Redis pool 'closing' is closed"))
                .verify(TIMEOUT);
    }
}
