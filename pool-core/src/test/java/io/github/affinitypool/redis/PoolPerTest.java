package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/**
 * Base of the tests that run against one Redis server per class, emptied before each test, with a pool of their own
 * built for each test from the configuration given to the constructor.
 */
@RedisTest
abstract class PoolPerTest {

    private final UnaryOperator<RedisAffinityPool.Builder<String, String>> configuration;

    RedisServer redis;

    RedisAffinityPool<String, String> pool;

    /** @param configuration configures the builder of each test's pool */
    PoolPerTest(UnaryOperator<RedisAffinityPool.Builder<String, String>> configuration) {
        this.configuration = configuration;
    }

    @BeforeEach
    void startPool(RedisServer redis) {
        this.redis = redis;
        redis.command("FLUSHALL");
        this.pool = customize(configuration.apply(RedisAffinityPool.builder(redis.uri()))).build();
    }

    /** @return the configured builder with what a test class adds per instance (nothing by default) */
    RedisAffinityPool.Builder<String, String> customize(RedisAffinityPool.Builder<String, String> builder) {
        return builder;
    }

    @AfterEach
    void closePool() {
        pool.close();
    }

    /**
     * @return {@code builder} named {@code name}, with {@code workers} standalone workers, at most {@code maxOpen}
     *         exclusive connections (one idle per worker) and {@code commandTimeout}
     */
    static RedisAffinityPool.Builder<String, String> exclusive(RedisAffinityPool.Builder<String, String> builder,
            String name, int workers, int maxOpen, Duration commandTimeout) {
        return builder.name(name).workers(workers)
                .poolConfig(AffinityPoolConfig.builder().maxOpen(maxOpen).maxIdlePerWorker(1).build())
                .commandTimeout(commandTimeout);
    }
}
