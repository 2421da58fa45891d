package io.github.affinitypool.autoconfigure;

import io.github.affinitypool.redis.RedisAffinityPool;

/**
 * Callback to adjust the auto-configured {@link RedisAffinityPool} before it is built, for example its Lettuce
 * {@code ClientOptions} or a Netty customizer. Every bean of this type is applied, in {@code @Order}.
 * <p>
 * Listeners added here run beside the starter's meters: the builder's {@code listener(...)} methods add, never replace.
 * <p>
 * The codec must stay UTF-8 strings: the pool is offered as {@code RedisAffinityPool<String, String>} and
 * {@code RedisReactiveCommands<String, String>}, so a customizer that changes it with {@code builder.codec(...)}
 * stops start-up. To use another codec, define your own {@link RedisAffinityPool} bean instead: the
 * auto-configuration backs off (build it with
 * {@link io.github.affinitypool.autoconfigure.metrics.AffinityPoolMetricsBinder#build AffinityPoolMetricsBinder} to
 * keep the meters).
 */
@FunctionalInterface
public interface RedisAffinityPoolCustomizer {

    /**
     * @param builder the builder, already configured from {@code affinity-pool.redis.*}
     */
    void customize(RedisAffinityPool.Builder<String, String> builder);
}
