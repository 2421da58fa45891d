package io.github.affinitypool.sample;

import io.github.affinitypool.redis.RedisAffinityPool;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * Server-sent events from Redis Pub/Sub. Every subscriber on a worker shares that worker's one Pub/Sub connection,
 * so hundreds of open event streams use at most one connection per event loop, never the command pool.
 */
@RestController
class EventsController {

    /** Name of the event that ends a stream whose subscription failed: the data is the reason. */
    static final String ERROR_EVENT = "error";

    private static final ServerSentEvent<String> SUBSCRIBED = ServerSentEvent.<String>builder().comment("subscribed")
            .build();

    private final RedisAffinityPool<String, String> pool;

    private final RedisReactiveCommands<String, String> redis;

    EventsController(RedisAffinityPool<String, String> pool, RedisReactiveCommands<String, String> redis) {
        this.pool = pool;
        this.redis = redis;
    }

    @GetMapping(path = "/events/{channel}", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    Flux<ServerSentEvent<String>> events(@PathVariable String channel) {
        if (channel.indexOf('\r') >= 0 || channel.indexOf('\n') >= 0) {
            // The channel is each event's name, and a line break cannot be written in one.
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "channel must not contain a line break");
        }
        // The stream opens with a comment once Redis has confirmed the SUBSCRIBE: a client sees the response start
        // as soon as it is listening (not at the first message), and receives everything published from then on.
        // A failure before that is an error response (RedisErrorResponses); after it, the response has started, so
        // the stream ends with an "error" event instead (an EventSource then reconnects, which resubscribes).
        return pool.subscribeLater(channel).flatMapMany(messages -> messages
                .map(message -> ServerSentEvent.builder(message.payload()).event(message.channel()).build())
                .onErrorResume(error -> Mono.just(ServerSentEvent.builder(String.valueOf(error.getMessage()))
                        .event(ERROR_EVENT).build()))
                .startWith(SUBSCRIBED));
    }

    /** Publishes the body; answers how many Redis subscribers (Pub/Sub connections) received it. */
    @PostMapping("/events/{channel}")
    Mono<Long> publish(@PathVariable String channel, @RequestBody String message) {
        return redis.publish(channel, message);
    }
}
