package io.github.affinitypool.sample;

import io.github.affinitypool.redis.RedisAffinityPool;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /counters/{key}}: MULTI / INCR / EXPIRE / EXEC on an exclusive lease of the request's own worker;
 * answers the new count.
 */
@RestController
class CounterController {

    private final RedisAffinityPool<String, String> pool;

    private final AffinityRecorder affinity;

    CounterController(RedisAffinityPool<String, String> pool, AffinityRecorder affinity) {
        this.pool = pool;
        this.affinity = affinity;
    }

    @PostMapping("/counters/{key}")
    Mono<ResponseEntity<Long>> increment(@PathVariable String key,
            @RequestParam(defaultValue = "3600") long ttl) {
        if (ttl <= 0) {
            return Mono.just(ResponseEntity.badRequest().build());
        }
        return affinity.track(pool.transaction(redis -> Flux.merge(redis.incr(key), redis.expire(key, ttl))))
                .map(result -> ResponseEntity.ok((Long) result.get(0)));
    }
}
