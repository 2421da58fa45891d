package io.github.affinitypool.redis;

/**
 * A message received through {@link RedisAffinityPool#subscribe} or {@link RedisAffinityPool#psubscribe}.
 *
 * @param channel the channel the message was published to
 * @param pattern the pattern that matched the channel, or {@code null} for a plain (channel) subscription
 * @param payload the message
 * @param <K> key (channel) type
 * @param <V> value (payload) type
 */
public record PubSubMessage<K, V>(K channel, K pattern, V payload) {

    /** @return whether the message came through a pattern subscription */
    public boolean isPatternMessage() {
        return pattern != null;
    }
}
