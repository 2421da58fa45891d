package io.github.affinitypool.sample;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import io.github.affinitypool.redis.RedisAffinityPool;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The transactional counter and the server-sent events from Pub/Sub, through HTTP.
 */
class CountersAndEventsTests extends RedisBackedSampleTest {

    private static final ParameterizedTypeReference<ServerSentEvent<String>> SSE = new ParameterizedTypeReference<>() {
    };

    @Autowired
    RedisAffinityPool<String, String> pool;

    @Test
    void fiftyConcurrentIncrementsCountExactlyFifty() {
        WebClient client = WebClient.create(baseUrl());
        List<Long> counts = Flux.range(0, 50)
                .flatMap(i -> client.post().uri("/counters/visits?ttl=600").retrieve().bodyToMono(Long.class), 50)
                .collectList()
                .block(Duration.ofSeconds(30));
        assertThat(counts).hasSize(50);
        assertThat(Set.copyOf(counts)).hasSize(50).allSatisfy(count -> assertThat(count).isBetween(1L, 50L));
        assertThat(redis.command("GET", "visits")).isEqualTo("50");
        long ttl = Long.parseLong(redis.command("TTL", "visits"));
        assertThat(ttl).isBetween(1L, 600L);
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().total().acquired() == 0);
    }

    @Test
    void everySubscriberReceivesEachMessage() {
        assertEverySubscriberReceives("news", 2);
    }

    @Test
    void hundredsOfSubscribersShareOnePubSubConnectionPerWorker() {
        assertEverySubscriberReceives("crowd", 300);
        assertThat(pool.pubSubStats().open()).isLessThanOrEqualTo(pool.loops().size());
        assertThat(pool.stats().total().open()).isLessThanOrEqualTo(pool.poolConfig().maxOpen());
    }

    @Test
    void aStreamOpensWithACommentOnceRedisListensAndMissesNothingPublishedAfter() {
        WebClient client = WebClient.create(baseUrl());
        Sinks.Many<ServerSentEvent<String>> events = Sinks.many().replay().all();
        Disposable stream = client.get().uri("/events/opening").accept(MediaType.TEXT_EVENT_STREAM).retrieve()
                .bodyToFlux(SSE).subscribe(events::tryEmitNext);
        try {
            ServerSentEvent<String> opened = events.asFlux().blockFirst(Duration.ofSeconds(10));
            assertThat(opened.comment()).isEqualTo("subscribed");
            assertThat(opened.data()).isNull();

            // No waiting for the subscription: the comment says Redis has confirmed it.
            Long receivers = client.post().uri("/events/opening").contentType(MediaType.TEXT_PLAIN)
                    .bodyValue("right away").retrieve().bodyToMono(Long.class).block(Duration.ofSeconds(5));
            assertThat(receivers).isEqualTo(1L);
            ServerSentEvent<String> message = events.asFlux().skip(1).blockFirst(Duration.ofSeconds(10));
            assertThat(message.event()).isEqualTo("opening");
            assertThat(message.data()).isEqualTo("right away");
        }
        finally {
            stream.dispose();
        }
    }

    @Test
    void clientsThatLeaveBeforeAnyMessageLeaveNoSubscriptionBehind() {
        WebClient client = WebClient.create(baseUrl());
        int subscribers = 50;
        // Nothing is published: the clients go after the opening comment.
        Disposable streams = Flux.range(0, subscribers)
                .flatMap(i -> client.get().uri("/events/quiet").accept(MediaType.TEXT_EVENT_STREAM).retrieve()
                        .bodyToFlux(SSE), subscribers)
                .subscribe();
        await().atMost(Duration.ofSeconds(20)).until(() -> pool.pubSubStats().subscribers() == subscribers);
        assertThat(numsub("quiet")).isPositive();

        streams.dispose();

        await().atMost(Duration.ofSeconds(10)).until(() -> pool.pubSubStats().subscribers() == 0);
        await().atMost(Duration.ofSeconds(10)).until(() -> numsub("quiet") == 0);
    }

    private void assertEverySubscriberReceives(String channel, int subscribers) {
        WebClient client = WebClient.create(baseUrl());
        Sinks.Many<String> received = Sinks.many().replay().all();
        Disposable streams = Flux.range(0, subscribers)
                .flatMap(i -> client.get().uri("/events/" + channel).accept(MediaType.TEXT_EVENT_STREAM).retrieve()
                        .bodyToFlux(SSE).filter(event -> event.data() != null).take(2)
                        .map(event -> i + ":" + event.event() + ":" + event.data()), subscribers)
                .subscribe(received::tryEmitNext);
        try {
            // Publish only once Redis confirmed the subscriptions of every worker that has subscribers.
            await().atMost(Duration.ofSeconds(20)).until(() -> pool.pubSubStats().subscribers() == subscribers
                    && numsub(channel) == pool.pubSubStats().workers().stream()
                            .filter(w -> w.subscribers() > 0).count());
            // One Redis subscriber (Pub/Sub connection) per worker with subscribers, however many subscribers.
            long connections = numsub(channel);
            for (String message : List.of("first", "second")) {
                Long receivers = client.post().uri("/events/" + channel).contentType(MediaType.TEXT_PLAIN)
                        .bodyValue(message).retrieve().bodyToMono(Long.class).block(Duration.ofSeconds(5));
                assertThat(receivers).isEqualTo(connections);
            }
            List<String> events = received.asFlux().take(2L * subscribers).collectList()
                    .block(Duration.ofSeconds(20));
            assertThat(events).hasSize(2 * subscribers);
            assertThat(events.stream().filter(e -> e.endsWith(":" + channel + ":first")).map(e -> e.split(":")[0])
                    .collect(Collectors.toSet())).hasSize(subscribers);
            assertThat(events.stream().filter(e -> e.endsWith(":" + channel + ":second")).count())
                    .isEqualTo(subscribers);
        }
        finally {
            streams.dispose();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> numsub(channel) == 0);
    }

    private long numsub(String channel) {
        String reply = redis.command("PUBSUB", "NUMSUB", channel);
        // "channel\ncount" or "[channel, count]" depending on the harness's text form: take the last number.
        String[] parts = reply.replaceAll("[^0-9]+", " ").trim().split(" ");
        return Long.parseLong(parts[parts.length - 1]);
    }
}
