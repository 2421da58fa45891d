package io.github.affinitypool.benchmarks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.affinitypool.core.WorkerLoops;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Get/Release throughput (the seed's benchmark): one acquire of an idle stub resource and its release, on the
 * event loop that owns it, in ns per acquire+release.
 * <p>
 * Each JMH thread drives its own event loop (thread {@code t} uses worker {@code t}); operations run in batches on
 * the loop so that the hand-off from the JMH thread to the loop is amortised over {@value #BATCH} operations and the
 * figure is the pool's own cost. Run with {@code -t 1} and {@code -t 2}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AcquireReleaseBenchmark {

    static final int BATCH = 1_000;

    @Param({"affinity-pool", "reactor-pool-shared", "commons-pool2", "lettuce-bounded-async", "array-deque-floor",
            "reactive-floor"})
    public String pool;

    private WorkerLoops loops;

    private PoolUnderTest underTest;

    private final AtomicInteger threads = new AtomicInteger();

    @Setup(Level.Trial)
    public void setUp() {
        loops = WorkerLoops.standalone("bench", 2);
        underTest = PoolsUnderTest.create(pool, loops);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        underTest.close();
        loops.close();
    }

    /** The worker a JMH thread drives. */
    @State(Scope.Thread)
    public static class Driver {

        int worker;

        @Setup(Level.Trial)
        public void setUp(AcquireReleaseBenchmark benchmark) {
            worker = benchmark.threads.getAndIncrement() % benchmark.loops.size();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void acquireRelease(Driver driver) {
        LoopBatch.run(loops.loop(driver.worker), underTest, driver.worker, BATCH);
    }
}
