package io.github.affinitypool.autoconfigure.metrics;

import java.util.Locale;

import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.core.Locality;

/**
 * How the pool's enums appear as tag values ({@code reason}, {@code locality}): lower case, words joined by
 * {@code -}, such as {@code idle-time} and {@code off-loop}. In a class of its own, free of Micrometer, so that the
 * {@code redispool} endpoint names a {@link CloseReason} as the {@code redis.pool.connections.closed} counter does,
 * with or without Micrometer on the class path.
 */
public final class AffinityPoolTagValues {

    private AffinityPoolTagValues() {
    }

    /**
     * @param value a {@link CloseReason} or {@link Locality}
     * @return its tag value
     */
    public static String of(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
