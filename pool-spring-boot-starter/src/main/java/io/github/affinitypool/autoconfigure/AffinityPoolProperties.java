package io.github.affinitypool.autoconfigure;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.NestedConfigurationProperty;

/**
 * Configuration properties of the Redis affinity pool ({@code affinity-pool.redis.*}).
 */
@ConfigurationProperties(AffinityPoolProperties.PREFIX)
public class AffinityPoolProperties {

    /** Prefix of every property of this class. */
    public static final String PREFIX = "affinity-pool.redis";

    /**
     * Whether to auto-configure the Redis affinity pool.
     */
    private boolean enabled = true;

    /**
     * Redis URL, such as redis://user:password@host:6379/0 or rediss:// for TLS; a '/', '?', '#' or '@' in the user
     * name or password must be percent-encoded (%2F, %3F, %23, %40). When not set, Spring Boot's Redis connection
     * details (spring.data.redis.*) are used if present, else redis://localhost:6379.
     */
    private String url;

    /**
     * Name of the pool, used in error messages, metric tags and the connection's CLIENT SETNAME.
     */
    private String name = "default";

    /**
     * Where the pool's connections live: on the Reactor Netty web server's event loops (integrated), on event
     * loops of its own (standalone), or integrated when a Reactor Netty web server runs and standalone otherwise
     * (auto).
     */
    private Mode mode = Mode.AUTO;

    /**
     * Number of event loops the pool creates in standalone mode. Defaults to the number of available processors.
     * Ignored in integrated mode, where the web server's loops are the workers.
     */
    private Integer workers;

    /**
     * Number of multiplexed connections per worker that serve the shared commands() path.
     */
    private int sharedConnectionsPerWorker = 1;

    /**
     * Timeout of a single Redis command.
     */
    private Duration commandTimeout = Duration.ofSeconds(5);

    /**
     * Time allowed to open a TCP connection to Redis, so that a host that answers nothing fails each connect after it.
     * When not set, the connect timeout of Lettuce's socket options applies (10s unless a
     * LettuceClientOptionsBuilderCustomizer sets one).
     */
    private Duration connectTimeout;

    /**
     * Time the health indicator's PING may take before it reports the pool as down. Shorter than the command timeout,
     * so that a frozen or unreachable Redis shows quickly and a health probe does not hang.
     */
    private Duration healthTimeout = Duration.ofSeconds(1);

    /**
     * Exclusive (leased) command connections.
     */
    @NestedConfigurationProperty
    private final Pool pool = new Pool();

    /**
     * Pub/Sub connections.
     */
    @NestedConfigurationProperty
    private final PubSub pubSub = new PubSub();

    /**
     * TLS of the connections.
     */
    @NestedConfigurationProperty
    private final Ssl ssl = new Ssl();

    public boolean isEnabled() {
        return this.enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public String getUrl() {
        return this.url;
    }

    public void setUrl(String url) {
        this.url = url;
    }

    public String getName() {
        return this.name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public Mode getMode() {
        return this.mode;
    }

    public void setMode(Mode mode) {
        this.mode = mode;
    }

    public Integer getWorkers() {
        return this.workers;
    }

    public void setWorkers(Integer workers) {
        this.workers = workers;
    }

    public int getSharedConnectionsPerWorker() {
        return this.sharedConnectionsPerWorker;
    }

    public void setSharedConnectionsPerWorker(int sharedConnectionsPerWorker) {
        this.sharedConnectionsPerWorker = sharedConnectionsPerWorker;
    }

    public Duration getCommandTimeout() {
        return this.commandTimeout;
    }

    public void setCommandTimeout(Duration commandTimeout) {
        this.commandTimeout = commandTimeout;
    }

    public Duration getConnectTimeout() {
        return this.connectTimeout;
    }

    public void setConnectTimeout(Duration connectTimeout) {
        this.connectTimeout = connectTimeout;
    }

    public Duration getHealthTimeout() {
        return this.healthTimeout;
    }

    public void setHealthTimeout(Duration healthTimeout) {
        this.healthTimeout = healthTimeout;
    }

    public Pool getPool() {
        return this.pool;
    }

    public Ssl getSsl() {
        return this.ssl;
    }

    public PubSub getPubSub() {
        return this.pubSub;
    }

    /** Where the pool's connections live. */
    public enum Mode {
        /** Integrated when a Reactor Netty web server runs, standalone otherwise. */
        AUTO,
        /** On the Reactor Netty web server's event loops. */
        INTEGRATED,
        /** On event loops created and owned by the pool. */
        STANDALONE
    }

    /** Order in which idle connections are reused. */
    public enum IdleOrder {
        /** Most recently returned first, so surplus connections age out. */
        LIFO,
        /** Least recently returned first, so all connections stay warm. */
        FIFO
    }

    /**
     * Exclusive-lease pool settings.
     */
    public static class Pool {

        /**
         * Maximum number of open command connections across all workers and the overflow pool. Defaults to
         * workers × 4.
         */
        private Integer maxOpen;

        /**
         * Maximum number of idle connections a worker keeps after a release; the excess goes to the overflow and is
         * closed once unused for an eviction interval.
         */
        private int maxIdlePerWorker = 2;

        /**
         * Minimum number of idle connections kept open and refilled on each worker.
         */
        private int minIdlePerWorker = 0;

        /**
         * Maximum lifetime of a connection (each gets a little random jitter so they do not all expire together); 0
         * for no limit.
         */
        private Duration maxLifetime = Duration.ofMinutes(30);

        /**
         * Maximum time a connection may sit idle before it is closed; 0 for no limit.
         */
        private Duration maxIdleTime = Duration.ofMinutes(5);

        /**
         * Maximum time a borrower waits for a connection.
         */
        private Duration acquireTimeout = Duration.ofSeconds(2);

        /**
         * Maximum number of borrowers waiting for a connection; 0 fails at once when none is free.
         */
        private int maxPendingAcquires = 1000;

        /**
         * Idle time after which a connection is checked with PING, before it is handed out and in the background.
         */
        private Duration validateAfterIdle = Duration.ofSeconds(30);

        /**
         * Interval of the background maintenance that closes expired connections, PINGs idle ones, drains the overflow
         * and refills the minimum; also of the health check of quiet Pub/Sub connections.
         */
        private Duration evictionInterval = Duration.ofSeconds(30);

        /**
         * Order in which idle connections are reused.
         */
        private IdleOrder idleOrder = IdleOrder.LIFO;

        /**
         * Maximum number of connections being opened at once, so a Redis restart does not cause a connect storm.
         * Defaults to the number of workers.
         */
        private Integer maxConcurrentConnects;

        /**
         * Time after which a lease that has not been released is reported as a possible leak. Off when not set.
         */
        private Duration leakDetectionThreshold;

        public Integer getMaxOpen() {
            return this.maxOpen;
        }

        public void setMaxOpen(Integer maxOpen) {
            this.maxOpen = maxOpen;
        }

        public int getMaxIdlePerWorker() {
            return this.maxIdlePerWorker;
        }

        public void setMaxIdlePerWorker(int maxIdlePerWorker) {
            this.maxIdlePerWorker = maxIdlePerWorker;
        }

        public int getMinIdlePerWorker() {
            return this.minIdlePerWorker;
        }

        public void setMinIdlePerWorker(int minIdlePerWorker) {
            this.minIdlePerWorker = minIdlePerWorker;
        }

        public Duration getMaxLifetime() {
            return this.maxLifetime;
        }

        public void setMaxLifetime(Duration maxLifetime) {
            this.maxLifetime = maxLifetime;
        }

        public Duration getMaxIdleTime() {
            return this.maxIdleTime;
        }

        public void setMaxIdleTime(Duration maxIdleTime) {
            this.maxIdleTime = maxIdleTime;
        }

        public Duration getAcquireTimeout() {
            return this.acquireTimeout;
        }

        public void setAcquireTimeout(Duration acquireTimeout) {
            this.acquireTimeout = acquireTimeout;
        }

        public int getMaxPendingAcquires() {
            return this.maxPendingAcquires;
        }

        public void setMaxPendingAcquires(int maxPendingAcquires) {
            this.maxPendingAcquires = maxPendingAcquires;
        }

        public Duration getValidateAfterIdle() {
            return this.validateAfterIdle;
        }

        public void setValidateAfterIdle(Duration validateAfterIdle) {
            this.validateAfterIdle = validateAfterIdle;
        }

        public Duration getEvictionInterval() {
            return this.evictionInterval;
        }

        public void setEvictionInterval(Duration evictionInterval) {
            this.evictionInterval = evictionInterval;
        }

        public IdleOrder getIdleOrder() {
            return this.idleOrder;
        }

        public void setIdleOrder(IdleOrder idleOrder) {
            this.idleOrder = idleOrder;
        }

        public Integer getMaxConcurrentConnects() {
            return this.maxConcurrentConnects;
        }

        public void setMaxConcurrentConnects(Integer maxConcurrentConnects) {
            this.maxConcurrentConnects = maxConcurrentConnects;
        }

        public Duration getLeakDetectionThreshold() {
            return this.leakDetectionThreshold;
        }

        public void setLeakDetectionThreshold(Duration leakDetectionThreshold) {
            this.leakDetectionThreshold = leakDetectionThreshold;
        }
    }

    /**
     * Pub/Sub pool settings.
     */
    public static class PubSub {

        /**
         * Maximum number of Pub/Sub connections. Defaults to the number of workers (one per worker).
         */
        private Integer maxOpen;

        /**
         * Maximum number of undelivered messages a subscriber may have before the oldest is dropped (and counted), so
         * that a slow subscriber never holds up the others on its connection.
         */
        private int bufferSize = 1024;

        public Integer getMaxOpen() {
            return this.maxOpen;
        }

        public void setMaxOpen(Integer maxOpen) {
            this.maxOpen = maxOpen;
        }

        public int getBufferSize() {
            return this.bufferSize;
        }

        public void setBufferSize(int bufferSize) {
            this.bufferSize = bufferSize;
        }
    }

    /**
     * TLS settings.
     */
    public static class Ssl {

        /**
         * Name of the SSL bundle (spring.ssl.bundle.*) whose trust material, and key material for client
         * certificates, the connections use. Setting it implies TLS, also for a redis:// URL.
         */
        private String bundle;

        public String getBundle() {
            return this.bundle;
        }

        public void setBundle(String bundle) {
            this.bundle = bundle;
        }
    }
}
