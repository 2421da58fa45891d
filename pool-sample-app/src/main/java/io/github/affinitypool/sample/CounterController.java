package io.github.affinitypool.sample;

import java.util.List;
import java.util.regex.Pattern;

import io.github.affinitypool.redis.RedisAffinityPool;
import io.lettuce.core.TransactionResult;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * {@code POST /counters/{key}}: MULTI / INCR / EXPIRE / EXEC on an exclusive lease of the request's own worker;
 * answers the new count.
 */
@RestController
class CounterController {

    /**
     * The integers INCR takes, as Redis parses them: no '+', no leading zero, no "-0", ASCII digits only (all four of
     * which {@link Long#parseLong} accepts).
     */
    private static final Pattern REDIS_INTEGER = Pattern.compile("-?[1-9][0-9]*|0");

    private final RedisAffinityPool<String, String> pool;

    private final AffinityRecorder affinity;

    CounterController(RedisAffinityPool<String, String> pool, AffinityRecorder affinity) {
        this.pool = pool;
        this.affinity = affinity;
    }

    @PostMapping("/counters/{key}")
    Mono<Long> increment(@PathVariable String key, @RequestParam(defaultValue = "3600") long ttl) {
        long seconds = TimeToLive.check(ttl);
        // Redis runs every queued command even when one fails, so a key that is no counter (or one INCR would
        // overflow) is refused before MULTI: else INCR would fail and EXPIRE would still put a TTL on someone else's
        // data. (A key that changes between the read and EXEC would still get it; WATCH would close that gap at the
        // price of retries under contention.)
        return affinity.track(pool.transaction(List.of(), redis -> redis.get(key).map(value -> counter(key, value))
                .defaultIfEmpty(0L), (redis, current) -> Flux.merge(redis.incr(key), redis.expire(key, seconds))))
                .flatMap(CounterController::newCount);
    }

    private static long counter(String key, String value) {
        long count;
        try {
            count = REDIS_INTEGER.matcher(value).matches() ? Long.parseLong(value) : notACounter(key);
        }
        catch (NumberFormatException beyondALong) {
            return notACounter(key); // INCR refuses it too
        }
        if (count == Long.MAX_VALUE) {
            throw new ResponseStatusException(HttpStatus.CONFLICT,
                    "'" + key + "' holds " + value + ": incrementing it would overflow");
        }
        return count;
    }

    private static long notACounter(String key) {
        throw new ResponseStatusException(HttpStatus.CONFLICT, "'" + key + "' holds a value that is not a counter");
    }

    /** @return INCR's result, or the error reply of INCR or EXPIRE (an overflowing INCR, ...) */
    private static Mono<Long> newCount(TransactionResult result) {
        for (Object reply : result) {
            if (reply instanceof RuntimeException error) {
                return Mono.error(error);
            }
        }
        return Mono.just(result.get(0));
    }
}
