package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static io.github.affinitypool.redis.PubSubTest.numsub;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;
import reactor.util.retry.Retry;

import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/** A lost Pub/Sub connection fails every subscriber on it, clearly; subscribing again works once Redis is back. */
@RedisTest(perMethod = true)
class PubSubFaultTest {

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
                        .hasMessageStartingWith("Redis pool 'fault' (worker " + worker + "): Pub/Sub connection to redis://127.0.0.1:"
                                + redis.port() + " lost")
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
                            .hasMessageStartingWith("Redis pool 'fault' (worker 0): cannot open a Pub/Sub connection to "
                                    + "redis://127.0.0.1:" + redis.port() + ": "))
                    .verify(TIMEOUT);
            assertThat(pool.pubSubStats().open()).isZero();

            redis.restart();

            // Resubscribe, the way an application would: retry until Redis answers.
            Retry untilRedisAnswers = Retry.fixedDelay(100, Duration.ofMillis(50));
            PubSubRecorder channel = PubSubRecorder.onWorker(pool, 1, pool.subscribe("alerts").retryWhen(untilRedisAnswers));
            PubSubRecorder pattern = PubSubRecorder.onWorker(pool, 1, pool.psubscribe("alert*").retryWhen(untilRedisAnswers));
            await().atMost(TIMEOUT).until(() -> numsub(redis, "alerts") == 1 && patternClients(redis) == 1);
            assertThat(pool.commands().publish("alerts", "back").retryWhen(untilRedisAnswers).block(TIMEOUT)).isEqualTo(2L);
            await().atMost(TIMEOUT).until(() -> channel.count() == 1 && pattern.count() == 1);
            assertThat(channel.messages()).containsExactly(new PubSubMessage<>("alerts", null, "back"));
            assertThat(pattern.messages()).containsExactly(new PubSubMessage<>("alerts", "alert*", "back"));
            assertThat(channel.threads()).containsExactly(loopThread(pool.loops(), 1));
            assertThat(pool.pubSubStats().open()).isEqualTo(1);
            assertThat(redis.clientNames("affinity-pool.fault.pubsub.")).containsExactly(
                    "affinity-pool.fault.pubsub.w1");
        }
    }

    /** @return clients with a pattern subscription ({@code PUBSUB NUMPAT} counts distinct patterns on Redis 7) */
    private static long patternClients(RedisServer redis) {
        return redis.command("CLIENT", "LIST").lines().filter(line -> line.contains(" psub=1 ")).count();
    }
}
