package io.github.affinitypool.sample;

import java.nio.charset.StandardCharsets;

import io.lettuce.core.api.reactive.RedisReactiveCommands;
import reactor.core.publisher.Mono;

import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Plain commands on the injected, affinity-routed {@link RedisReactiveCommands}: each call goes over the
 * multiplexed connection pinned to the event loop serving the request.
 */
@RestController
class KeyValueController {

    private static final MediaType TEXT_PLAIN_UTF8 = new MediaType(MediaType.TEXT_PLAIN, StandardCharsets.UTF_8);

    private final RedisReactiveCommands<String, String> redis;

    private final AffinityRecorder affinity;

    KeyValueController(RedisReactiveCommands<String, String> redis, AffinityRecorder affinity) {
        this.redis = redis;
        this.affinity = affinity;
    }

    /**
     * Always {@code text/plain}: the value is whatever a client stored, and negotiated for a browser's {@code Accept}
     * it would go out as {@code text/html}, a stored script running on the dashboard's origin.
     */
    @GetMapping("/kv/{key}")
    Mono<ResponseEntity<String>> get(@PathVariable String key) {
        return affinity.track(redis.get(key))
                .map(value -> ResponseEntity.ok().contentType(TEXT_PLAIN_UTF8)
                        .header("X-Content-Type-Options", "nosniff").body(value))
                .defaultIfEmpty(ResponseEntity.notFound().build());
    }

    /** An empty body stores an empty string (WebFlux hands it over as no body at all). */
    @PutMapping("/kv/{key}")
    Mono<ResponseEntity<Void>> put(@PathVariable String key, @RequestBody(required = false) String body,
            @RequestParam(required = false) Long ttl) {
        String value = (body != null) ? body : "";
        Mono<String> write = (ttl != null) ? redis.setex(key, TimeToLive.check(ttl), value) : redis.set(key, value);
        return affinity.track(write).thenReturn(ResponseEntity.noContent().build());
    }
}
