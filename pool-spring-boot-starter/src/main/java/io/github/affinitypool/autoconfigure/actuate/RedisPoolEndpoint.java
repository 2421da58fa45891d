package io.github.affinitypool.autoconfigure.actuate;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.github.affinitypool.autoconfigure.AffinityPoolSettings;
import io.github.affinitypool.autoconfigure.metrics.AffinityPoolTagValues;
import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.core.PoolStats;
import io.github.affinitypool.redis.PubSubStats;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.redis.SharedStats;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/**
 * Read-only actuator endpoint {@code redispool}: a per-worker snapshot of the pool and its effective configuration
 * (URL with the password masked).
 */
@Endpoint(id = "redispool")
public class RedisPoolEndpoint {

    private final RedisAffinityPool<?, ?> pool;

    private final AffinityPoolSettings settings;

    /**
     * @param pool the pool to describe
     * @param settings the settings the auto-configured pool was built from, {@code null} for a pool the application
     *        defined itself
     */
    public RedisPoolEndpoint(RedisAffinityPool<?, ?> pool, AffinityPoolSettings settings) {
        this.pool = pool;
        this.settings = settings;
    }

    @ReadOperation
    public PoolSnapshot snapshot() {
        AffinityPoolStats stats = pool.stats();
        return new PoolSnapshot(pool.name(), PoolDetails.mode(pool), pool.loops().size(), Counters.of(stats.total()),
                stats.workers().stream().map(Counters::of).toList(), Counters.of(stats.overflow()), pool.pubSubStats(),
                pool.sharedStats(), configuration());
    }

    private Configuration configuration() {
        AffinityPoolConfig config = pool.poolConfig();
        // The starter's masked URL shows that a password is set; a pool of the application's own describes itself.
        String url = (settings != null) ? settings.maskedUrl() : pool.uri();
        String urlSource = (settings != null) ? settings.source() : "application";
        // pool.uri() describes the connections as opened: rediss:// also when an SSL bundle turned TLS on.
        boolean tls = pool.uri().startsWith("rediss://");
        return new Configuration(url, urlSource, tls, pool.sharedStats().perWorker(), pool.commandTimeout(),
                pool.clientOptions().getSocketOptions().getConnectTimeout(), config.maxOpen(),
                config.maxIdlePerWorker(), config.minIdlePerWorker(), config.maxLifetime(), config.maxIdleTime(),
                config.acquireTimeout(), config.maxPendingAcquires(), config.validateAfterIdle(),
                config.evictionInterval(), config.idleOrder().name().toLowerCase(Locale.ROOT),
                config.maxConcurrentConnects(), config.leakDetectionThreshold());
    }

    /**
     * The endpoint's answer.
     *
     * @param name pool name
     * @param mode {@code integrated} or {@code standalone}
     * @param workerCount number of workers
     * @param total totals over all pools
     * @param workers one entry per worker, in worker order
     * @param overflow the overflow pool (and off-loop borrowers)
     * @param pubSub the Pub/Sub connections, per worker
     * @param shared the shared connections behind {@code commands()}, per worker
     * @param configuration the effective configuration
     */
    public record PoolSnapshot(String name, String mode, int workerCount, Counters total, List<Counters> workers,
            Counters overflow, PubSubStats pubSub, SharedStats shared, Configuration configuration) {
    }

    /**
     * The counters of {@link PoolStats}, with {@code closedByReason} keyed by the {@code reason} tag values of the
     * {@code redis.pool.connections.closed} counter ({@code idle-time}, not {@code IDLE_TIME}), so that the endpoint
     * and the metrics name a reason alike.
     *
     * @param open see {@link PoolStats#open()}
     * @param idle see {@link PoolStats#idle()}
     * @param acquired see {@link PoolStats#acquired()}
     * @param pending see {@link PoolStats#pending()}
     * @param hits see {@link PoolStats#hits()}
     * @param misses see {@link PoolStats#misses()}
     * @param timeouts see {@link PoolStats#timeouts()}
     * @param staleClosed see {@link PoolStats#staleClosed()}
     * @param closedByReason connections closed, by {@code reason} tag value, every reason present, in
     *        {@link CloseReason} order
     * @param local see {@link PoolStats#local()}
     * @param stolen see {@link PoolStats#stolen()}
     * @param overflow see {@link PoolStats#overflow()}
     * @param offLoop see {@link PoolStats#offLoop()}
     */
    public record Counters(int open, int idle, int acquired, int pending, long hits, long misses, long timeouts,
            long staleClosed, Map<String, Long> closedByReason, long local, long stolen, long overflow, long offLoop) {

        static Counters of(PoolStats stats) {
            Map<String, Long> closed = new LinkedHashMap<>();
            for (CloseReason reason : CloseReason.values()) {
                closed.put(AffinityPoolTagValues.of(reason), stats.closedByReason().getOrDefault(reason, 0L));
            }
            return new Counters(stats.open(), stats.idle(), stats.acquired(), stats.pending(), stats.hits(),
                    stats.misses(), stats.timeouts(), stats.staleClosed(), Collections.unmodifiableMap(closed),
                    stats.local(), stats.stolen(), stats.overflow(), stats.offLoop());
        }
    }

    /**
     * The effective configuration, defaults resolved.
     *
     * @param url the Redis URL, password masked
     * @param urlSource where the URL came from: {@code affinity-pool.redis.url}, {@code spring.data.redis},
     *        {@code default}, or {@code application} for a pool bean of the application's own
     * @param tls whether the connections use TLS
     * @param sharedConnectionsPerWorker multiplexed connections per worker
     * @param commandTimeout command timeout
     * @param connectTimeout connect timeout
     * @param maxOpen cap on open command connections
     * @param maxIdlePerWorker idle connections kept per worker
     * @param minIdlePerWorker idle connections refilled per worker
     * @param maxLifetime maximum connection age
     * @param maxIdleTime maximum idle time
     * @param acquireTimeout maximum wait for a connection
     * @param maxPendingAcquires cap on waiting borrowers
     * @param validateAfterIdle idle time after which a connection is PINGed on borrow
     * @param evictionInterval background maintenance interval
     * @param idleOrder {@code lifo} or {@code fifo}
     * @param maxConcurrentConnects cap on connections being opened at once
     * @param leakDetectionThreshold lease age reported as a possible leak, zero when leak detection is off
     */
    public record Configuration(String url, String urlSource, boolean tls, int sharedConnectionsPerWorker,
            Duration commandTimeout, Duration connectTimeout, int maxOpen, int maxIdlePerWorker, int minIdlePerWorker,
            Duration maxLifetime, Duration maxIdleTime, Duration acquireTimeout, int maxPendingAcquires,
            Duration validateAfterIdle, Duration evictionInterval, String idleOrder, int maxConcurrentConnects,
            Duration leakDetectionThreshold) {
    }
}
