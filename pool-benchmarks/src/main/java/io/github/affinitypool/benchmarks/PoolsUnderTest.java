package io.github.affinitypool.benchmarks;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.affinitypool.core.AffinityPool;
import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.PooledResourceFactory;
import io.github.affinitypool.core.WorkerLoops;
import io.lettuce.core.support.AsyncObjectFactory;
import io.lettuce.core.support.BoundedAsyncPool;
import io.lettuce.core.support.BoundedPoolConfig;
import io.netty.channel.EventLoop;
import org.apache.commons.pool2.BasePooledObjectFactory;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import reactor.core.publisher.Mono;
import reactor.pool.InstrumentedPool;
import reactor.pool.PoolBuilder;

/**
 * The pools compared by {@link AcquireReleaseBenchmark}, each holding stub resources only.
 */
final class PoolsUnderTest {

    /** Resources per pool: more than the benchmark threads, so every acquire finds an idle one. */
    static final int SIZE = 8;

    private PoolsUnderTest() {
    }

    static PoolUnderTest create(String name, WorkerLoops loops) {
        return switch (name) {
            case "affinity-pool" -> new Affinity(loops);
            case "reactor-pool-shared" -> new SharedReactorPool();
            case "commons-pool2" -> new CommonsPool2();
            case "lettuce-bounded-async" -> new LettuceBoundedAsync();
            case "array-deque-floor" -> new ArrayDequeFloor(loops.size());
            case "reactive-floor" -> new ReactiveFloor();
            default -> throw new IllegalArgumentException("Unknown pool: " + name);
        };
    }

    /** This project's worker path: a per-worker pool, resource idle on the caller's own worker. */
    private static final class Affinity implements PoolUnderTest {

        private final AffinityPool<StubResource> pool;

        Affinity(WorkerLoops loops) {
            AtomicInteger ids = new AtomicInteger();
            PooledResourceFactory<StubResource> factory = new PooledResourceFactory<>() {
                @Override
                public Mono<StubResource> open(int worker, EventLoop loop) {
                    return Mono.fromSupplier(() -> new StubResource(ids.incrementAndGet()));
                }

                @Override
                public Mono<Void> close(StubResource resource) {
                    return Mono.empty();
                }
            };
            AffinityPoolConfig config = AffinityPoolConfig.builder()
                    .maxOpen(SIZE * loops.size())
                    .maxIdlePerWorker(SIZE)
                    .validateAfterIdle(Duration.ofHours(1))
                    .build();
            this.pool = AffinityPool.create("bench", loops, factory, config, AffinityPoolListener.NONE);
        }

        @Override
        public void acquireRelease(int worker, Runnable done) {
            pool.acquire().subscribe(lease -> lease.release().subscribe(null, null, done));
        }

        @Override
        public void close() {
            pool.closeAsync().block(Duration.ofSeconds(10));
        }
    }

    /** One reactor-pool {@code SimpleDequePool} shared by all threads, the usual way to use reactor-pool. */
    private static final class SharedReactorPool implements PoolUnderTest {

        private final InstrumentedPool<StubResource> pool;

        SharedReactorPool() {
            AtomicInteger ids = new AtomicInteger();
            this.pool = PoolBuilder.from(Mono.fromSupplier(() -> new StubResource(ids.incrementAndGet())))
                    .sizeBetween(SIZE, SIZE)
                    .buildPool();
            pool.warmup().block(Duration.ofSeconds(10));
        }

        @Override
        public void acquireRelease(int worker, Runnable done) {
            pool.acquire().subscribe(ref -> ref.release().subscribe(null, null, done));
        }

        @Override
        public void close() {
            pool.disposeLater().block(Duration.ofSeconds(10));
        }
    }

    /** Apache commons-pool2, what Spring Data Redis uses for Lettuce pooling. */
    private static final class CommonsPool2 implements PoolUnderTest {

        private final GenericObjectPool<StubResource> pool;

        CommonsPool2() {
            AtomicInteger ids = new AtomicInteger();
            GenericObjectPoolConfig<StubResource> config = new GenericObjectPoolConfig<>();
            config.setMaxTotal(SIZE);
            config.setMaxIdle(SIZE);
            config.setJmxEnabled(false);
            this.pool = new GenericObjectPool<>(new BasePooledObjectFactory<>() {
                @Override
                public StubResource create() {
                    return new StubResource(ids.incrementAndGet());
                }

                @Override
                public PooledObject<StubResource> wrap(StubResource resource) {
                    return new DefaultPooledObject<>(resource);
                }
            }, config);
        }

        @Override
        public void acquireRelease(int worker, Runnable done) {
            try {
                StubResource resource = pool.borrowObject();
                pool.returnObject(resource);
                done.run();
            }
            catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
        }

        @Override
        public void close() {
            pool.close();
        }
    }

    /** Lettuce's own asynchronous pool. */
    private static final class LettuceBoundedAsync implements PoolUnderTest {

        private final BoundedAsyncPool<StubResource> pool;

        LettuceBoundedAsync() {
            AtomicInteger ids = new AtomicInteger();
            AsyncObjectFactory<StubResource> factory = new AsyncObjectFactory<>() {
                @Override
                public CompletableFuture<StubResource> create() {
                    return CompletableFuture.completedFuture(new StubResource(ids.incrementAndGet()));
                }

                @Override
                public CompletableFuture<Void> destroy(StubResource resource) {
                    return CompletableFuture.completedFuture(null);
                }

                @Override
                public CompletableFuture<Boolean> validate(StubResource resource) {
                    return CompletableFuture.completedFuture(true);
                }
            };
            this.pool = BoundedAsyncPool.create(factory, BoundedPoolConfig.builder()
                    .maxTotal(SIZE).maxIdle(SIZE).minIdle(0)
                    .testOnAcquire(false).testOnRelease(false).build())
                    .toCompletableFuture().join();
        }

        @Override
        public void acquireRelease(int worker, Runnable done) {
            pool.acquire().thenCompose(pool::release).thenRun(done);
        }

        @Override
        public void close() {
            pool.close();
        }
    }

    /** The floor: an uncontended {@code ArrayDeque} poll + offer per worker, no pool logic at all. */
    private static final class ArrayDequeFloor implements PoolUnderTest {

        private final ArrayDeque<StubResource>[] idle;

        @SuppressWarnings("unchecked")
        ArrayDequeFloor(int workers) {
            this.idle = new ArrayDeque[workers];
            for (int w = 0; w < workers; w++) {
                idle[w] = new ArrayDeque<>();
                for (int i = 0; i < SIZE; i++) {
                    idle[w].offer(new StubResource(i));
                }
            }
        }

        @Override
        public void acquireRelease(int worker, Runnable done) {
            ArrayDeque<StubResource> deque = idle[worker];
            deque.offerLast(deque.pollLast());
            done.run();
        }

        @Override
        public void close() {
        }
    }

    /**
     * The floor of a reactive acquire + release: the two Reactive Streams handshakes (subscribe, {@code onSubscribe},
     * {@code request}, {@code onNext} / {@code onComplete}) of a {@code Mono} that emits a resource and a
     * {@code Mono<Void>} that completes, subscribed as the other reactive pools are, with no pool behind them.
     */
    private static final class ReactiveFloor implements PoolUnderTest {

        private final Mono<StubResource> acquire = Mono.just(new StubResource(0));

        private final Mono<Void> release = Mono.empty();

        @Override
        public void acquireRelease(int worker, Runnable done) {
            acquire.subscribe(resource -> release.subscribe(null, null, done));
        }

        @Override
        public void close() {
        }
    }
}
