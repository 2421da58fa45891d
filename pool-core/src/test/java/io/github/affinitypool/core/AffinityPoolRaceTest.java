package io.github.affinitypool.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import reactor.core.Disposable;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Contract lines 2, 3 and 8 under concurrency: the cap holds at every instant, and no interleaving of release,
 * cancellation, timeout and opening leaks a resource or leaves a borrower counted. 14,000 iterations in all.
 */
class AffinityPoolRaceTest {

    private static final long SETTLE_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final PoolFixture fixture = new PoolFixture(4);

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void aWaiterPutBackByTheDrainIsServedByTheResourceARacingBorrowerParkedOnAnotherLoop() {
        Thread loop1 = fixture.loopThread(1);
        AtomicBoolean raced = new AtomicBoolean();
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).acquireTimeout(Duration.ofSeconds(1)),
                new AffinityPoolListener() {
                    @Override
                    public void closed(int poolIndex, CloseReason reason) {
                        // Runs on loop 1 just before the close drains the queue; the next clock read there is in the
                        // waiter's retry, after the drain took it out of the queue. Then a borrower on loop 0 takes the
                        // permit the close returned, and parks its resource on loop 0 while nobody is queued.
                        fixture.clock.onNextReadOn(loop1, () -> {
                            // Waits on a latch: block() refuses to run on an event loop.
                            CountDownLatch parked = new CountDownLatch(1);
                            fixture.acquireOn(0).flatMap(Lease::release).subscribe(null, null, parked::countDown);
                            raced.set(await(parked));
                        });
                    }
                });
        PoolFixture.Borrowed held = fixture.borrow(1);
        AtomicReference<Lease<StubResource>> served = new AtomicReference<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Disposable waiter = fixture.acquireOn(1).subscribe(served::set, failed::set);
        settle(() -> fixture.total().pending() == 1);

        held.lease().invalidate().block(PoolFixture.WAIT);

        settle(() -> served.get() != null || failed.get() != null);
        assertThat(raced).isTrue();
        assertThat(failed.get()).isNull();
        assertThat(served.get().worker()).isZero();
        assertThat(served.get().locality()).isEqualTo(Locality.STOLEN);
        waiter.dispose();
    }

    @Test
    void theCapHoldsUnderAStormOfAcquiresWithRandomCancellationsAndDelays() {
        fixture.start(config -> config.maxOpen(6).maxIdlePerWorker(2).maxPendingAcquires(10_000)
                .acquireTimeout(Duration.ofSeconds(2)));
        fixture.factory.randomOpenDelayMicros = 300;
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger timedOut = new AtomicInteger();

        Flux.range(0, 4000)
                .flatMap(i -> stormOperation(completed, timedOut), 256)
                .blockLast(Duration.ofSeconds(30));

        settle(() -> fixture.total().acquired() == 0 && fixture.total().pending() == 0);
        PoolStats total = fixture.total();
        assertThat(fixture.factory.maxOpenSeen.get()).isBetween(2, 6);
        assertThat(fixture.factory.openedOffLoop).hasValue(0);
        assertThat(fixture.factory.doubleCloses).hasValue(0);
        assertThat(timedOut).hasValue(0);
        assertThat(completed.get()).isPositive();
        // Every resource ever opened is now either idle in a pool or closed.
        assertThat(fixture.factory.openResources()).isEqualTo(total.idle());
        assertThat(total.open()).isEqualTo(total.idle());
        assertThat(total.local() + total.stolen() + total.overflow() + total.offLoop())
                .isEqualTo(total.hits() + total.misses());
    }

    @Test
    void theOpenCountOfAStatsSnapshotStaysExactWhileResourcesMoveBetweenTheWorkersAndTheOverflow() {
        // No idle resource is kept on a worker: every release spills its resource to the overflow and the next acquire
        // takes one back, so resources move all the time while none is opened or closed.
        fixture.start(config -> config.maxOpen(4).maxIdlePerWorker(0));
        List<Lease<StubResource>> first = Flux.range(0, 4).flatMap(fixture::acquireOn).collectList()
                .block(PoolFixture.WAIT);
        Flux.fromIterable(first).flatMap(Lease::release).blockLast(PoolFixture.WAIT);
        AtomicBoolean running = new AtomicBoolean(true);
        CountDownLatch stopped = new CountDownLatch(4);
        for (int worker = 0; worker < 4; worker++) {
            Mono.defer(() -> fixture.pool.withResource(resource -> Mono.just(resource.id)).then())
                    .subscribeOn(fixture.loops.scheduler(worker))
                    .repeat(running::get)
                    .subscribe(null, error -> stopped.countDown(), stopped::countDown);
        }

        int snapshots = 0;
        int withSpilled = 0;
        List<Integer> wrong = new ArrayList<>();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
        while (System.nanoTime() < end || snapshots < 10_000) {
            AffinityPoolStats stats = fixture.pool.stats();
            snapshots++;
            // The overflow pool opens nothing here: its idle resources are the ones the workers spilled.
            withSpilled += stats.overflow().idle() > 0 ? 1 : 0;
            if (stats.total().open() != 4 && wrong.size() < 10) {
                wrong.add(stats.total().open());
            }
        }
        running.set(false);
        assertThat(awaitLatch(stopped)).as("the borrowers stopped").isTrue();

        assertThat(wrong).as("open counts other than 4 in %d snapshots", snapshots).isEmpty();
        PoolStats total = fixture.total();
        assertThat(total.misses()).as("resources opened").isEqualTo(4);
        assertThat(withSpilled).as("snapshots that saw a resource spilled to the overflow").isPositive();
        assertThat(fixture.factory.openResources()).isEqualTo(4);
    }

    private static boolean awaitLatch(CountDownLatch latch) {
        try {
            return latch.await(5, TimeUnit.SECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private Mono<Void> stormOperation(AtomicInteger completed, AtomicInteger timedOut) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int worker = random.nextInt(-1, 4);
        Mono<Void> use = fixture.pool
                .withResource(resource -> random.nextBoolean()
                        // Completing on the worker's own loop parks the resource there;
                        // elsewhere it goes to reactor-pool.
                        ? Mono.delay(Duration.ofNanos(random.nextLong(500_000)), worker >= 0 && random.nextBoolean()
                                ? fixture.loops.scheduler(worker) : Schedulers.parallel())
                        : Mono.just((long) resource.id))
                .then()
                .doOnSuccess(done -> completed.incrementAndGet())
                .onErrorResume(AcquireTimeoutException.class, timeout -> {
                    timedOut.incrementAndGet();
                    return Mono.empty();
                });
        if (worker >= 0) {
            use = use.subscribeOn(fixture.loops.scheduler(worker));
        }
        // Three in ten are cancelled at a random moment: waiting, while a resource is opened for them, or holding it.
        return random.nextInt(10) < 3 ? use.timeout(Duration.ofNanos(random.nextLong(1_000_000)), Mono.empty()) : use;
    }

    @Test
    void cancellingAWaiterWhileAResourceIsHandedToItNeverLeaks() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1));
        for (int i = 0; i < 3000; i++) {
            PoolFixture.Borrowed held = fixture.borrow(0);
            LeaseCatcher waiter = new LeaseCatcher();
            fixture.acquireOn(1).subscribe(waiter);
            fixture.loops.loop(0).execute(() -> held.lease().release().subscribe());
            fixture.loops.loop(2).execute(waiter::cancel);

            settle(waiter::settled);
            waiter.releaseIfDelivered();
            settle(() -> fixture.total().acquired() == 0 && fixture.total().pending() == 0);
        }
        assertThat(fixture.factory.created).hasSize(1);
        assertThat(fixture.total().idle()).isEqualTo(1);
        assertThat(fixture.factory.maxOpenSeen).hasValue(1);
    }

    @Test
    void borrowersFailingAtThePendingLimitTogetherReportTheTrueQueueLength() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).maxPendingAcquires(0));
        PoolFixture.Borrowed held = fixture.borrow(0);

        // Both loops fail borrowers at once: each message reads the queue length while the other loop offers.
        List<Throwable> errors = Flux.range(0, 20_000)
                .flatMap(i -> fixture.acquireOn(i % 2).map(Object.class::cast).onErrorResume(Mono::just), 64)
                .cast(Throwable.class)
                .collectList()
                .block(PoolFixture.WAIT);

        assertThat(errors).hasSize(20_000).allSatisfy(error -> assertThat(error)
                .isInstanceOf(PendingAcquireLimitException.class)
                .hasMessageContaining("(open 1/1, idle 0, pending 0, max-pending-acquires 0)"));
        held.lease().release().block(PoolFixture.WAIT);
        assertThat(fixture.total().pending()).isZero();
    }

    @Test
    void aTimeoutRacingARelease() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).acquireTimeout(Duration.ofMillis(1)));
        AtomicInteger served = new AtomicInteger();
        AtomicInteger timedOut = new AtomicInteger();
        for (int i = 0; i < 1000; i++) {
            PoolFixture.Borrowed held = fixture.borrow(0);
            LeaseCatcher waiter = new LeaseCatcher();
            fixture.acquireOn(1).subscribe(waiter);
            fixture.loops.loop(0).schedule(() -> held.lease().release().subscribe(),
                    ThreadLocalRandom.current().nextLong(1_500_000), TimeUnit.NANOSECONDS);

            settle(waiter::settled);
            (waiter.releaseIfDelivered() ? served : timedOut).incrementAndGet();
            if (waiter.error.get() != null) {
                assertThat(waiter.error.get()).isInstanceOf(AcquireTimeoutException.class);
            }
            settle(() -> fixture.total().acquired() == 0 && fixture.total().pending() == 0);
        }
        assertThat(served.get() + timedOut.get()).isEqualTo(1000);
        assertThat(fixture.factory.created).hasSize(1);
        assertThat(fixture.pool.stats().workers().get(1).timeouts()).isEqualTo(timedOut.get());
    }

    @Test
    void cancellingWhileAResourceIsBeingOpenedNeverLeaks() {
        fixture.start(config -> config.maxOpen(4).maxIdlePerWorker(1));
        fixture.factory.randomOpenDelayMicros = 200;
        for (int i = 0; i < 3000; i++) {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            LeaseCatcher borrower = new LeaseCatcher();
            fixture.acquireOn(random.nextInt(4)).subscribe(borrower);
            Schedulers.parallel().schedule(borrower::cancel, random.nextLong(200_000), TimeUnit.NANOSECONDS);

            settle(borrower::settled);
            borrower.releaseIfDelivered();
        }
        settle(() -> fixture.total().acquired() == 0 && fixture.total().pending() == 0
                && fixture.factory.connectingNow.get() == 0);
        assertThat(fixture.factory.maxOpenSeen.get()).isLessThanOrEqualTo(4);
        assertThat(fixture.factory.openResources()).isEqualTo(fixture.total().idle());
        assertThat(fixture.total().open()).isEqualTo(fixture.total().idle());
        assertThat(fixture.factory.doubleCloses).hasValue(0);
    }

    /**
     * A release on the borrower's own worker races its opening at once; one on another worker only once the opening
     * has taken half the acquire timeout (2 ms here, so that the timeout itself joins the race).
     */
    @ParameterizedTest
    @CsvSource({ "false, 2000", "true, 1000" })
    void aReleaseAndTheBorrowersOwnOpeningRacingToServeItHandOverOneLeaseAndKeepTheOther(boolean fromAnotherWorker,
            int iterations) {
        Duration acquireTimeout = fromAnotherWorker ? Duration.ofMillis(2) : PoolFixture.WAIT;
        fixture.start(config -> config.maxOpen(8).maxIdlePerWorker(2).acquireTimeout(acquireTimeout));
        fixture.factory.randomOpenDelayMicros = fromAnotherWorker ? 2000 : 300;
        int handedOver = 0;
        int ownOpening = 0;
        for (int i = 0; i < iterations; i++) {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            PoolFixture.Borrowed held = fixture.borrow(fromAnotherWorker ? 1 + random.nextInt(3) : 0);
            LeaseCatcher borrower = new LeaseCatcher();
            fixture.acquireOn(0).subscribe(borrower);
            long window = fixture.factory.randomOpenDelayMicros * 1000L;
            fixture.loops.loop(held.lease().worker()).schedule(() -> held.lease().release().subscribe(),
                    random.nextLong(window), TimeUnit.NANOSECONDS);
            if (random.nextInt(10) == 0) {
                Schedulers.parallel().schedule(borrower::cancel, random.nextLong(window), TimeUnit.NANOSECONDS);
            }

            settle(borrower::settled);
            Lease<StubResource> lease = borrower.lease.get();
            if (lease != null) {
                handedOver += lease.resource() == held.resource() ? 1 : 0;
                ownOpening += lease.resource() == held.resource() ? 0 : 1;
            }
            if (borrower.error.get() != null) {
                assertThat(borrower.error.get()).isInstanceOf(AcquireTimeoutException.class);
            }
            borrower.releaseIfDelivered();
            settle(() -> fixture.total().acquired() == 0 && fixture.factory.connectingNow.get() == 0);
            // Worker 0's resources are stale from now on, so that the next borrower there opens one again.
            fixture.factory.created.stream().filter(resource -> resource.worker == 0)
                    .forEach(resource -> resource.usable = false);
        }
        assertThat(handedOver).as("borrowers served by the release").isPositive();
        assertThat(ownOpening).as("borrowers served by their own opening").isPositive();
        assertThat(fixture.total().pending()).isZero();
        assertThat(fixture.factory.maxOpenSeen.get()).isLessThanOrEqualTo(8);
        settle(() -> fixture.factory.openResources() == fixture.total().open());
        assertThat(fixture.total().open()).isEqualTo(fixture.total().idle());
        assertThat(fixture.factory.doubleCloses).hasValue(0);
    }

    /** Polls a condition that the pool reaches asynchronously, failing after a few seconds. */
    private static boolean await(CountDownLatch latch) {
        try {
            return latch.await(PoolFixture.WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void settle(BooleanSupplier condition) {
        long deadline = System.nanoTime() + SETTLE_NANOS;
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition reached in time").isLessThan(deadline);
            LockSupport.parkNanos(20_000);
        }
    }

    /**
     * Subscribes to one acquire and remembers how it ended: a lease, an error, or a cancellation. Like any well-behaved
     * subscriber it releases a lease that arrives after it cancelled (Reactive Streams allows that race).
     */
    private final class LeaseCatcher extends BaseSubscriber<Lease<StubResource>> {

        private final AtomicReference<Lease<StubResource>> lease = new AtomicReference<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        private volatile boolean delivered;
        private volatile boolean cancelled;

        @Override
        protected void hookOnNext(Lease<StubResource> value) {
            lease.set(value);
            delivered = true;
            if (cancelled) {
                releaseIfDelivered();
            }
        }

        @Override
        protected void hookOnError(Throwable throwable) {
            error.set(throwable);
        }

        @Override
        protected void hookOnCancel() {
            cancelled = true;
        }

        boolean settled() {
            return delivered || error.get() != null || cancelled;
        }

        /**
         * Releases a delivered lease, once, on the resource's own loop (as a request handler would): a release from
         * elsewhere would start its reset timer before the hop, and the 1 ms timeout of one test would fail resets.
         *
         * @return whether a lease was delivered
         */
        boolean releaseIfDelivered() {
            Lease<StubResource> received = lease.getAndSet(null);
            if (received != null) {
                received.release().subscribeOn(fixture.loops.scheduler(received.worker())).subscribe();
            }
            return delivered;
        }
    }
}
