package io.github.affinitypool.autoconfigure.actuate;

import java.util.LinkedHashMap;
import java.util.Map;

import io.github.affinitypool.core.PoolStats;
import io.github.affinitypool.redis.PubSubStats;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.redis.SharedStats;

/**
 * The summary of a pool shown in health details: mode, workers and connection counts per kind. No URL, so no
 * password.
 */
final class PoolDetails {

    private PoolDetails() {
    }

    static Map<String, Object> of(RedisAffinityPool<?, ?> pool) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", pool.name());
        details.put("mode", mode(pool));
        details.put("workers", pool.loops().size());
        details.put("command", counts(pool.stats().total()));
        PubSubStats pubSub = pool.pubSubStats();
        Map<String, Integer> pubSubCounts = new LinkedHashMap<>();
        pubSubCounts.put("open", pubSub.open());
        pubSubCounts.put("idle", pubSub.idle());
        pubSubCounts.put("subscriptions", pubSub.subscriptions());
        pubSubCounts.put("subscribers", pubSub.subscribers());
        pubSubCounts.put("pending", pubSub.pending());
        details.put("pubsub", pubSubCounts);
        // No idle (nor acquired, nor pending): a multiplexed connection is never leased, so it is never idle either.
        SharedStats shared = pool.sharedStats();
        Map<String, Integer> sharedCounts = new LinkedHashMap<>();
        sharedCounts.put("open", shared.open());
        sharedCounts.put("connecting", shared.connecting());
        sharedCounts.put("unavailable", shared.unavailable());
        details.put("shared", sharedCounts);
        return details;
    }

    /** @return {@code standalone} when the pool owns its loops, else {@code integrated} */
    static String mode(RedisAffinityPool<?, ?> pool) {
        return pool.loops().isOwned() ? "standalone" : "integrated";
    }

    static Map<String, Integer> counts(PoolStats stats) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        counts.put("open", stats.open());
        counts.put("idle", stats.idle());
        counts.put("acquired", stats.acquired());
        counts.put("pending", stats.pending());
        return counts;
    }
}
