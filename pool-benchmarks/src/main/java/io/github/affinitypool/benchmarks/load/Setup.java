package io.github.affinitypool.benchmarks.load;

import java.util.ArrayList;
import java.util.List;

/**
 * The setups the load benchmark compares. Each runs the same {@code BenchServer} application in a child JVM of its
 * own; the arguments below switch on exactly one Redis client stack.
 */
enum Setup {

    /** (1) This project's {@code commands()} through the starter, integrated mode (pinned to the server's loops). */
    COMMANDS("1", "affinity commands()", "commands", true),
    /**
     * (2) This project's exclusive leases ({@code withConnection}) through the starter, sized like {@link #SDR_POOLED}.
     */
    LEASES("2", "affinity leases", "leases", true),
    /** (3) Spring Data Redis {@code ReactiveStringRedisTemplate}, Spring Boot's defaults: one shared connection. */
    SDR_DEFAULT("3", "SDR default", "sdr", true),
    /** (4) Spring Data Redis with a commons-pool2 pool and {@code shareNativeConnection=false}, sized not to fail. */
    SDR_POOLED("4", "SDR pooled", "sdr", true),
    /** (5) One unpinned reactor-pool {@code SimpleDequePool} of Lettuce connections, sized like {@link #SDR_POOLED}. */
    REACTOR_POOL("5", "reactor-pool", "reactor-pool", true),
    /** (6) The same endpoints answering a constant, without Redis: the ceiling. */
    NO_REDIS("6", "no Redis (ceiling)", "no-redis", false),
    /** (4) with a small pool ({@value #SMALL_POOL} connections): measured once, to show how it fails. */
    SDR_POOLED_SMALL("4s", "SDR pooled, max-active " + Setup.SMALL_POOL, "sdr", true),
    /**
     * (2) with this project's default sizing (max-open {@value #SMALL_POOL} on 2 workers): measured once, beside (4s).
     */
    LEASES_SMALL("2s", "affinity leases, max-open " + Setup.SMALL_POOL + " (default)", "leases", true);

    /**
     * The pool size of the pooled setups (2), (4) and (5): twice the highest concurrency, so that none runs out, and
     * the same for all, so that they differ in how they pool and not in how much.
     */
    static final int POOL_SIZE = 512;

    /** The pool size of {@link #SDR_POOLED_SMALL} and {@link #LEASES_SMALL}: this project's default on 2 workers. */
    static final int SMALL_POOL = 8;

    /** The setups of the interleaved rounds, in forward order. */
    static final List<Setup> ROUNDS = List.of(COMMANDS, LEASES, SDR_DEFAULT, SDR_POOLED, REACTOR_POOL, NO_REDIS);

    private static final String SPRING_DATA_REDIS = String.join(",",
            "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration",
            "org.springframework.boot.data.redis.autoconfigure.DataRedisReactiveAutoConfiguration",
            "org.springframework.boot.data.redis.autoconfigure.DataRedisRepositoriesAutoConfiguration",
            "org.springframework.boot.data.redis.autoconfigure.observation.LettuceObservationAutoConfiguration");

    private final String number;

    private final String label;

    private final String serverSetup;

    private final boolean usesRedis;

    Setup(String number, String label, String serverSetup, boolean usesRedis) {
        this.number = number;
        this.label = label;
        this.serverSetup = serverSetup;
        this.usesRedis = usesRedis;
    }

    /** @return the number the issue gives the setup, {@code 1}–{@code 6} */
    String number() {
        return number;
    }

    /** @return the label in tables and charts */
    String label() {
        return label;
    }

    /** @return whether the handlers talk to Redis */
    boolean usesRedis() {
        return usesRedis;
    }

    /**
     * @param redisUrl the benchmark's redis-server
     * @return the application arguments of {@code BenchServer} for this setup
     */
    List<String> serverArguments(String redisUrl) {
        List<String> args = new ArrayList<>();
        args.add("--bench.setup=" + serverSetup);
        args.add("--bench.redis.url=" + redisUrl);
        switch (this) {
            case COMMANDS, LEASES, LEASES_SMALL -> {
                args.add("--affinity-pool.redis.url=" + redisUrl);
                args.add("--spring.autoconfigure.exclude=" + SPRING_DATA_REDIS);
                if (this == LEASES) {
                    // Like SDR pooled's max-active = max-idle:
                    // every connection may stay idle, whichever worker it is on.
                    args.add("--affinity-pool.redis.pool.max-open=" + POOL_SIZE);
                    args.add("--affinity-pool.redis.pool.max-idle-per-worker=" + POOL_SIZE / 2);
                }
            }
            case SDR_DEFAULT, SDR_POOLED, SDR_POOLED_SMALL -> {
                args.add("--affinity-pool.redis.enabled=false");
                args.add("--spring.data.redis.url=" + redisUrl);
                if (this != SDR_DEFAULT) {
                    int size = (this == SDR_POOLED) ? POOL_SIZE : SMALL_POOL;
                    args.add("--spring.data.redis.lettuce.pool.enabled=true");
                    args.add("--spring.data.redis.lettuce.pool.max-active=" + size);
                    args.add("--spring.data.redis.lettuce.pool.max-idle=" + size);
                    args.add("--spring.data.redis.lettuce.pool.min-idle=0");
                    args.add("--bench.sdr.share-native-connection=false");
                }
            }
            case REACTOR_POOL, NO_REDIS -> {
                args.add("--affinity-pool.redis.enabled=false");
                args.add("--spring.autoconfigure.exclude=" + SPRING_DATA_REDIS);
                if (this == REACTOR_POOL) {
                    args.add("--bench.reactor-pool.max-size=" + POOL_SIZE);
                }
            }
        }
        return args;
    }

    /** @param id the enum name or the number, e.g. {@code COMMANDS}, {@code commands} or {@code 1} */
    static Setup parse(String id) {
        for (Setup setup : values()) {
            if (setup.name().equalsIgnoreCase(id.replace('-', '_')) || setup.number.equals(id)) {
                return setup;
            }
        }
        throw new IllegalArgumentException("Unknown setup '" + id + "'");
    }
}
