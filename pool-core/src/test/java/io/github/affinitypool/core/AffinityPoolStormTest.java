package io.github.affinitypool.core;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

import io.netty.channel.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Storms of acquires, releases, cancellations, invalidations and failing factory calls, with background maintenance and
 * closes at random moments, checked against the pool's invariants: no lease out twice, none on the wrong loop, the cap
 * held, every count back to zero and every resource closed after the close; and the two races of a close that such a
 * storm found (an opening in flight, a lease parked as the close starts).
 */
class AffinityPoolStormTest {

    private final PoolFixture fixture = new PoolFixture(4);
    private volatile int invalidatePercent = 10;

    @AfterEach
    void close() {
        fixture.close();
    }

    /**
     * A close while a borrower's resource is being opened completes only once that opening has ended, and the borrower
     * gets the close's error, not a lease of a closed pool: nothing is open after the close.
     */
    @Test
    void aCloseWaitsForAnOpeningInFlightAndItsBorrowerIsRefused() {
        fixture.start(config -> config.maxOpen(2).maxIdlePerWorker(1).closeTimeout(Duration.ofSeconds(2)));
        fixture.factory.openDelay = Duration.ofMillis(300);
        AtomicReference<Lease<StubResource>> served = new AtomicReference<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        fixture.acquireOn(0).subscribe(served::set, failed::set);
        settle(() -> fixture.factory.connectingNow.get() == 1);

        fixture.pool.closeAsync().block(Duration.ofSeconds(10));
        int connectingWhenCloseCompleted = fixture.factory.connectingNow.get();

        settle(() -> served.get() != null || failed.get() != null);
        int openAfterClose = fixture.factory.openResources();
        assertThat(served.get()).as("a lease of the closed pool").isNull();
        assertThat(connectingWhenCloseCompleted).as("openings in flight when closeAsync() completed").isZero();
        assertThat(failed.get()).as("a borrower of a closing pool").isInstanceOf(PoolClosedException.class);
        assertThat(openAfterClose).as("resources open after the close completed").isZero();
    }

    /**
     * A release on the resource's own loop that passed recycle()'s closed check just before the close started: the
     * resource must not be parked out of the close's sight, or the close would wait its whole close timeout with no
     * lease out.
     */
    @Test
    void aLeaseReleasedAsTheCloseStartsDoesNotHoldTheCloseUp() throws Exception {
        fixture.start(config -> config.maxOpen(2).maxIdlePerWorker(1).closeTimeout(Duration.ofMinutes(5)));
        fixture.factory.constantReset = true;
        PoolFixture.Borrowed held = fixture.borrow(0);
        CountDownLatch released = new CountDownLatch(1);
        fixture.loops.loop(0).execute(() -> {
            // The next clock read on loop 0 is recycle()'s, right after its check that the pool is open.
            fixture.clock.onNextReadOn(Thread.currentThread(), () -> fixture.pool.closeAsync().subscribe());
            held.lease().release().subscribe(null, null, released::countDown);
        });
        assertThat(released.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(fixture.pool.isClosed()).isTrue();
        assertThat(fixture.pool.stats().total().acquired()).as("leases out").isZero();

        // Held up, the close would take its close timeout (5 minutes) to give up waiting.
        fixture.pool.closeAsync().block(PoolFixture.WAIT);
        assertThat(fixture.factory.openResources()).isZero();
    }

    /**
     * Storm of acquires from every worker and off-loop, with random cancellations, invalidations, failing resets and
     * validations, unusable resources, background maintenance and min-idle refill, and a close at the end.
     */
    @Test
    void stormWithEverything() {
        int maxOpen = 6;
        fixture.start(config -> config.maxOpen(maxOpen).maxIdlePerWorker(1).minIdlePerWorker(1)
                .maxPendingAcquires(100_000).acquireTimeout(Duration.ofSeconds(3))
                .validateAfterIdle(Duration.ZERO).evictionInterval(Duration.ofMillis(5))
                .closeTimeout(Duration.ofSeconds(2)));
        fixture.factory.randomOpenDelayMicros = 300;
        fixture.factory.validation = resource -> ThreadLocalRandom.current().nextInt(100) != 0;
        fixture.factory.reset = resource -> ThreadLocalRandom.current().nextInt(100) != 0;
        StormCounts counts = new StormCounts();
        Flux.range(0, 20_000)
                .flatMap(i -> operation(counts), 128)
                .blockLast(Duration.ofSeconds(120));

        assertCleanAfter(counts, maxOpen);
        assertThat(fixture.factory.openedOffLoop).hasValue(0);
        fixture.pool.closeAsync().block(Duration.ofSeconds(10));
        settle(() -> fixture.factory.openResources() == 0);
    }

    /** Closes the pool in the middle of a storm: every borrower must end, and every resource must end closed. */
    @Test
    void closeInTheMiddleOfAStorm() {
        for (int round = 0; round < 30; round++) {
            PoolFixture local = new PoolFixture(4);
            try {
                runCloseRound(local);
            }
            finally {
                local.loops.close();
            }
        }
    }

    private void runCloseRound(PoolFixture local) {
        local.start(config -> config.maxOpen(6).maxIdlePerWorker(1).minIdlePerWorker(1)
                .maxPendingAcquires(100_000).acquireTimeout(Duration.ofSeconds(3))
                .evictionInterval(Duration.ofMillis(5)).closeTimeout(Duration.ofSeconds(2)));
        local.factory.randomOpenDelayMicros = 2000;
        AtomicInteger closedErrors = new AtomicInteger();
        AtomicInteger otherErrors = new AtomicInteger();
        AtomicInteger leases = new AtomicInteger();
        Mono<Void> storm = Flux.range(0, 3000).flatMap(i -> {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            int worker = random.nextInt(-1, 4);
            Mono<Void> use = local.pool.withResource(resource -> {
                leases.incrementAndGet();
                return Mono.delay(Duration.ofNanos(random.nextLong(200_000)), Schedulers.parallel());
            }).then().onErrorResume(error -> {
                (error instanceof PoolClosedException ? closedErrors : otherErrors).incrementAndGet();
                return Mono.empty();
            });
            return worker >= 0 ? use.subscribeOn(local.loops.scheduler(worker)) : use;
        }, 64).then();
        Mono<Void> close = Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextLong(1, 30)))
                .then(local.pool.closeAsync());
        Mono.when(storm, close).block(Duration.ofSeconds(30));
        settle(() -> local.factory.openResources() == 0);
        assertThat(otherErrors).hasValue(0);
        assertThat(local.factory.openResources()).as("resources left open after close").isZero();
        assertThat(local.factory.doubleCloses).hasValue(0);
        assertThat(local.factory.maxOpenSeen.get()).isLessThanOrEqualTo(6);
    }

    /**
     * Low concurrency so that idle reuse, validation, idle-time and lifetime eviction happen, with the clock moving.
     */
    @Test
    void idleReuseStormWithMovingClock() {
        int maxOpen = 5;
        fixture.start(config -> config.maxOpen(maxOpen).maxIdlePerWorker(2).minIdlePerWorker(1)
                .maxPendingAcquires(100_000).acquireTimeout(Duration.ofSeconds(3))
                .validateAfterIdle(Duration.ofMillis(3)).maxIdleTime(Duration.ofMillis(20))
                .maxLifetime(Duration.ofMillis(200)).evictionInterval(Duration.ofMillis(2))
                .closeTimeout(Duration.ofSeconds(2)));
        fixture.factory.randomOpenDelayMicros = 100;
        fixture.factory.validation = resource -> ThreadLocalRandom.current().nextInt(20) != 0;
        fixture.factory.reset = resource -> ThreadLocalRandom.current().nextInt(50) != 0;
        Disposable ticking = Flux.interval(Duration.ofMillis(1))
                .subscribe(tick -> fixture.clock.advance(Duration.ofMillis(1)));
        StormCounts counts = new StormCounts();
        invalidatePercent = 1;
        try {
            Flux.range(0, 20_000)
                    .flatMap(i -> operation(counts), 3)
                    .blockLast(Duration.ofSeconds(120));
        }
        finally {
            ticking.dispose();
        }
        assertCleanAfter(counts, maxOpen);
        settle(() -> fixture.factory.openResources() == fixture.total().open());
        fixture.pool.closeAsync().block(Duration.ofSeconds(10));
        settle(() -> fixture.factory.openResources() == 0);
    }

    /** Factory methods that throw instead of returning a failing Mono must not leak permits, counts or resources. */
    @Test
    void factoryMethodsThrowingSynchronouslyKeepTheInvariants() {
        AtomicInteger calls = new AtomicInteger();
        StubFactory stub = fixture.factory;
        PooledResourceFactory<StubResource> throwing = new PooledResourceFactory<>() {
            @Override
            public Mono<StubResource> open(int worker, EventLoop loop) {
                if (calls.incrementAndGet() % 3 == 0 && calls.get() > 0) {
                    throw new IllegalStateException("open throws");
                }
                return stub.open(worker, loop);
            }

            @Override
            public Mono<Void> close(StubResource resource) {
                stub.close(resource).subscribe();
                throw new IllegalStateException("close throws");
            }

            @Override
            public boolean isUsable(StubResource resource) {
                if (ThreadLocalRandom.current().nextInt(50) == 0) {
                    throw new IllegalStateException("isUsable throws");
                }
                return true;
            }

            @Override
            public Mono<Boolean> validate(StubResource resource) {
                throw new IllegalStateException("validate throws");
            }

            @Override
            public Mono<Boolean> reset(StubResource resource) {
                if (ThreadLocalRandom.current().nextInt(10) == 0) {
                    throw new IllegalStateException("reset throws");
                }
                return Mono.just(true);
            }
        };
        fixture.pool = AffinityPool.create("default", fixture.loops, throwing, AffinityPoolConfig.builder()
                .clock(fixture.clock).maxOpen(4).maxIdlePerWorker(1).acquireTimeout(Duration.ofSeconds(3))
                .validateAfterIdle(Duration.ofMillis(1)).closeTimeout(Duration.ofSeconds(1)).build(),
                AffinityPoolListener.NONE);
        AtomicInteger openErrors = new AtomicInteger();
        AtomicInteger otherErrors = new AtomicInteger();
        Flux.range(0, 5000).flatMap(i -> {
            int worker = ThreadLocalRandom.current().nextInt(-1, 4);
            if (i % 100 == 0) {
                fixture.clock.advance(Duration.ofMillis(5));
            }
            Mono<Void> use = fixture.pool.withResource(resource -> Mono.delay(Duration.ofNanos(50_000)))
                    .then()
                    .onErrorResume(error -> {
                        if ("open throws".equals(error.getMessage())) {
                            openErrors.incrementAndGet();
                        }
                        else {
                            otherErrors.incrementAndGet();
                        }
                        return Mono.empty();
                    });
            return worker >= 0 ? use.subscribeOn(fixture.loops.scheduler(worker)) : use;
        }, 16).blockLast(Duration.ofSeconds(60));
        settle(() -> fixture.total().acquired() == 0 && fixture.total().pending() == 0);
        assertThat(otherErrors).hasValue(0);
        assertThat(stub.maxOpenSeen.get()).isLessThanOrEqualTo(4);
        assertThat(stub.openResources()).isEqualTo(fixture.total().open());
        // All permits usable again: four leases at once.
        calls.set(Integer.MIN_VALUE);
        List<Lease<StubResource>> four = Flux.range(0, 4).flatMap(i -> fixture.pool.acquire())
                .collectList().block(PoolFixture.WAIT);
        assertThat(four).hasSize(4);
        four.forEach(lease -> lease.release().block(PoolFixture.WAIT));
    }

    /** What a storm saw, checked by {@link #assertCleanAfter}. */
    private static final class StormCounts {
        final Map<StubResource, AtomicBoolean> inUse = new ConcurrentHashMap<>();
        final AtomicInteger doubleLeases = new AtomicInteger();
        final AtomicInteger wrongLoop = new AtomicInteger();
        final AtomicInteger timedOut = new AtomicInteger();
        final AtomicInteger otherErrors = new AtomicInteger();
        final AtomicInteger completed = new AtomicInteger();
    }

    /** Once the storm is over: every count back to zero, and no lease seen twice, on the wrong loop or lost. */
    private void assertCleanAfter(StormCounts counts, int maxOpen) {
        settle(() -> fixture.total().acquired() == 0 && fixture.total().pending() == 0
                && fixture.factory.connectingNow.get() == 0);
        assertThat(counts.doubleLeases).hasValue(0);
        assertThat(counts.wrongLoop).hasValue(0);
        assertThat(counts.otherErrors).hasValue(0);
        assertThat(counts.timedOut).hasValue(0);
        assertThat(counts.completed.get()).isPositive();
        assertThat(fixture.factory.maxOpenSeen.get()).isLessThanOrEqualTo(maxOpen);
        assertThat(fixture.factory.doubleCloses).hasValue(0);
    }

    private Mono<Void> operation(StormCounts counts) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int worker = random.nextInt(-1, 4);
        int action = random.nextInt(100);
        long holdNanos = random.nextLong(300_000);
        int releaseOn = random.nextInt(-1, 4);
        Function<Lease<StubResource>, Mono<Void>> done = lease -> {
            Mono<Void> finish = Mono.defer(() -> {
                counts.inUse.get(lease.resource()).set(false);
                return action < invalidatePercent ? lease.invalidate() : lease.release();
            });
            return releaseOn >= 0 ? finish.subscribeOn(fixture.loops.scheduler(releaseOn)) : finish;
        };
        Mono<Void> use = Mono.usingWhen(fixture.pool.acquire(), lease -> {
            if (worker >= 0 && fixture.loops.currentWorker() != worker) {
                counts.wrongLoop.incrementAndGet();
            }
            StubResource resource = lease.resource();
            AtomicBoolean flag = counts.inUse.computeIfAbsent(resource, r -> new AtomicBoolean());
            if (!flag.compareAndSet(false, true)) {
                counts.doubleLeases.incrementAndGet();
            }
            if (action == 10) {
                resource.usable = false;
            }
            return Mono.delay(Duration.ofNanos(holdNanos),
                    worker >= 0 && random.nextBoolean() ? fixture.loops.scheduler(worker) : Schedulers.parallel())
                    .then();
        }, done, (lease, error) -> done.apply(lease), done)
                .doOnSuccess(v -> counts.completed.incrementAndGet())
                .onErrorResume(error -> {
                    (error instanceof AcquireTimeoutException ? counts.timedOut : counts.otherErrors).incrementAndGet();
                    return Mono.empty();
                });
        if (worker >= 0) {
            use = use.subscribeOn(fixture.loops.scheduler(worker));
        }
        // Cancelled at a random moment. A lease delivered to a cancelled flatMap is leaked by Reactor's flatMap
        // unless released, so cancellation happens only on the acquire itself.
        return random.nextInt(10) < 3 ? use.timeout(Duration.ofNanos(random.nextLong(1_000_000)), Mono.empty()) : use;
    }

    private static void settle(BooleanSupplier condition) {
        await().atMost(PoolFixture.WAIT).pollInterval(Duration.ofMillis(1)).until(condition::getAsBoolean);
    }
}
