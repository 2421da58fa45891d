package io.github.affinitypool.core;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable configuration of an {@link AffinityPool}, created with {@link #builder()} and validated when built.
 * <p>
 * Two sizes depend on the number of workers and may be left at {@code 0} to get their default, which
 * {@link AffinityPool#create} resolves: {@link #maxOpen()} (workers × 4) and {@link #maxConcurrentConnects()}
 * (workers). {@link AffinityPool#config()} returns the resolved configuration.
 */
public final class AffinityPoolConfig {

    /**
     * The longest duration the pools take (about 292 years): their timers count in nanoseconds, in a {@code long}.
     * Anything longer would overflow, so it is refused when the configuration is built, not on the first acquire.
     */
    public static final Duration MAX_DURATION = Duration.ofNanos(Long.MAX_VALUE);


    private final int maxOpen;
    private final int maxIdlePerWorker;
    private final int minIdlePerWorker;
    private final Duration maxLifetime;
    private final Duration maxIdleTime;
    private final Duration acquireTimeout;
    private final int maxPendingAcquires;
    private final Duration validateAfterIdle;
    private final Duration evictionInterval;
    private final IdleOrder idleOrder;
    private final int maxConcurrentConnects;
    private final Duration closeTimeout;
    private final Duration leakDetectionThreshold;
    private final String poolLabel;
    private final String resourceNoun;
    private final String propertyPrefix;
    private final Clock clock;

    private AffinityPoolConfig(Builder builder) {
        this.maxOpen = builder.maxOpen;
        this.maxIdlePerWorker = builder.maxIdlePerWorker;
        this.minIdlePerWorker = builder.minIdlePerWorker;
        this.maxLifetime = builder.maxLifetime;
        this.maxIdleTime = builder.maxIdleTime;
        this.acquireTimeout = builder.acquireTimeout;
        this.maxPendingAcquires = builder.maxPendingAcquires;
        this.validateAfterIdle = builder.validateAfterIdle;
        this.evictionInterval = builder.evictionInterval;
        this.idleOrder = builder.idleOrder;
        this.maxConcurrentConnects = builder.maxConcurrentConnects;
        this.closeTimeout = builder.closeTimeout;
        this.leakDetectionThreshold = builder.leakDetectionThreshold;
        this.poolLabel = builder.poolLabel;
        this.resourceNoun = builder.resourceNoun;
        this.propertyPrefix = builder.propertyPrefix;
        this.clock = builder.clock;
    }

    /** @return a builder with every setting at its default */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder initialised with this configuration's settings */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Resolves the worker-dependent defaults and checks the settings that depend on them.
     *
     * @throws IllegalArgumentException naming the field when {@code maxIdlePerWorker} exceeds the resolved
     *                                  {@code maxOpen}
     */
    AffinityPoolConfig resolve(int workers) {
        Builder resolved = toBuilder();
        if (maxOpen == 0) {
            resolved.maxOpen(workers * 4);
        }
        if (maxConcurrentConnects == 0) {
            resolved.maxConcurrentConnects(workers);
        }
        return resolved.build();
    }

    /** @return the most resources open (or being opened) at once across all pools; 0 = not resolved yet */
    public int maxOpen() {
        return maxOpen;
    }

    /** @return the most idle resources a worker pool (and the overflow pool) keeps after a release */
    public int maxIdlePerWorker() {
        return maxIdlePerWorker;
    }

    /** @return idle resources each worker pool keeps open, as far as {@link #maxOpen()} allows */
    public int minIdlePerWorker() {
        return minIdlePerWorker;
    }

    /** @return the age after which a resource is closed (reduced by a random 0–10% per resource); zero = no limit */
    public Duration maxLifetime() {
        return maxLifetime;
    }

    /** @return the idle time after which a resource is closed; zero = no limit */
    public Duration maxIdleTime() {
        return maxIdleTime;
    }

    /** @return how long an acquire may take in total, including opening a resource and validating it */
    public Duration acquireTimeout() {
        return acquireTimeout;
    }

    /** @return the most borrowers that may wait; 0 = fail at once when nothing is free */
    public int maxPendingAcquires() {
        return maxPendingAcquires;
    }

    /**
     * @return the idle time after which a resource is validated, on borrow and by the background maintenance; zero =
     *         validate on every borrow
     */
    public Duration validateAfterIdle() {
        return validateAfterIdle;
    }

    /**
     * @return the interval of background eviction, validation of idle resources and refilling
     *         {@link #minIdlePerWorker()}
     */
    public Duration evictionInterval() {
        return evictionInterval;
    }

    /** @return which idle resource is handed out first */
    public IdleOrder idleOrder() {
        return idleOrder;
    }

    /** @return the most resources being opened at once; 0 = not resolved yet */
    public int maxConcurrentConnects() {
        return maxConcurrentConnects;
    }

    /** @return how long {@link AffinityPool#closeAsync()} waits for outstanding leases before closing anyway */
    public Duration closeTimeout() {
        return closeTimeout;
    }

    /** @return how long a lease may be held before it is reported as a possible leak; zero when detection is off */
    public Duration leakDetectionThreshold() {
        return leakDetectionThreshold;
    }

    /** @return how messages name the pool, for example {@code Redis pool} */
    public String poolLabel() {
        return poolLabel;
    }

    /** @return how messages name a resource, for example {@code connection} */
    public String resourceNoun() {
        return resourceNoun;
    }

    /**
     * @return the prefix of the properties messages tell the user to raise, for example
     *         {@code affinity-pool.redis.pool}
     */
    public String propertyPrefix() {
        return propertyPrefix;
    }

    /** @return the clock resource ages and idle times are measured with */
    public Clock clock() {
        return clock;
    }

    @Override
    public String toString() {
        return "AffinityPoolConfig{maxOpen=" + maxOpen + ", maxIdlePerWorker=" + maxIdlePerWorker
                + ", minIdlePerWorker=" + minIdlePerWorker + ", maxLifetime=" + maxLifetime
                + ", maxIdleTime=" + maxIdleTime
                + ", acquireTimeout=" + acquireTimeout + ", maxPendingAcquires=" + maxPendingAcquires
                + ", validateAfterIdle=" + validateAfterIdle + ", evictionInterval=" + evictionInterval
                + ", idleOrder=" + idleOrder + ", maxConcurrentConnects=" + maxConcurrentConnects
                + ", closeTimeout=" + closeTimeout + ", leakDetectionThreshold=" + leakDetectionThreshold + "}";
    }

    /** Builder of {@link AffinityPoolConfig}; {@link #build()} validates every setting. */
    public static final class Builder {

        private int maxOpen;
        private int maxIdlePerWorker = 2;
        private int minIdlePerWorker;
        private Duration maxLifetime = Duration.ofMinutes(30);
        private Duration maxIdleTime = Duration.ofMinutes(5);
        private Duration acquireTimeout = Duration.ofSeconds(2);
        private int maxPendingAcquires = 1000;
        private Duration validateAfterIdle = Duration.ofSeconds(30);
        private Duration evictionInterval = Duration.ofSeconds(30);
        private IdleOrder idleOrder = IdleOrder.LIFO;
        private int maxConcurrentConnects;
        private Duration closeTimeout = Duration.ofSeconds(10);
        private Duration leakDetectionThreshold = Duration.ZERO;
        private String poolLabel = "Redis pool";
        private String resourceNoun = "connection";
        private String propertyPrefix = "affinity-pool.redis.pool";
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        private Builder(AffinityPoolConfig config) {
            this.maxOpen = config.maxOpen;
            this.maxIdlePerWorker = config.maxIdlePerWorker;
            this.minIdlePerWorker = config.minIdlePerWorker;
            this.maxLifetime = config.maxLifetime;
            this.maxIdleTime = config.maxIdleTime;
            this.acquireTimeout = config.acquireTimeout;
            this.maxPendingAcquires = config.maxPendingAcquires;
            this.validateAfterIdle = config.validateAfterIdle;
            this.evictionInterval = config.evictionInterval;
            this.idleOrder = config.idleOrder;
            this.maxConcurrentConnects = config.maxConcurrentConnects;
            this.closeTimeout = config.closeTimeout;
            this.leakDetectionThreshold = config.leakDetectionThreshold;
            this.poolLabel = config.poolLabel;
            this.resourceNoun = config.resourceNoun;
            this.propertyPrefix = config.propertyPrefix;
            this.clock = config.clock;
        }

        /**
         * The most resources open, or being opened, at once across every worker pool and the overflow pool: a hard cap.
         * Default {@code 0}, meaning workers × 4.
         */
        public Builder maxOpen(int maxOpen) {
            this.maxOpen = maxOpen;
            return this;
        }

        /**
         * The most idle resources a worker pool keeps after a release. A resource released beyond it is spilled to the
         * overflow, where borrowers take it before opening a new one (its own worker's first). Once it has been unused
         * for an {@link #evictionInterval(Duration) eviction interval}, the worker's upkeep takes it back if the worker
         * has fewer idle than this, and closes it otherwise. The overflow pool uses the same bound. Default {@code 2}.
         */
        public Builder maxIdlePerWorker(int maxIdlePerWorker) {
            this.maxIdlePerWorker = maxIdlePerWorker;
            return this;
        }

        /**
         * Idle resources each worker pool keeps open, refilled on every eviction run and after closes, as far as
         * {@link #maxOpen(int)} allows. Default {@code 0}.
         */
        public Builder minIdlePerWorker(int minIdlePerWorker) {
            this.minIdlePerWorker = minIdlePerWorker;
            return this;
        }

        /**
         * The age after which a resource is closed instead of reused. Each resource gets this lifetime reduced by a
         * random 0–10%, so that resources opened together do not all expire together. Zero means no limit.
         * Default 30 minutes.
         */
        public Builder maxLifetime(Duration maxLifetime) {
            this.maxLifetime = maxLifetime;
            return this;
        }

        /** The idle time after which a resource is closed. Zero means no limit. Default 5 minutes. */
        public Builder maxIdleTime(Duration maxIdleTime) {
            this.maxIdleTime = maxIdleTime;
            return this;
        }

        /**
         * How long an acquire may take in total, from subscription to delivery, including opening and validating a
         * resource; also bounds each {@link PooledResourceFactory#validate} and {@link PooledResourceFactory#reset}.
         * Must be positive. Default 2 seconds.
         */
        public Builder acquireTimeout(Duration acquireTimeout) {
            this.acquireTimeout = acquireTimeout;
            return this;
        }

        /**
         * The most borrowers that may wait for a resource; one more fails at once with
         * {@link PendingAcquireLimitException}. {@code 0} fails every acquire that cannot be served at once.
         * Default {@code 1000}.
         */
        public Builder maxPendingAcquires(int maxPendingAcquires) {
            this.maxPendingAcquires = maxPendingAcquires;
            return this;
        }

        /**
         * The idle time after which a resource is checked with {@link PooledResourceFactory#validate}: before it is
         * handed out, and by each worker's background maintenance for its idle resources (a check does not restart the
         * idle time). Zero validates on every borrow of an idle resource. Default 30 seconds.
         */
        public Builder validateAfterIdle(Duration validateAfterIdle) {
            this.validateAfterIdle = validateAfterIdle;
            return this;
        }

        /**
         * How often each pool closes expired and unusable idle resources, validates the idle ones due for a check,
         * drains the overflow (excess idle resources unused for this long) and refills {@link #minIdlePerWorker(int)}.
         * Must be positive. Default 30 seconds.
         */
        public Builder evictionInterval(Duration evictionInterval) {
            this.evictionInterval = evictionInterval;
            return this;
        }

        /** Which idle resource is handed out first. Default {@link IdleOrder#LIFO}. */
        public Builder idleOrder(IdleOrder idleOrder) {
            this.idleOrder = idleOrder;
            return this;
        }

        /**
         * The most resources being opened at once, so that a restart or burst does not open a storm of connections.
         * Default {@code 0}, meaning one per worker.
         */
        public Builder maxConcurrentConnects(int maxConcurrentConnects) {
            this.maxConcurrentConnects = maxConcurrentConnects;
            return this;
        }

        /**
         * How long {@link AffinityPool#closeAsync()} waits for outstanding leases to be released before closing every
         * resource anyway. Zero does not wait. Default 10 seconds.
         */
        public Builder closeTimeout(Duration closeTimeout) {
            this.closeTimeout = closeTimeout;
            return this;
        }

        /**
         * How long a lease may be held before the pool logs a warning with the stack of the code that acquired it
         * (and one line when it finally comes back). Capturing that stack costs a stack walk per acquire, so this is
         * meant for finding leaks, not for production traffic. Default {@link Duration#ZERO}: off.
         */
        public Builder leakDetectionThreshold(Duration leakDetectionThreshold) {
            this.leakDetectionThreshold = leakDetectionThreshold;
            return this;
        }

        /** How error messages name the pool, before its quoted name. Default {@code "Redis pool"}. */
        public Builder poolLabel(String poolLabel) {
            this.poolLabel = poolLabel;
            return this;
        }

        /** How error messages name one resource. Default {@code "connection"}. */
        public Builder resourceNoun(String resourceNoun) {
            this.resourceNoun = resourceNoun;
            return this;
        }

        /**
         * The prefix of the property names error messages tell the user to raise. Default
         * {@code "affinity-pool.redis.pool"}.
         */
        public Builder propertyPrefix(String propertyPrefix) {
            this.propertyPrefix = propertyPrefix;
            return this;
        }

        /**
         * The clock resource ages and idle times are measured with, replaceable in tests. Default the UTC system clock.
         */
        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException naming the field of the first invalid setting
         */
        public AffinityPoolConfig build() {
            atLeast("maxOpen", maxOpen, 0, " (0 means workers × 4)");
            atLeast("maxIdlePerWorker", maxIdlePerWorker, 0, "");
            atLeast("minIdlePerWorker", minIdlePerWorker, 0, "");
            atLeast("maxPendingAcquires", maxPendingAcquires, 0, "");
            atLeast("maxConcurrentConnects", maxConcurrentConnects, 0, " (0 means one per worker)");
            check(minIdlePerWorker <= maxIdlePerWorker, "minIdlePerWorker (" + minIdlePerWorker
                    + ") must be ≤ maxIdlePerWorker (" + maxIdlePerWorker + ")");
            check(maxOpen == 0 || maxIdlePerWorker <= maxOpen, "maxIdlePerWorker (" + maxIdlePerWorker
                    + ") must be ≤ maxOpen (" + maxOpen + ")");
            notNegative("maxLifetime", maxLifetime);
            notNegative("maxIdleTime", maxIdleTime);
            positive("acquireTimeout", acquireTimeout);
            notNegative("validateAfterIdle", validateAfterIdle);
            positive("evictionInterval", evictionInterval);
            notNegative("closeTimeout", closeTimeout);
            notNegative("leakDetectionThreshold", leakDetectionThreshold);
            Objects.requireNonNull(idleOrder, "idleOrder must not be null");
            Objects.requireNonNull(clock, "clock must not be null");
            notBlank("poolLabel", poolLabel);
            notBlank("resourceNoun", resourceNoun);
            notBlank("propertyPrefix", propertyPrefix);
            return new AffinityPoolConfig(this);
        }

        private static void atLeast(String field, int value, int minimum, String note) {
            check(value >= minimum, field + " must be ≥ " + minimum + note + ", was " + value);
        }

        private static void notNegative(String field, Duration value) {
            Objects.requireNonNull(value, field + " must not be null");
            check(!value.isNegative(), field + " must be ≥ 0, was " + value);
            notTooLong(field, value);
        }

        private static void positive(String field, Duration value) {
            Objects.requireNonNull(value, field + " must not be null");
            check(!value.isNegative() && !value.isZero(), field + " must be > 0, was " + value);
            notTooLong(field, value);
        }

        private static void notTooLong(String field, Duration value) {
            check(value.compareTo(MAX_DURATION) <= 0, field + " must be at most " + MAX_DURATION.toDays()
                    + " days (292 years), was " + value);
        }

        private static void notBlank(String field, String value) {
            check(value != null && !value.isBlank(),
                    field + " must not be blank, was " + (value == null ? null : "'" + value + "'"));
        }

        private static void check(boolean valid, String message) {
            if (!valid) {
                throw new IllegalArgumentException(message);
            }
        }
    }
}
