package io.github.affinitypool.autoconfigure;

import java.time.Duration;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.redis.RedisUris;

/**
 * Checks {@link AffinityPoolProperties} before any connection is opened, so a bad value stops start-up with a
 * message naming the property instead of failing later under load.
 */
public final class AffinityPoolPropertiesValidator {

    private static final String P = AffinityPoolProperties.PREFIX + ".";

    private static final String NO_LIMIT = "0 (no limit)";

    private AffinityPoolPropertiesValidator() {
    }

    /**
     * @param properties the bound properties
     * @param workers the number of workers the pool will have (derived defaults depend on it)
     * @throws InvalidAffinityPoolPropertyException for the first invalid value
     */
    static void validate(AffinityPoolProperties properties, int workers) {
        validateConnection(properties);
        AffinityPoolProperties.Pool pool = properties.getPool();
        int maxOpen = (pool.getMaxOpen() != null) ? pool.getMaxOpen() : workers * 4;
        atLeast("pool.max-open", pool.getMaxOpen(), 1, "a positive number of connections (default: workers × 4)");
        atLeast("pool.max-idle-per-worker", pool.getMaxIdlePerWorker(), 0, "0 or more");
        atLeast("pool.min-idle-per-worker", pool.getMinIdlePerWorker(), 0, "0 or more");
        if (pool.getMinIdlePerWorker() > pool.getMaxIdlePerWorker()) {
            throw new InvalidAffinityPoolPropertyException(P + "pool.min-idle-per-worker", pool.getMinIdlePerWorker(),
                    "must not exceed pool.max-idle-per-worker (" + pool.getMaxIdlePerWorker() + ")",
                    "Lower " + P + "pool.min-idle-per-worker or raise " + P + "pool.max-idle-per-worker.");
        }
        if (pool.getMaxIdlePerWorker() > maxOpen) {
            throw new InvalidAffinityPoolPropertyException(P + "pool.max-idle-per-worker", pool.getMaxIdlePerWorker(),
                    "must not exceed pool.max-open (" + maxOpen + ")",
                    "Lower " + P + "pool.max-idle-per-worker or raise " + P + "pool.max-open.");
        }
        if ((long) pool.getMinIdlePerWorker() * workers > maxOpen) {
            throw new InvalidAffinityPoolPropertyException(P + "pool.min-idle-per-worker", pool.getMinIdlePerWorker(),
                    "× " + workers + " workers exceeds pool.max-open (" + maxOpen + ")",
                    "Lower " + P + "pool.min-idle-per-worker or raise " + P + "pool.max-open.");
        }
        notNegative("pool.max-lifetime", pool.getMaxLifetime(), NO_LIMIT);
        notNegative("pool.max-idle-time", pool.getMaxIdleTime(), NO_LIMIT);
        positive("pool.acquire-timeout", pool.getAcquireTimeout());
        atLeast("pool.max-pending-acquires", pool.getMaxPendingAcquires(), 0, "0 (fail at once) or more");
        notNegative("pool.validate-after-idle", pool.getValidateAfterIdle(), "0 (check on every borrow)");
        positive("pool.eviction-interval", pool.getEvictionInterval());
        atLeast("pool.max-concurrent-connects", pool.getMaxConcurrentConnects(), 1,
                "a positive number (default: the number of workers)");
        if (pool.getLeakDetectionThreshold() != null) {
            positive("pool.leak-detection-threshold", pool.getLeakDetectionThreshold());
        }
        atLeast("pub-sub.max-open", properties.getPubSub().getMaxOpen(), 1,
                "a positive number (default: the number of workers)");
        atLeast("pub-sub.buffer-size", properties.getPubSub().getBufferSize(), 1, "a positive number of messages");
    }

    private static void validateConnection(AffinityPoolProperties properties) {
        String url = properties.getUrl();
        // Before the parse, with the pool's own rule: a '/', '?' or '#' in the password ends the user info there, and
        // its rest would be read as the host, the database or a fragment, and shown where those are (with '#' such a
        // URL even started: 'redis://secret#x@host' connects to host 'secret').
        if (url != null && RedisUris.userInfoNeedsEncoding(url)) {
            throw new InvalidAffinityPoolPropertyException(P + "url", RedisUrls.mask(url),
                    "the user info (up to the last '@') contains '/', '?', '#' or '@'",
                    "Percent-encode them in the user name and password of " + P + "url ('/' as %2F, '?' as %3F, "
                            + "'#' as %23, '@' as %40), for example redis://:pa%2Fss@localhost:6379.");
        }
        if (url != null && RedisUrls.hostHasUnderscore(url)) {
            throw new InvalidAffinityPoolPropertyException(P + "url", RedisUrls.mask(url),
                    "the host name contains '_', which java.net.URI (read by Lettuce) does not accept in a host name",
                    "Reach Redis under a name without '_' (a network alias such as redis-cache) or by its IP address "
                            + "in " + P + "url.");
        }
        if (url != null && !RedisUrls.isWellFormed(url)) {
            throw new InvalidAffinityPoolPropertyException(P + "url", RedisUrls.mask(url),
                    "not a Redis URL",
                    "Set " + P + "url to redis://[[user]:password@]host[:port][/database], or rediss:// for TLS "
                            + "(Unix domain sockets, redis-socket://, are not supported).");
        }
        if (properties.getName() == null || properties.getName().isBlank()) {
            throw new InvalidAffinityPoolPropertyException(P + "name", properties.getName(), "must not be blank",
                    "Set " + P + "name to a short name such as 'default'.");
        }
        atLeast("workers", properties.getWorkers(), 1, "a positive number (default: available processors)");
        atLeast("shared-connections-per-worker", properties.getSharedConnectionsPerWorker(), 1, "1 or more");
        positive("command-timeout", properties.getCommandTimeout());
        if (properties.getConnectTimeout() != null) {
            positive("connect-timeout", properties.getConnectTimeout());
        }
        healthTimeout(properties);
    }

    /**
     * The health check's timeout, checked also where the application defined its own pool, whose health the
     * starter checks although the rest of these properties configure nothing then.
     *
     * @param properties the bound properties
     * @return {@code health-timeout}
     * @throws InvalidAffinityPoolPropertyException when it is not a positive duration
     */
    public static Duration healthTimeout(AffinityPoolProperties properties) {
        positive("health-timeout", properties.getHealthTimeout());
        return properties.getHealthTimeout();
    }

    private static void atLeast(String property, Integer value, int minimum, String expected) {
        if (value != null && value < minimum) {
            throw new InvalidAffinityPoolPropertyException(P + property, value, "must be at least " + minimum,
                    "Set " + P + property + " to " + expected + ".");
        }
    }

    private static void positive(String property, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new InvalidAffinityPoolPropertyException(P + property, value, "must be a positive duration",
                    "Set " + P + property + " to a positive duration such as 2s or 500ms.");
        }
        notTooLong(property, value);
    }

    /** @param zeroMeans what 0 means for the property, for the advice */
    private static void notNegative(String property, Duration value, String zeroMeans) {
        if (value == null || value.isNegative()) {
            throw new InvalidAffinityPoolPropertyException(P + property, value, "must not be negative",
                    "Set " + P + property + " to " + zeroMeans + " or a positive duration such as 30s.");
        }
        notTooLong(property, value);
    }

    /** The pool's timers count in nanoseconds: a longer duration would overflow them (ArithmeticException). */
    private static void notTooLong(String property, Duration value) {
        if (value.compareTo(AffinityPoolConfig.MAX_DURATION) > 0) {
            throw new InvalidAffinityPoolPropertyException(P + property, value,
                    "must be at most " + AffinityPoolConfig.MAX_DURATION.toDays() + " days",
                    "Set " + P + property + " to a shorter duration; " + AffinityPoolConfig.MAX_DURATION.toDays()
                            + "d (292 years) is the longest the pool's timers count.");
        }
    }
}
