package io.github.affinitypool.autoconfigure.actuate;

import java.util.function.Predicate;
import java.util.regex.Pattern;

import io.github.affinitypool.autoconfigure.RedisUrls;

import org.springframework.boot.actuate.endpoint.SanitizableData;
import org.springframework.boot.actuate.endpoint.SanitizingFunction;

/**
 * Masks the password of any Redis URL ({@code redis://}, {@code rediss://}, Sentinel and the other schemes Lettuce
 * reads) that {@code /actuator/env} and {@code /actuator/configprops} show, whatever property holds it
 * ({@code affinity-pool.redis.url}, {@code spring.data.redis.url}, an environment variable).
 * <p>
 * Spring Boot masks every value unless {@code show-values} is set, and then shows them as they are: a URL would keep
 * its password in plain sight, where its host, port and database are what someone reading the endpoint is after. So
 * only the password goes, as in the pool's own endpoint and failure reports.
 */
final class RedisUrlSanitizingFunction implements SanitizingFunction {

    /** Every scheme Lettuce reads: {@code redis}, {@code rediss}, {@code redis+ssl}, {@code redis-sentinel}, .... */
    private static final Pattern REDIS_SCHEME = Pattern.compile("(?i)^rediss?([+-][a-z]+)?://");

    @Override
    public Predicate<SanitizableData> filter() {
        return data -> data.getValue() instanceof String value && isRedisUrl(value);
    }

    @Override
    public SanitizableData apply(SanitizableData data) {
        return data.withValue(RedisUrls.mask((String) data.getValue()));
    }

    private static boolean isRedisUrl(String value) {
        return REDIS_SCHEME.matcher(value).find();
    }
}
