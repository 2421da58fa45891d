package io.github.affinitypool.autoconfigure.actuate;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

import io.github.affinitypool.redis.RedisAffinityPool;
import reactor.core.publisher.Mono;

import org.springframework.boot.health.contributor.AbstractReactiveHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Health of the Redis affinity pool: a PING through the pool's shared commands, bounded by a short timeout, with the
 * pool's mode, workers and connection counts as details. The error detail is the exception's type and message;
 * neither Lettuce nor the pool puts a password into those.
 */
public class RedisAffinityPoolHealthIndicator extends AbstractReactiveHealthIndicator {

    private final RedisAffinityPool<?, ?> pool;

    private final Duration timeout;

    /**
     * @param pool the pool to check
     * @param timeout how long the PING may take before the pool counts as down
     */
    public RedisAffinityPoolHealthIndicator(RedisAffinityPool<?, ?> pool, Duration timeout) {
        super("Redis affinity pool health check failed");
        this.pool = pool;
        this.timeout = timeout;
    }

    @Override
    protected Mono<Health> doHealthCheck(Health.Builder builder) {
        return pool.commands().ping()
                // Reactor's own TimeoutException message names neither the PING nor the timeout's origin.
                .timeout(timeout, Mono.error(() -> new TimeoutException(
                        "no reply to PING within the health timeout of " + timeout.toMillis() + " ms")))
                .map(pong -> builder.up().withDetails(PoolDetails.of(pool)).build())
                .onErrorResume(error -> Mono.just(builder.down()
                        .withDetails(PoolDetails.of(pool))
                        .withDetail("error", error.getClass().getName() + ": " + error.getMessage())
                        .build()));
    }
}
