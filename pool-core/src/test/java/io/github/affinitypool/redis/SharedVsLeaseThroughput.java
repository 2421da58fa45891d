package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Mono;

import io.github.affinitypool.testing.RedisServer;

/**
 * One-off measurement, not a unit test: GET throughput of {@code commands()} (shared, multiplexed, flush-coalesced)
 * against exclusive leases ({@code withConnection}) under 64 concurrent callers on 2 workers, each caller on its
 * worker's loop issuing one GET after the other.
 * <p>
 * Run from the repository root:
 * <pre>
 * ./mvnw -B -q -o -pl pool-core -am install -DskipTests
 * ./mvnw -B -q -o -pl pool-core test-compile org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
 *     -Dmdep.outputFile=target/test.classpath -Dmdep.includeScope=test
 * java -cp pool-core/target/test-classes:pool-core/target/classes:$(cat pool-core/target/test.classpath) \
 *     io.github.affinitypool.redis.SharedVsLeaseThroughput [seconds]
 * </pre>
 */
public final class SharedVsLeaseThroughput {

    private static final int WORKERS = 2;

    private static final int CALLERS = 64;

    private SharedVsLeaseThroughput() {
    }

    public static void main(String[] args) {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        try (RedisServer redis = RedisServer.builder().start();
                RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("throughput")
                        .workers(WORKERS).build()) {
            pool.commands().set("bench:key", "x".repeat(32)).block(Duration.ofSeconds(5));
            Supplier<Mono<?>> shared = () -> pool.commands().get("bench:key");
            Supplier<Mono<?>> leased = () -> pool.withConnection(c -> c.get("bench:key")).then();

            run(pool, "warm-up commands()", shared, 2);
            run(pool, "warm-up leases", leased, 2);
            double sharedOps = run(pool, "commands()", shared, seconds);
            double leasedOps = run(pool, "exclusive leases", leased, seconds);
            System.out.printf("%nGET, %d callers on %d workers, %d s each, max-open %d:%n"
                    + "  commands():        %,.0f ops/s%n"
                    + "  exclusive leases:  %,.0f ops/s%n  ratio:             %.2fx%n", CALLERS, WORKERS, seconds,
                    pool.poolConfig().maxOpen(), sharedOps, leasedOps, sharedOps / leasedOps);
        }
    }

    private static double run(RedisAffinityPool<String, String> pool, String label, Supplier<Mono<?>> operation,
            int seconds) {
        LongAdder done = new LongAdder();
        LongAdder failed = new LongAdder();
        AtomicBoolean running = new AtomicBoolean(true);
        Disposable.Composite callers = Disposables.composite();
        long start = System.nanoTime();
        for (int caller = 0; caller < CALLERS; caller++) {
            callers.add(Mono.defer(operation)
                    .doOnSuccess(ignored -> done.increment())
                    .doOnError(ignored -> failed.increment())
                    .onErrorResume(ignored -> Mono.empty())
                    .subscribeOn(pool.loops().scheduler(caller % WORKERS))
                    .repeat(running::get)
                    .subscribe());
        }
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(seconds));
        long count = done.sum();
        long elapsed = System.nanoTime() - start;
        running.set(false);
        callers.dispose();
        double opsPerSecond = count * 1e9 / elapsed;
        System.out.printf("%-20s %,12.0f ops/s (%d failed)%n", label, opsPerSecond, failed.sum());
        return opsPerSecond;
    }
}
