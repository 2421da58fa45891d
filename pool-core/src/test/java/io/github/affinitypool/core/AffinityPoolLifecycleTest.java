package io.github.affinitypool.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Contract lines 4 and 6 and the resource checks: idle bounds, minimum idle, lifetimes, validation, reset, connect
 * limit, invalidation and closing.
 */
class AffinityPoolLifecycleTest {

    private static final Duration EVICTION = Duration.ofMillis(20);

    private final PoolFixture fixture = new PoolFixture(2);

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void aWorkerKeepsAtMostMaxIdlePerWorkerAndSpillsTheExcessToTheOverflow() {
        fixture.start(config -> config.maxIdlePerWorker(2).evictionInterval(Duration.ofHours(1)));
        List<PoolFixture.Borrowed> leases = borrowAndReleaseAll(0, 5);

        AffinityPoolStats stats = fixture.pool.stats();
        assertThat(stats.workers().get(0).idle()).isEqualTo(2);
        assertThat(stats.workers().get(0).open()).isEqualTo(2);
        assertThat(stats.workers().get(0).acquired()).isZero();
        assertThat(stats.overflow().idle()).isEqualTo(3);
        assertThat(stats.overflow().open()).isEqualTo(3);
        assertThat(stats.total().open()).isEqualTo(5);
        assertThat(stats.total().closedByReason()).containsEntry(CloseReason.EXCESS_IDLE, 0L);
        assertThat(leases).noneMatch(borrowed -> borrowed.resource().isClosed());
    }

    @Test
    void aLoadAboveTheIdleBoundReusesTheSpilledResourcesOnTheirOwnLoopInsteadOfReopening() {
        fixture.start(config -> config.maxIdlePerWorker(2).evictionInterval(Duration.ofHours(1)));
        borrowAndReleaseAll(0, 5);

        List<PoolFixture.Borrowed> again = borrowAndReleaseAll(0, 5);

        assertThat(fixture.factory.openResources()).isEqualTo(5);
        assertThat(again).allMatch(borrowed -> borrowed.lease().locality() == Locality.LOCAL)
                .allMatch(borrowed -> borrowed.deliveredOn() == fixture.loopThread(0));
        PoolStats worker0 = fixture.pool.stats().workers().get(0);
        assertThat(worker0.misses()).isEqualTo(5);
        assertThat(worker0.hits()).isEqualTo(5);
    }

    @Test
    void aBorrowerAtTheCapTakesAnotherWorkersSpilledResourceFromTheOverflow() {
        fixture.start(config -> config.maxOpen(3).maxIdlePerWorker(1).evictionInterval(Duration.ofHours(1)));
        borrowAndReleaseAll(0, 3);
        PoolFixture.Borrowed onWorker1 = fixture.borrow(1);
        PoolFixture.Borrowed secondOnWorker1 = fixture.borrow(1);

        assertThat(onWorker1.lease().locality()).isEqualTo(Locality.OVERFLOW);
        assertThat(secondOnWorker1.lease().locality()).isEqualTo(Locality.OVERFLOW);
        assertThat(onWorker1.deliveredOn()).isSameAs(fixture.loopThread(1));
        assertThat(onWorker1.resource().worker).isZero();
        assertThat(fixture.factory.openResources()).isEqualTo(3);
        assertThat(fixture.pool.stats().overflow().idle()).isZero();
        assertThat(fixture.pool.stats().workers().get(0).idle()).isEqualTo(1);
    }

    @Test
    void theOverflowIsDrainedOnceUnusedForAnEvictionInterval() {
        fixture.start(config -> config.maxIdlePerWorker(2).evictionInterval(EVICTION));
        List<PoolFixture.Borrowed> leases = borrowAndReleaseAll(0, 5);

        fixture.clock.advance(Duration.ofSeconds(1));

        await().atMost(PoolFixture.WAIT).until(() -> fixture.pool.stats().overflow().open() == 0);
        PoolStats worker0 = fixture.pool.stats().workers().get(0);
        assertThat(worker0.closedByReason()).containsEntry(CloseReason.EXCESS_IDLE, 3L);
        assertThat(worker0.open()).isEqualTo(2);
        assertThat(worker0.idle()).isEqualTo(2);
        assertThat(leases.stream().filter(borrowed -> borrowed.resource().isClosed()))
                .hasSize(3)
                .allMatch(borrowed -> borrowed.resource().closedOn == fixture.loopThread(0));
    }

    @Test
    void aDrainedResourceTakesThePlaceOfAnIdleOneThatWasClosed() {
        fixture.start(config -> config.maxIdlePerWorker(2).evictionInterval(EVICTION));
        PoolFixture.Borrowed first = fixture.borrow(0);
        PoolFixture.Borrowed second = fixture.borrow(0);
        PoolFixture.Borrowed third = fixture.borrow(0);
        fixture.releaseOnLoop(first);
        fixture.releaseOnLoop(second);
        fixture.releaseOnLoop(third);
        assertThat(fixture.pool.stats().overflow().idle()).isEqualTo(1);

        first.resource().usable = false;
        fixture.clock.advance(Duration.ofSeconds(1));

        await().atMost(PoolFixture.WAIT).until(() -> fixture.pool.stats().overflow().open() == 0);
        await().atMost(PoolFixture.WAIT).until(() -> fixture.pool.stats().workers().get(0).idle() == 2);
        assertThat(first.resource().isClosed()).isTrue();
        assertThat(third.resource().isClosed()).isFalse();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.UNUSABLE, 1L)
                .containsEntry(CloseReason.EXCESS_IDLE, 0L);
    }

    @Test
    void closingThePoolClosesTheSpilledResources() {
        // The closes run as tasks on worker 1's loop; the fixture's 100 ms close timeout would let the close complete
        // before a loaded loop ran them. With no lease out, a long close timeout costs nothing when the closes finish.
        fixture.start(config -> config.maxIdlePerWorker(1).evictionInterval(Duration.ofHours(1))
                .closeTimeout(PoolFixture.WAIT));
        List<PoolFixture.Borrowed> leases = borrowAndReleaseAll(1, 4);

        fixture.pool.closeAsync().block(PoolFixture.WAIT.multipliedBy(3));

        assertThat(leases).allMatch(borrowed -> borrowed.resource().isClosed());
        assertThat(fixture.factory.openResources()).isZero();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.POOL_CLOSED, 4L);
    }

    /** Borrows {@code count} resources on {@code worker} at once, then releases them all from the test thread. */
    private List<PoolFixture.Borrowed> borrowAndReleaseAll(int worker, int count) {
        List<PoolFixture.Borrowed> leases = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            leases.add(fixture.borrow(worker));
        }
        leases.forEach(fixture::release);
        return leases;
    }

    @Test
    void concurrentReleasesNeverLeaveMoreThanMaxIdle() {
        fixture.start(config -> config.maxOpen(40).maxIdlePerWorker(3));
        for (int round = 0; round < 20; round++) {
            List<PoolFixture.Borrowed> leases = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                leases.add(fixture.borrow(-1));
            }
            Flux.fromIterable(leases)
                    .flatMap(borrowed -> borrowed.lease().release()
                            .subscribeOn(fixture.loops.scheduler(borrowed.lease().worker())))
                    .blockLast(PoolFixture.WAIT);
            // Releases racing on different loops may spill one more than needed, never keep one too many.
            PoolStats overflow = fixture.pool.stats().overflow();
            int spilled = fixture.pool.spilledCount();
            assertThat(overflow.idle() - spilled).isBetween(1, 3);
            assertThat(overflow.idle()).isEqualTo(12);
            assertThat(overflow.open()).isEqualTo(overflow.idle());
        }
    }

    @Test
    void idleResourcesAreClosedAfterMaxIdleTimeAndNeverHandedOut() {
        fixture.start(config -> config.maxIdleTime(Duration.ofMinutes(5)).evictionInterval(Duration.ofHours(1)));
        StubResource idle = fixture.warm(0);

        fixture.clock.advance(Duration.ofMinutes(5));
        PoolFixture.Borrowed next = fixture.borrow(0);

        assertThat(next.resource()).isNotSameAs(idle);
        assertThat(idle.isClosed()).isTrue();
        assertThat(fixture.pool.stats().workers().get(0).closedByReason()).containsEntry(CloseReason.IDLE_TIME, 1L);
    }

    @Test
    void backgroundEvictionClosesIdleResourcesAfterMaxIdleTime() {
        fixture.start(config -> config.maxIdleTime(Duration.ofMinutes(5)).maxLifetime(Duration.ZERO)
                .evictionInterval(EVICTION));
        StubResource first = fixture.warm(0);
        StubResource second = fixture.warm(1);

        fixture.clock.advance(Duration.ofMinutes(4));
        StubResource third = fixture.warm(1);
        assertThat(third).isSameAs(second);
        fixture.clock.advance(Duration.ofMinutes(1));

        await().atMost(PoolFixture.WAIT).untilAsserted(() -> assertThat(first.isClosed()).isTrue());
        assertThat(first.closedOn).isSameAs(fixture.loopThread(0));
        assertThat(second.isClosed()).isFalse();
        PoolStats total = fixture.total();
        assertThat(total.closedByReason()).containsEntry(CloseReason.IDLE_TIME, 1L);
        assertThat(total.staleClosed()).isEqualTo(1);
        assertThat(total.idle()).isEqualTo(1);
    }

    @Test
    void backgroundEvictionClosesResourcesOlderThanTheirJitteredLifetime() {
        fixture.start(config -> config.maxOpen(20).maxIdlePerWorker(10).maxLifetime(Duration.ofSeconds(100))
                .maxIdleTime(Duration.ZERO).evictionInterval(EVICTION));
        List<PoolFixture.Borrowed> leases = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            leases.add(fixture.borrow(i % 2));
        }
        leases.forEach(fixture::release);

        // Lifetimes are cut by at most 10%: nothing expires before 90 s.
        fixture.clock.advance(Duration.ofMillis(89_999));
        assertThat(fixture.total().idle()).isEqualTo(20);
        // With 20 resources it is all but certain that some expire before 95 s and some after.
        fixture.clock.advance(Duration.ofMillis(5_001));
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().closedByReason().get(CloseReason.LIFETIME) > 0);
        assertThat(fixture.total().closedByReason().get(CloseReason.LIFETIME)).isLessThan(20);
        // After 100 s every one has expired.
        fixture.clock.advance(Duration.ofSeconds(5));
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().closedByReason().get(CloseReason.LIFETIME) == 20);
        assertThat(fixture.factory.openResources()).isZero();
        assertThat(fixture.total().staleClosed()).isEqualTo(20);
    }

    @Test
    void aLeaseReleasedAfterItsLifetimeIsClosedInsteadOfReused() {
        fixture.start(config -> config.maxLifetime(Duration.ofMinutes(30)));
        PoolFixture.Borrowed borrowed = fixture.borrow(1);

        fixture.clock.advance(Duration.ofMinutes(30));
        fixture.release(borrowed);

        assertThat(borrowed.resource().isClosed()).isTrue();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.LIFETIME, 1L);
        assertThat(fixture.total().idle()).isZero();
    }

    @Test
    void minIdlePerWorkerIsFilledAtStartAndRefilledAfterEviction() {
        fixture.start(config -> config.minIdlePerWorker(2).maxIdleTime(Duration.ofMinutes(5))
                .evictionInterval(EVICTION));
        await().atMost(PoolFixture.WAIT).untilAsserted(() -> assertThat(fixture.pool.stats().workers())
                .extracting(PoolStats::idle).containsExactly(2, 2));
        List<StubResource> firstGeneration = new ArrayList<>(fixture.factory.created);
        assertThat(firstGeneration).extracting(resource -> resource.worker).containsExactlyInAnyOrder(0, 0, 1, 1);

        fixture.clock.advance(Duration.ofMinutes(5));

        await().atMost(PoolFixture.WAIT).untilAsserted(() -> {
            assertThat(firstGeneration).allMatch(StubResource::isClosed);
            assertThat(fixture.pool.stats().workers()).extracting(PoolStats::idle).containsExactly(2, 2);
        });
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.IDLE_TIME, 4L);
        assertThat(fixture.factory.created).hasSize(8);
        assertThat(fixture.factory.openResources()).isEqualTo(4);
    }

    @Test
    void aBorrowerArrivingWhileTheRefillOpensSlowlyGetsTheIdleResourceTheRefillMoved() {
        PoolFixture one = new PoolFixture(1);
        try {
            one.factory.constantReset = true;
            one.start(config -> config.maxOpen(2).maxIdlePerWorker(2).minIdlePerWorker(2)
                    .evictionInterval(Duration.ofHours(1)));
            await().atMost(PoolFixture.WAIT).until(() -> one.total().idle() == 2);
            PoolFixture.Borrowed first = one.borrow(0);
            PoolFixture.Borrowed second = one.borrow(0);
            one.release(first); // off the loop: into reactor-pool's idle queue, not parked
            one.factory.openDelay = Duration.ofSeconds(30);

            // The close starts a refill: it takes `first` from reactor-pool's idle queue and opens a new resource.
            second.lease().invalidate().block(PoolFixture.WAIT);
            await().atMost(PoolFixture.WAIT).until(() -> one.factory.connectingNow.get() == 1);

            assertThat(one.borrow(0).resource()).isSameAs(first.resource());
        }
        finally {
            one.close();
        }
    }

    @Test
    void aWaiterGetsTheRoomOfAFailedRefillOpening() {
        PoolFixture one = new PoolFixture(1);
        try {
            Sinks.Empty<Void> refused = Sinks.empty();
            one.factory.openGate = refused.asMono();
            one.start(config -> config.maxOpen(1).maxIdlePerWorker(1).minIdlePerWorker(1)
                    .evictionInterval(Duration.ofHours(1)).acquireTimeout(Duration.ofSeconds(1)));
            // The start-up refill holds the only permit while its opening waits for the server.
            await().atMost(PoolFixture.WAIT).until(() -> one.total().open() == 1);
            one.factory.openGate = null;
            AtomicReference<Lease<StubResource>> served = new AtomicReference<>();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Disposable waiter = one.acquireOn(0).subscribe(served::set, failed::set);
            await().atMost(PoolFixture.WAIT).until(() -> one.total().pending() == 1);

            refused.tryEmitError(new IllegalStateException("connection refused"));

            await().atMost(PoolFixture.WAIT).until(() -> served.get() != null || failed.get() != null);
            assertThat(failed.get()).as("the waiter's failure").isNull();
            assertThat(served.get().locality()).isEqualTo(Locality.LOCAL);
            assertThat(one.total().pending()).isZero();
            waiter.dispose();
        }
        finally {
            one.close();
        }
    }

    @Test
    void minIdleIsRefilledWhenABorrowTakesAnIdleResource() {
        fixture.start(config -> config.minIdlePerWorker(1).evictionInterval(EVICTION));
        await().atMost(PoolFixture.WAIT).until(() -> fixture.pool.stats().workers().get(0).idle() == 1);

        PoolFixture.Borrowed borrowed = fixture.borrow(0);

        await().atMost(PoolFixture.WAIT).until(() -> fixture.pool.stats().workers().get(0).idle() == 1);
        assertThat(borrowed.lease().locality()).isEqualTo(Locality.LOCAL);
        assertThat(fixture.pool.stats().workers().get(0).open()).isEqualTo(2);
    }

    @Test
    void anIdleResourceThatFailsValidationIsClosedAndTheBorrowerGetsAnother() {
        fixture.start(config -> config.validateAfterIdle(Duration.ofSeconds(30)));
        StubResource broken = fixture.warm(0);
        fixture.factory.validation = resource -> resource != broken;

        fixture.clock.advance(Duration.ofSeconds(29));
        PoolFixture.Borrowed recent = fixture.borrow(0);
        assertThat(recent.resource()).isSameAs(broken);
        assertThat(fixture.factory.validations).hasValue(0);
        fixture.release(recent);

        fixture.clock.advance(Duration.ofSeconds(30));
        PoolFixture.Borrowed next = fixture.borrow(0);

        assertThat(fixture.factory.validations).hasValue(1);
        assertThat(next.resource()).isNotSameAs(broken);
        assertThat(next.lease().locality()).isEqualTo(Locality.LOCAL);
        assertThat(broken.isClosed()).isTrue();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.VALIDATION_FAILED, 1L);
    }

    @Test
    void aValidationThatNeverAnswersClosesTheResource() {
        fixture.start(config -> config.validateAfterIdle(Duration.ZERO).acquireTimeout(Duration.ofMillis(200)));
        StubResource silent = fixture.warm(0);
        fixture.factory.validation = null;

        Lease<StubResource> lease = fixture.acquireOn(0)
                .onErrorResume(AcquireTimeoutException.class, timeout -> Mono.empty())
                .block(PoolFixture.WAIT);

        // The borrower's timeout and the validation's race: either way it never gets the silent resource.
        assertThat(lease == null || lease.resource() != silent).isTrue();
        await().atMost(PoolFixture.WAIT).untilAsserted(() -> assertThat(silent.isClosed()).isTrue());
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.VALIDATION_FAILED, 1L);
    }

    @Test
    void aResourceWhoseResetFailsIsClosedOnRelease() {
        fixture.start(config -> config);
        PoolFixture.Borrowed borrowed = fixture.borrow(0);
        fixture.factory.reset = resource -> false;

        fixture.release(borrowed);

        assertThat(borrowed.resource().isClosed()).isTrue();
        assertThat(fixture.total().idle()).isZero();
        assertThat(fixture.total().open()).isZero();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.RESET_FAILED, 1L);
        assertThat(fixture.listener.events).contains("closed 0 RESET_FAILED");
    }

    @Test
    void anUnusableIdleResourceIsNeverHandedOut() {
        fixture.start(config -> config);
        StubResource idle = fixture.warm(1);
        idle.usable = false;

        PoolFixture.Borrowed next = fixture.borrow(1);

        assertThat(next.resource()).isNotSameAs(idle);
        assertThat(idle.isClosed()).isTrue();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.UNUSABLE, 1L);
    }

    @Test
    void invalidateClosesAndReleaseAfterwardsDoesNothing() {
        fixture.start(config -> config);
        PoolFixture.Borrowed borrowed = fixture.borrow(0);

        borrowed.lease().invalidate().block(PoolFixture.WAIT);
        borrowed.lease().release().block(PoolFixture.WAIT);
        borrowed.lease().invalidate().block(PoolFixture.WAIT);

        assertThat(borrowed.resource().isClosed()).isTrue();
        assertThat(fixture.factory.doubleCloses).hasValue(0);
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.INVALIDATED, 1L);
        assertThat(fixture.total().acquired()).isZero();
        assertThat(fixture.total().idle()).isZero();
    }

    @Test
    void aReleaseFromAnyThreadResetsAndClosesOnTheResourcesLoop() {
        fixture.start(config -> config.maxIdlePerWorker(0));
        PoolFixture.Borrowed borrowed = fixture.borrow(1);

        fixture.release(borrowed); // from the test thread
        borrowed.lease().invalidate().block(PoolFixture.WAIT); // a no-op: the release used the lease up
        PoolFixture.Borrowed next = fixture.borrow(1);
        next.lease().invalidate().block(PoolFixture.WAIT); // from the test thread too

        assertThat(next.resource()).isSameAs(borrowed.resource());
        assertThat(borrowed.resource().lastResetOn).isSameAs(fixture.loopThread(1));
        assertThat(borrowed.resource().closedOn).isSameAs(fixture.loopThread(1));
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.INVALIDATED, 1L);
    }

    @Test
    void aReleaseCancelledWhileItsResetRunsStillReturnsTheResource() {
        fixture.start(config -> config);
        PoolFixture.Borrowed borrowed = fixture.borrow(0);
        Sinks.Empty<Void> resetAnswered = Sinks.empty();
        fixture.factory.resetGate = resetAnswered.asMono();

        Disposable release = borrowed.lease().release().subscribe();
        release.dispose(); // a release().timeout(..), or a cancelled request that chained the release
        resetAnswered.tryEmitEmpty();

        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().idle() == 1);
        assertThat(fixture.total().acquired()).isZero();
        assertThat(fixture.factory.resets).hasValue(1);
        assertThat(fixture.borrow(0).resource()).isSameAs(borrowed.resource());
    }

    @Test
    void releaseIsIdempotent() {
        fixture.start(config -> config);
        PoolFixture.Borrowed borrowed = fixture.borrow(0);
        fixture.release(borrowed);
        PoolFixture.Borrowed next = fixture.borrow(0);

        fixture.release(borrowed); // the stale lease must not release the resource the next borrower holds

        assertThat(next.resource()).isSameAs(borrowed.resource());
        assertThat(fixture.total().acquired()).isEqualTo(1);
        assertThat(fixture.total().idle()).isZero();
        assertThat(fixture.factory.resets).hasValue(1);
    }

    @Test
    void atMostMaxConcurrentConnectsOpeningsRunAtOnce() {
        fixture.start(config -> config.maxOpen(64).maxConcurrentConnects(3));
        fixture.factory.openDelay = Duration.ofMillis(10);

        List<Lease<StubResource>> leases = Flux.range(0, 50)
                .flatMap(i -> fixture.acquireOn(i % 2))
                .collectList()
                .block(PoolFixture.WAIT);

        assertThat(leases).hasSize(50);
        assertThat(fixture.factory.created).hasSize(50);
        assertThat(fixture.factory.maxConnectingSeen).hasValue(3);
        assertThat(leases).allSatisfy(lease -> assertThat(lease.locality()).isEqualTo(Locality.LOCAL));
    }

    @Test
    void theDefaultConnectLimitIsOnePerWorker() {
        fixture.start(config -> config);
        assertThat(fixture.pool.config().maxConcurrentConnects()).isEqualTo(2);
        assertThat(fixture.pool.config().maxOpen()).isEqualTo(8);
        fixture.factory.openDelay = Duration.ofMillis(10);

        Flux.range(0, 8).flatMap(i -> fixture.acquireOn(-1)).blockLast(PoolFixture.WAIT);

        assertThat(fixture.factory.maxConnectingSeen).hasValue(2);
    }

    @Test
    void closeWaitsForOutstandingLeasesThenClosesEverything() {
        fixture.start(config -> config.closeTimeout(Duration.ofSeconds(10)));
        StubResource idle = fixture.warm(0);
        PoolFixture.Borrowed held = fixture.borrow(1);
        AtomicReference<Throwable> waiterError = new AtomicReference<>();

        StepVerifier.create(fixture.pool.closeAsync())
                .expectSubscription()
                .expectNoEvent(Duration.ofMillis(200))
                .then(() -> assertThat(idle.isClosed()).isFalse())
                .then(() -> fixture.acquireOn(0).subscribe(null, waiterError::set))
                .then(() -> fixture.release(held))
                .expectComplete()
                .verify(PoolFixture.WAIT);

        assertThat(idle.isClosed()).isTrue();
        assertThat(held.resource().isClosed()).isTrue();
        assertThat(fixture.factory.openResources()).isZero();
        assertThat(waiterError.get()).isInstanceOf(PoolClosedException.class);
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.POOL_CLOSED, 2L);
        fixture.pool.closeAsync().block(PoolFixture.WAIT); // idempotent
    }

    @Test
    void theLongestCloseTimeoutTheConfigurationTakesStillLetsCloseWait() {
        fixture.start(config -> config.closeTimeout(AffinityPoolConfig.MAX_DURATION));
        StubResource idle = fixture.warm(0);

        fixture.pool.close();

        assertThat(idle.isClosed()).isTrue();
        assertThat(fixture.pool.isClosed()).isTrue();
    }

    @Test
    void aCloseAfterTheLoopsBeganShuttingDownStillClosesEveryResource() {
        // The closes run as tasks on the resources' loops; the fixture's 100 ms close timeout would let the close
        // complete before a loaded loop ran them. With no lease out, a long close timeout costs nothing once they ran.
        fixture.start(config -> config.maxIdlePerWorker(2).closeTimeout(PoolFixture.WAIT));
        StubResource parked = fixture.warmOnLoop(0);
        fixture.factory.constantReset = true;
        StubResource pooled = fixture.warm(1); // released off its loop with nothing to reset: idle in reactor-pool
        // The loops stop taking scheduled tasks at once, but run the tasks they are given for the quiet period.
        fixture.loops.loopResources().disposeLater(Duration.ofSeconds(30), Duration.ofSeconds(60)).subscribe();
        await().atMost(PoolFixture.WAIT).until(() -> fixture.loops.scheduler(0).isDisposed());

        fixture.pool.closeAsync().block(PoolFixture.WAIT.multipliedBy(3));

        assertThat(parked.isClosed()).as("the resource parked on loop 0 closed").isTrue();
        assertThat(pooled.isClosed()).as("the resource idle in reactor-pool closed").isTrue();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.POOL_CLOSED, 2L);
    }

    @Test
    void closeWaitsNoLongerThanCloseTimeoutAndLeasesReleasedLaterAreClosed() {
        fixture.start(config -> config.closeTimeout(Duration.ofMillis(150)));
        PoolFixture.Borrowed held = fixture.borrow(0);

        long start = System.nanoTime();
        fixture.pool.closeAsync().block(PoolFixture.WAIT);
        long millis = (System.nanoTime() - start) / 1_000_000;

        assertThat(millis).isBetween(150L, 3_000L);
        assertThat(held.resource().isClosed()).isFalse();
        fixture.release(held);
        assertThat(held.resource().isClosed()).isTrue();
        assertThat(fixture.total().acquired()).isZero();
    }

    @Test
    void waitingBorrowersFailWhenThePoolCloses() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).closeTimeout(Duration.ZERO));
        fixture.borrow(0);

        StepVerifier.create(fixture.acquireOn(1))
                .then(() -> await().atMost(PoolFixture.WAIT).until(() -> fixture.total().pending() == 1))
                .then(() -> fixture.pool.closeAsync().subscribe())
                .expectError(PoolClosedException.class)
                .verify(PoolFixture.WAIT);
        assertThat(fixture.total().pending()).isZero();
    }

    @Test
    void blockingCloseIsRefusedOnAnEventLoop() {
        fixture.start(config -> config);

        Throwable refused = Mono.fromRunnable(fixture.pool::close)
                .subscribeOn(fixture.loops.scheduler(0))
                .then(Mono.<Throwable>empty())
                .onErrorResume(Mono::just)
                .block(PoolFixture.WAIT);

        assertThat(refused).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("subscribe to closeAsync() instead");
        fixture.pool.close();
        assertThatThrownBy(() -> fixture.pool.acquire().block(PoolFixture.WAIT))
                .isInstanceOf(PoolClosedException.class);
    }

    @Test
    void withResourceReleasesOnCompleteErrorAndCancel() {
        fixture.start(config -> config);

        assertThat(fixture.pool.withResource(resource -> Mono.just(resource.id)).blockLast(PoolFixture.WAIT))
                .isEqualTo(1);
        StepVerifier.create(fixture.pool.withResource(resource -> Mono.error(new IllegalStateException("boom"))))
                .expectErrorMessage("boom")
                .verify(PoolFixture.WAIT);
        StepVerifier.create(fixture.pool.withResource(resource -> Mono.never()))
                .expectSubscription()
                .thenAwait(Duration.ofMillis(50))
                .thenCancel()
                .verify(PoolFixture.WAIT);

        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().acquired() == 0);
        assertThat(fixture.total().idle()).isEqualTo(1);
        assertThat(fixture.factory.created).hasSize(1);
        assertThat(fixture.factory.resets).hasValue(3);
    }
}
