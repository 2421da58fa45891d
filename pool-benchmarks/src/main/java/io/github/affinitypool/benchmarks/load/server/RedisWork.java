package io.github.affinitypool.benchmarks.load.server;

import java.util.function.Function;

import io.lettuce.core.api.reactive.RedisReactiveCommands;
import reactor.core.publisher.Mono;

/** The {@link BenchOps} commands written once against Lettuce's reactive API, for the setups built on Lettuce. */
final class RedisWork {

    private RedisWork() {
    }

    /**
     * @param runner runs a piece of work on some commands: directly on shared ones, or on a borrowed connection
     *               released when the work completes
     * @return the three operations, each run through {@code runner}
     */
    static BenchOps ops(Function<Function<RedisReactiveCommands<String, String>, Mono<String>>, Mono<String>> runner) {
        return new BenchOps(() -> runner.apply(RedisWork::get), () -> runner.apply(RedisWork::set),
                () -> runner.apply(RedisWork::mix));
    }

    private static Mono<String> get(RedisReactiveCommands<String, String> redis) {
        return redis.get(BenchOps.GET_KEY);
    }

    private static Mono<String> set(RedisReactiveCommands<String, String> redis) {
        return redis.set(BenchOps.SET_KEY, BenchOps.VALUE);
    }

    private static Mono<String> mix(RedisReactiveCommands<String, String> redis) {
        return redis.get(BenchOps.GET_KEY)
                .flatMap(value -> redis.set(BenchOps.SET_KEY, BenchOps.VALUE)
                        .then(redis.incr(BenchOps.COUNTER_KEY))
                        .thenReturn(value));
    }
}
