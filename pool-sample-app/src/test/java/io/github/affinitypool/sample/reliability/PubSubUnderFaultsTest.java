package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import io.github.affinitypool.redis.PubSubMessage;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.redis.RedisPoolConnectionException;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.reactive.function.client.WebClient;

import static io.github.affinitypool.sample.reliability.RedisKilledUnderLoadTest.millis;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 7: Pub/Sub under faults, end to end through the sample's server-sent events ({@code GET /events/{channel}},
 * {@code POST /events/{channel}}) and in-process subscribers, with the Pub/Sub cap below the number of workers. When
 * Redis dies every subscriber sees an error, not silence: an SSE stream ends with an {@code error} event, an
 * in-process {@code Flux} fails with a {@link RedisPoolConnectionException}, both naming the pool, the worker and the
 * server; after Redis is back
 * they can subscribe again and receive what is published; and at no point does the app hold more Pub/Sub connections
 * than the cap (sampled in {@code CLIENT LIST} and in the pool's own statistics).
 */
@RedisTest
class PubSubUnderFaultsTest {

    private static final int CAP = 2;

    private static final int HTTP_SUBSCRIBERS = 12;

    private static final String CHANNEL = "news";

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void subscribersSeeAnErrorWhenRedisDiesCanResubscribeAndThePubSubPoolStaysWithinItsCap(RedisServer redis)
            throws Exception {
        AtomicInteger maximumOpen = new AtomicInteger();
        try (ReliabilityApp app = ReliabilityApp.start(redis, "affinity-pool.redis.pub-sub.max-open=" + CAP);
                ClientListSampler pubSubClients = new ClientListSampler(redis,
                        ReliabilityApp.CLIENT_PREFIX + "pubsub.");
                BackgroundSampler openSampler = new BackgroundSampler("pubsub-open-sampler", 5,
                        () -> maximumOpen.accumulateAndGet(app.pool.pubSubStats().open(), Math::max))) {
            RedisAffinityPool<String, String> pool = app.pool;
            int workers = pool.loops().size();
            assertThat(workers).as("workers").isGreaterThan(CAP);
            WebClient web = WebClient.builder().clientConnector(new ReactorClientHttpConnector(app.http))
                    .baseUrl("http://127.0.0.1:" + app.port).build();

            // Subscribers over HTTP (spread over the server's loops by their connections) and one on each worker.
            List<Stream> before = new ArrayList<>();
            for (int i = 0; i < HTTP_SUBSCRIBERS; i++) {
                before.add(Stream.of(sse(web)));
            }
            for (int worker = 0; worker < workers; worker++) {
                before.add(Stream.of(pool.subscribe(CHANNEL).map(PubSubMessage::payload)
                        .subscribeOn(pool.loops().scheduler(worker))));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> pool.pubSubStats().subscribers() == before.size());
            assertThat(publish(web, "before")).as("Pub/Sub connections that got the message").isBetween(1L, (long) CAP);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> before.stream().allMatch(s -> s.received.contains("before")));

            long killedAt = System.nanoTime();
            redis.kill();
            await().atMost(Duration.ofSeconds(10)).until(() -> before.stream().allMatch(s -> s.ended.get() != 0));
            for (Stream stream : before) {
                assertThat(stream.error.get()).as("how the stream ended (not silently, not completed)").isNotNull();
            }
            String lost = "Redis pool 'rel' \\(worker \\d\\): Pub/Sub connection to redis://127\\.0\\.0\\.1:"
                    + redis.port() + " lost: .*; subscribe again to resubscribe";
            List<Throwable> overHttp = before.subList(0, HTTP_SUBSCRIBERS).stream().map(s -> s.error.get()).toList();
            assertThat(overHttp).allSatisfy(error -> assertThat(error).isInstanceOf(StreamEndedWithError.class)
                    .hasMessageMatching(lost));
            List<Throwable> inProcess = before.subList(HTTP_SUBSCRIBERS, before.size()).stream()
                    .map(stream -> stream.error.get()).toList();
            assertThat(inProcess).allSatisfy(error -> assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                    .hasMessageMatching(lost));
            long slowestErrorMillis = before.stream().mapToLong(s -> millis(s.ended.get() - killedAt)).max().orElse(-1);
            assertThat(pool.pubSubStats().subscribers()).as("subscribers left attached").isZero();

            // While Redis is down a new subscription fails at once (over HTTP: an error response, no stream).
            assertThat(web.get().uri("/events/" + CHANNEL).exchangeToMono(response -> Mono.just(response.statusCode()
                    .value())).block(Duration.ofSeconds(10))).isEqualTo(503);

            redis.start();
            long backAt = System.nanoTime();
            // Resubscribing, as a client would: retry until the server answers with a stream.
            List<Stream> after = new ArrayList<>();
            for (int i = 0; i < HTTP_SUBSCRIBERS; i++) {
                after.add(Stream.of(sse(web).retryWhen(Retry.fixedDelay(200, Duration.ofMillis(50)))));
            }
            for (int worker = 0; worker < workers; worker++) {
                after.add(Stream.of(pool.subscribe(CHANNEL).map(PubSubMessage::payload)
                        .subscribeOn(pool.loops().scheduler(worker))
                        .retryWhen(Retry.fixedDelay(200, Duration.ofMillis(50)))));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> pool.pubSubStats().subscribers() == after.size());
            long resubscribedMillis = millis(System.nanoTime() - backAt);
            assertThat(publish(web, "after")).isBetween(1L, (long) CAP);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> after.stream().allMatch(s -> s.received.contains("after")));
            for (Stream stream : after) {
                assertThat(stream.received).containsExactly("after");
                stream.subscription.dispose();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> pool.pubSubStats().subscribers() == 0);

            assertThat(pubSubClients.samples()).isGreaterThan(20);
            assertThat(pubSubClients.maximum()).as("most Pub/Sub connections in CLIENT LIST").isBetween(1, CAP);
            assertThat(maximumOpen.get()).as("most Pub/Sub connections open in the pool's statistics")
                    .isBetween(1, CAP);
            Map<String, Long> errors = before.stream().collect(Collectors.groupingBy(
                    s -> s.error.get().getClass().getSimpleName() + ": " + s.error.get().getMessage(), TreeMap::new,
                    Collectors.counting()));
            new Figures("7 pub/sub under faults")
                    .put("subscribers", before.size())
                    .put("cap", CAP)
                    .put("slowestErrorAfterKillMs", slowestErrorMillis)
                    .put("errors", errors)
                    .put("allResubscribedAfterRestartMs", resubscribedMillis)
                    .put("peakPubSubClients", pubSubClients.maximum())
                    .put("peakPubSubOpen", maximumOpen.get())
                    .report();
        }
    }

    /** The messages of an event stream, as a client reads them: an {@code error} event is the stream's failure. */
    private static Flux<String> sse(WebClient web) {
        return web.get().uri("/events/" + CHANNEL).accept(MediaType.TEXT_EVENT_STREAM).retrieve()
                .bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() {
                })
                .handle((event, sink) -> {
                    if ("error".equals(event.event())) {
                        sink.error(new StreamEndedWithError(event.data()));
                    }
                    else if (event.data() != null) {
                        sink.next(event.data());
                    }
                });
    }

    /** An event stream that ended with an {@code error} event; the message is the event's data. */
    static final class StreamEndedWithError extends RuntimeException {

        StreamEndedWithError(String reason) {
            super(reason);
        }
    }

    private static long publish(WebClient web, String message) {
        return web.post().uri("/events/" + CHANNEL).contentType(MediaType.TEXT_PLAIN).bodyValue(message).retrieve()
                .bodyToMono(Long.class).block(Duration.ofSeconds(10));
    }

    /** One subscriber: what it received and how it ended. */
    static final class Stream {

        final List<String> received = new CopyOnWriteArrayList<>();

        final AtomicReference<Throwable> error = new AtomicReference<>();

        /** {@link System#nanoTime()} when it ended (error or completion), 0 while it runs. */
        final AtomicLong ended = new AtomicLong();

        Disposable subscription;

        static Stream of(Flux<String> messages) {
            Stream stream = new Stream();
            stream.subscription = messages.subscribe(stream.received::add, error -> {
                stream.error.set(error);
                stream.ended.set(System.nanoTime());
            }, () -> stream.ended.set(System.nanoTime()));
            return stream;
        }
    }
}
