package io.github.affinitypool.core;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Contract lines 1, 3, 5, 7, 9 and 10: which resource an acquire gets, where and when it is delivered, and errors. */
class AffinityPoolAcquireTest {

    private final PoolFixture fixture = new PoolFixture(3);

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void acquireOnAWorkerGetsAResourceOpenedOnThatWorkersLoop() {
        fixture.start(config -> config);
        for (int worker = 0; worker < 3; worker++) {
            PoolFixture.Borrowed borrowed = fixture.borrow(worker);
            Thread loop = fixture.loopThread(worker);

            assertThat(borrowed.resource().worker).isEqualTo(worker);
            assertThat(borrowed.resource().openedOn).isSameAs(loop);
            assertThat(borrowed.deliveredOn()).isSameAs(loop);
            assertThat(borrowed.lease().worker()).isEqualTo(worker);
            assertThat(borrowed.lease().locality()).isEqualTo(Locality.LOCAL);
        }
        assertThat(fixture.factory.openedOffLoop).hasValue(0);
        assertThat(fixture.total().local()).isEqualTo(3);
    }

    @Test
    void anIdleLocalResourceIsReusedBeforeAnythingElse() {
        fixture.start(config -> config);
        StubResource onZero = fixture.warm(0);
        fixture.warm(1);

        PoolFixture.Borrowed again = fixture.borrow(0);

        assertThat(again.resource()).isSameAs(onZero);
        assertThat(again.lease().locality()).isEqualTo(Locality.LOCAL);
        PoolStats worker0 = fixture.pool.stats().workers().get(0);
        assertThat(worker0.hits()).isEqualTo(1);
        assertThat(worker0.misses()).isEqualTo(1);
        assertThat(worker0.acquired()).isEqualTo(1);
        assertThat(worker0.idle()).isZero();
    }

    @Test
    void steadyLoadWithinCapacityIsServedLocally() {
        fixture.start(config -> config.maxOpen(12).maxIdlePerWorker(4));
        Flux.range(0, 3)
                .flatMap(worker -> Flux.range(0, 200)
                        .flatMap(i -> fixture.pool.withResource(resource -> Mono.delay(Duration.ofMillis(1)))
                                .subscribeOn(fixture.loops.scheduler(worker)), 3))
                .blockLast(Duration.ofSeconds(20));

        PoolStats total = fixture.total();
        long leases = total.local() + total.stolen() + total.overflow() + total.offLoop();
        assertThat(leases).isEqualTo(600);
        assertThat(total.local()).isGreaterThanOrEqualTo(594); // at least 99%
        assertThat(total.open()).isLessThanOrEqualTo(12);
    }

    @Test
    void aBorrowerWithNoRoomStealsAnotherWorkersIdleResourceAtOnce() {
        fixture.start(config -> config.maxOpen(2).acquireTimeout(Duration.ofSeconds(30)));
        PoolFixture.Borrowed heldOnOne = fixture.borrow(1);
        StubResource idleOnZero = fixture.warm(0);
        assertThat(fixture.total().open()).isEqualTo(2);

        // Waiting would take the 30 s acquire timeout; the steal must be immediate.
        PoolFixture.Borrowed stolen = fixture.acquireOn(1)
                .map(lease -> new PoolFixture.Borrowed(lease, Thread.currentThread()))
                .block(Duration.ofSeconds(2));

        assertThat(stolen.resource()).isSameAs(idleOnZero);
        assertThat(stolen.lease().locality()).isEqualTo(Locality.STOLEN);
        assertThat(stolen.lease().worker()).isZero();
        assertThat(stolen.deliveredOn()).isSameAs(fixture.loopThread(1));
        assertThat(heldOnOne.resource().worker).isEqualTo(1);
        assertThat(fixture.factory.created).hasSize(2);
        assertThat(fixture.pool.stats().workers().get(1).stolen()).isEqualTo(1);
    }

    @Test
    void aWaiterIsServedOnItsOwnLoopByTheFirstResourceReleasedAnywhere() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1));
        PoolFixture.Borrowed held = fixture.borrow(0);
        AtomicReference<Thread> deliveredOn = new AtomicReference<>();
        Mono<Lease<StubResource>> waiter = fixture.acquireOn(2)
                .doOnNext(lease -> deliveredOn.set(Thread.currentThread()));

        StepVerifier.create(waiter)
                .then(() -> await().atMost(PoolFixture.WAIT).until(() -> fixture.total().pending() == 1))
                .then(() -> assertThat(fixture.pool.stats().workers().get(2).pending()).isEqualTo(1))
                .then(() -> held.lease().release().subscribe())
                .assertNext(lease -> {
                    assertThat(lease.resource()).isSameAs(held.resource());
                    assertThat(lease.locality()).isEqualTo(Locality.STOLEN);
                    lease.release().subscribe();
                })
                .verifyComplete();

        assertThat(deliveredOn.get()).isSameAs(fixture.loopThread(2));
        assertThat(fixture.total().pending()).isZero();
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().acquired() == 0);
    }

    @Test
    void waitersAreServedFirstComeFirstServed() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1));
        PoolFixture.Borrowed held = fixture.borrow(0);
        List<Integer> order = new ArrayList<>();
        List<Mono<Void>> waiters = new ArrayList<>();
        for (int worker : new int[] {1, 2, 0}) {
            waiters.add(fixture.acquireOn(worker)
                    .doOnNext(lease -> {
                        synchronized (order) {
                            order.add(worker);
                        }
                    })
                    .flatMap(Lease::release)
                    .cache());
            waiters.get(waiters.size() - 1).subscribe();
            await().atMost(PoolFixture.WAIT).until(() -> fixture.total().pending() == waiters.size());
        }

        fixture.release(held);
        Mono.when(waiters).block(PoolFixture.WAIT);

        assertThat(order).containsExactly(1, 2, 0);
    }

    @Test
    void aWaiterGetsRoomFreedByAClosedResource() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1));
        PoolFixture.Borrowed held = fixture.borrow(0);

        StepVerifier.create(fixture.acquireOn(1))
                .then(() -> await().atMost(PoolFixture.WAIT).until(() -> fixture.total().pending() == 1))
                .then(() -> held.lease().invalidate().subscribe())
                .assertNext(lease -> {
                    assertThat(lease.resource().worker).isEqualTo(1);
                    assertThat(lease.locality()).isEqualTo(Locality.LOCAL);
                })
                .verifyComplete();
        assertThat(held.resource().isClosed()).isTrue();
    }

    @Test
    void offLoopCallersAreServedFromTheOverflowPoolOnTheWorkersInTurn() {
        fixture.start(config -> config);
        List<Lease<StubResource>> leases = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            leases.add(fixture.pool.acquire().block(PoolFixture.WAIT));
        }

        assertThat(leases).allSatisfy(lease -> assertThat(lease.locality()).isEqualTo(Locality.OFF_LOOP));
        assertThat(leases).extracting(Lease::worker).containsExactlyInAnyOrder(0, 1, 2);
        assertThat(leases).allSatisfy(lease ->
                assertThat(lease.resource().openedOn).isSameAs(fixture.loopThread(lease.worker())));
        assertThat(fixture.pool.stats().overflow().open()).isEqualTo(3);
        assertThat(fixture.pool.stats().overflow().offLoop()).isEqualTo(3);

        leases.forEach(lease -> lease.release().block(PoolFixture.WAIT));
        Lease<StubResource> reused = fixture.pool.acquire().block(PoolFixture.WAIT);
        assertThat(leases).extracting(Lease::resource).contains(reused.resource());
        assertThat(fixture.pool.stats().overflow().hits()).isEqualTo(1);
    }

    @Test
    void anOnLoopBorrowerTakesAnIdleOverflowResourceWhenItsOwnPoolIsFull() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1));
        Lease<StubResource> offLoop = fixture.pool.acquire().block(PoolFixture.WAIT);
        offLoop.release().block(PoolFixture.WAIT);

        PoolFixture.Borrowed borrowed = fixture.borrow(1);

        assertThat(borrowed.resource()).isSameAs(offLoop.resource());
        assertThat(borrowed.lease().locality()).isEqualTo(Locality.OVERFLOW);
        assertThat(borrowed.deliveredOn()).isSameAs(fixture.loopThread(1));
    }

    @Test
    void offLoopBorrowersStealIdleWorkerResourcesWhenTheCapIsReached() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1));
        StubResource idle = fixture.warm(2);

        Lease<StubResource> offLoop = fixture.pool.acquire().block(PoolFixture.WAIT);

        assertThat(offLoop.resource()).isSameAs(idle);
        assertThat(offLoop.locality()).isEqualTo(Locality.OFF_LOOP);
    }

    @Test
    void idleOrderLifoHandsOutTheMostRecentlyReleasedResource() {
        fixture.start(config -> config.idleOrder(IdleOrder.LIFO));
        assertThat(reuseAfterReleasingTwo()).isEqualTo(2);
    }

    @Test
    void idleOrderFifoHandsOutTheLeastRecentlyReleasedResource() {
        fixture.start(config -> config.idleOrder(IdleOrder.FIFO));
        assertThat(reuseAfterReleasingTwo()).isEqualTo(1);
    }

    private int reuseAfterReleasingTwo() {
        PoolFixture.Borrowed first = fixture.borrow(0);
        PoolFixture.Borrowed second = fixture.borrow(0);
        fixture.release(first);
        fixture.release(second);
        return fixture.borrow(0).resource().id;
    }

    @Test
    void timeoutNamesThePoolTheWorkerTheStateAndWhatToRaise() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).acquireTimeout(Duration.ofMillis(200)));
        fixture.borrow(0);

        StepVerifier.create(fixture.acquireOn(1))
                .expectErrorSatisfies(error -> {
                    assertThat(error).isInstanceOf(AcquireTimeoutException.class).hasMessage(
                            "Redis pool 'default' (worker 1): no connection within 200 ms (open 1/1, idle 0, "
                                    + "pending 1); raise affinity-pool.redis.pool.max-open or acquire-timeout");
                    AcquireTimeoutException timeout = (AcquireTimeoutException) error;
                    assertThat(timeout.poolName()).isEqualTo("default");
                    assertThat(timeout.worker()).isEqualTo(1);
                    assertThat(timeout.open()).isEqualTo(1);
                    assertThat(timeout.maxOpen()).isEqualTo(1);
                    assertThat(timeout.idle()).isZero();
                    assertThat(timeout.pending()).isEqualTo(1);
                    assertThat(timeout.timeout()).isEqualTo(Duration.ofMillis(200));
                })
                .verify(PoolFixture.WAIT);

        assertThat(fixture.pool.stats().workers().get(1).timeouts()).isEqualTo(1);
        assertThat(fixture.total().pending()).isZero();
        assertThat(fixture.listener.events).contains("failed 1 TIMEOUT");
    }

    @Test
    void timeoutMessageUsesTheConfiguredLabelNounAndPrefix() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).acquireTimeout(Duration.ofMillis(50))
                .poolLabel("Postgres pool").resourceNoun("session").propertyPrefix("app.db.pool"));
        fixture.borrow(0);

        StepVerifier.create(fixture.pool.acquire())
                .expectErrorMessage("Postgres pool 'default' (off-loop): no session within 50 ms "
                        + "(open 1/1, idle 0, pending 1); raise app.db.pool.max-open or acquire-timeout")
                .verify(PoolFixture.WAIT);
    }

    @Test
    void aBorrowerWaitingForItsOwnSlowOpeningTakesAResourceReleasedMeanwhileOnItsOwnLoop() {
        OpeningRace race = releaseOnWhileABorrowerOnZeroWaitsForItsOpening(0, Duration.ofSeconds(30));

        // Its own opening would take until the server answers; the released resource must serve it now.
        PoolFixture.Borrowed served = race.served(Duration.ofSeconds(2), Locality.LOCAL);

        // The opening still completes, into an idle resource of worker 0.
        race.slowServer().tryEmitEmpty();
        await().atMost(PoolFixture.WAIT).until(() -> fixture.pool.stats().workers().get(0).idle() == 1);
        fixture.release(served);
        PoolStats total = fixture.total();
        assertThat(total.open()).isEqualTo(2);
        assertThat(total.idle()).isEqualTo(2);
        assertThat(total.acquired()).isZero();
        assertThat(total.pending()).isZero();
        assertThat(total.hits()).isEqualTo(1);
        assertThat(total.misses()).isEqualTo(1);
    }

    @Test
    void aResourceReleasedOnAnotherWorkerGoesToABorrowerWaitingForItsOpeningOnlyOnceTheOpeningIsSlow() {
        // A timeout long enough that even a stalled test thread checks the first half before the fallback.
        OpeningRace race = releaseOnWhileABorrowerOnZeroWaitsForItsOpening(1, Duration.ofSeconds(6));

        // Affinity first: the resource stays parked on worker 1 while worker 0's own opening may still come.
        assertThat(fixture.pool.stats().workers().get(1).idle()).isEqualTo(1);
        assertThat(race.onZero()).isNotDone();
        // Half the acquire timeout later, the opening is slow: the idle resource serves the borrower.
        PoolFixture.Borrowed served = race.served(Duration.ofSeconds(5), Locality.STOLEN);
        assertThat(fixture.total().timeouts()).isZero();
        fixture.release(served);
        race.slowServer().tryEmitEmpty();
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().idle() == 2);
        assertThat(fixture.total().acquired()).isZero();
    }

    @Test
    void aBorrowerThatWaitedInTheQueueBeforeItsOpeningTakesAResourceOfAnyWorkerAtOnce() {
        fixture.start(config -> config.maxOpen(2).acquireTimeout(Duration.ofSeconds(3)));
        PoolFixture.Borrowed onOne = fixture.borrow(1);
        PoolFixture.Borrowed onTwo = fixture.borrow(2);
        CompletableFuture<PoolFixture.Borrowed> onZero = fixture.acquireOn(0)
                .map(lease -> new PoolFixture.Borrowed(lease, Thread.currentThread()))
                .toFuture();
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().pending() == 1);
        Sinks.Empty<Void> slowServer = Sinks.empty();
        fixture.factory.openGate = slowServer.asMono();

        // Most of its timeout later, a closed resource makes room: the borrower leaves the queue to open one.
        Mono.delay(Duration.ofMillis(1800)).then(onTwo.lease().invalidate()).block(PoolFixture.WAIT);
        await().atMost(PoolFixture.WAIT).until(() -> fixture.factory.created.size() == 2
                && fixture.total().pending() == 0 && fixture.total().open() == 2);
        fixture.releaseOnLoop(onOne);

        // It has waited more than half its timeout: worker 1's resource serves it, before the timeout.
        PoolFixture.Borrowed served = onZero.orTimeout(3, TimeUnit.SECONDS).join();
        assertThat(served.resource()).isSameAs(onOne.resource());
        assertThat(served.deliveredOn()).isSameAs(fixture.loopThread(0));
        fixture.release(served);
        slowServer.tryEmitEmpty();
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().idle() == 2);
    }

    /**
     * A borrower on worker 0 whose own opening waits for {@code slowServer}, and the resource {@code held} on another
     * (or the same) worker, released on its own loop while the borrower waits.
     */
    private record OpeningRace(PoolFixture.Borrowed held, Sinks.Empty<Void> slowServer,
            CompletableFuture<PoolFixture.Borrowed> onZero, Thread loopZero) {

        /** @return the lease of the borrower, which must be {@code held}'s resource, delivered on worker 0's loop */
        PoolFixture.Borrowed served(Duration within, Locality locality) {
            PoolFixture.Borrowed served = onZero.orTimeout(within.toMillis(), TimeUnit.MILLISECONDS).join();
            assertThat(served.resource()).isSameAs(held.resource());
            assertThat(served.lease().locality()).isEqualTo(locality);
            assertThat(served.deliveredOn()).isSameAs(loopZero);
            return served;
        }
    }

    private OpeningRace releaseOnWhileABorrowerOnZeroWaitsForItsOpening(int worker, Duration acquireTimeout) {
        fixture.start(config -> config.maxOpen(3).acquireTimeout(acquireTimeout));
        PoolFixture.Borrowed held = fixture.borrow(worker);
        Sinks.Empty<Void> slowServer = Sinks.empty();
        fixture.factory.openGate = slowServer.asMono();
        CompletableFuture<PoolFixture.Borrowed> onZero = fixture.acquireOn(0)
                .map(lease -> new PoolFixture.Borrowed(lease, Thread.currentThread()))
                .toFuture();
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().open() == 2);
        fixture.releaseOnLoop(held);
        return new OpeningRace(held, slowServer, onZero, fixture.loopThread(0));
    }

    @Test
    void aBorrowerWhoseOpeningTakesHalfTheTimeoutTakesAResourceParkedOnAnotherWorker() {
        fixture.start(config -> config.maxOpen(3).acquireTimeout(Duration.ofSeconds(1)));
        StubResource parkedOnOne = fixture.warmOnLoop(1);

        assertServedDespiteASlowOpening(parkedOnOne);
    }

    @Test
    void aBorrowerWhoseOpeningTakesHalfTheTimeoutTakesAResourceIdleInAnotherWorkersPool() {
        fixture.start(config -> config.maxOpen(3).acquireTimeout(Duration.ofSeconds(1)));
        StubResource idleOnOne = fixture.warm(1);

        assertServedDespiteASlowOpening(idleOnOne);
    }

    @Test
    void aBorrowerWhoseOpeningTakesHalfTheTimeoutTakesAResourceAnotherWorkerSpilled() {
        fixture.start(config -> config.maxOpen(3).maxIdlePerWorker(1).acquireTimeout(Duration.ofSeconds(1)));
        PoolFixture.Borrowed first = fixture.borrow(1);
        PoolFixture.Borrowed second = fixture.borrow(1);
        fixture.release(first);
        fixture.release(second);
        assertThat(fixture.pool.spilledCount()).isEqualTo(1);

        assertServedDespiteASlowOpening(second.resource());
    }

    /**
     * A borrower on worker 0 opens a resource of its own (affinity first) while {@code idleElsewhere} sits idle; the
     * opening never completes, so the borrower must get {@code idleElsewhere} before its 1 s acquire timeout.
     */
    private void assertServedDespiteASlowOpening(StubResource idleElsewhere) {
        Sinks.Empty<Void> unansweringServer = Sinks.empty();
        fixture.factory.openGate = unansweringServer.asMono();

        Lease<StubResource> served = fixture.acquireOn(0).block(Duration.ofSeconds(3));

        assertThat(served.resource()).isSameAs(idleElsewhere);
        assertThat(served.locality()).isIn(Locality.STOLEN, Locality.OVERFLOW);
        assertThat(fixture.total().timeouts()).isZero();
        served.release().block(PoolFixture.WAIT);
        fixture.factory.openGate = null;
        unansweringServer.tryEmitEmpty();
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().acquired() == 0
                && fixture.factory.connectingNow.get() == 0);
    }

    @Test
    void theTimeoutCoversASlowOpening() {
        fixture.start(config -> config.acquireTimeout(Duration.ofMillis(100)));
        fixture.factory.openDelay = Duration.ofSeconds(2);

        StepVerifier.create(fixture.acquireOn(0))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(AcquireTimeoutException.class)
                        // Below the cap: the advice is about the opening, not max-open.
                        .hasMessage(openingTooSlow("open 1/" + fixture.pool.config().maxOpen() + ", connecting 1")))
                .verify(Duration.ofSeconds(1));

        // The opening still completes, and the resource becomes idle instead of leaking.
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().idle() == 1);
        assertThat(fixture.total().acquired()).isZero();
    }

    @Test
    void openingsWaitingBehindMaxConcurrentConnectsCountAsConnectingSoTheAdviceIsStillAboutTheOpening() {
        fixture.start(config -> config.maxOpen(2).maxIdlePerWorker(2).maxConcurrentConnects(1)
                .acquireTimeout(Duration.ofMillis(100)));
        fixture.factory.openDelay = Duration.ofSeconds(2);
        fixture.acquireOn(0).subscribe(null, error -> { });
        await().atMost(PoolFixture.WAIT).until(() -> fixture.factory.connectingNow.get() == 1);

        // This opening waits for the first one's turn to end: a higher max-open would only queue more behind it.
        StepVerifier.create(fixture.acquireOn(0))
                .expectErrorMessage(openingTooSlow("open 2/2, connecting 2"))
                .verify(Duration.ofSeconds(1));
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().idle() == 2);
    }

    @Test
    void atTheCapWithEveryResourceStillOpeningTheTimeoutAdvisesOnTheOpeningNotOnMaxOpen() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).acquireTimeout(Duration.ofMillis(100)));
        fixture.factory.openDelay = Duration.ofSeconds(2);

        StepVerifier.create(fixture.acquireOn(0))
                .expectErrorMessage(openingTooSlow("open 1/1, connecting 1"))
                .verify(Duration.ofSeconds(1));
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().idle() == 1);
    }

    /** @return the timeout message of a borrower on worker 0 that waited 100 ms for openings, none idle or pending */
    private static String openingTooSlow(String openAndConnecting) {
        return "Redis pool 'default' (worker 0): no connection within 100 ms (" + openAndConnecting + ", idle 0, "
                + "pending 0); opening a connection takes longer than the acquire timeout: check the server, or raise "
                + "affinity-pool.redis.pool.acquire-timeout or max-concurrent-connects";
    }

    @Test
    void withNoPendingAllowedAnAcquireThatCannotBeServedFailsAtOnce() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).maxPendingAcquires(0)
                .acquireTimeout(Duration.ofSeconds(30)));
        fixture.borrow(0);

        StepVerifier.create(fixture.acquireOn(2))
                .expectErrorSatisfies(error -> assertThat(error)
                        .isInstanceOf(PendingAcquireLimitException.class)
                        .hasMessage("Redis pool 'default' (worker 2): no connection free and waiting is disabled "
                                + "(open 1/1, idle 0, pending 0, max-pending-acquires 0); "
                                + "raise affinity-pool.redis.pool.max-pending-acquires or max-open"))
                .verify(Duration.ofSeconds(2));
        assertThat(fixture.listener.events).contains("failed 2 PENDING_LIMIT");
    }

    @Test
    void oneBorrowerMoreThanMaxPendingAcquiresFailsAtOnce() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).maxPendingAcquires(2)
                .acquireTimeout(Duration.ofSeconds(30)));
        fixture.borrow(0);
        fixture.acquireOn(1).subscribe(null, error -> { });
        fixture.acquireOn(2).subscribe(null, error -> { });
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().pending() == 2);

        StepVerifier.create(fixture.acquireOn(1))
                .expectErrorSatisfies(error -> {
                    assertThat(error).isInstanceOf(PendingAcquireLimitException.class)
                            .hasMessageContaining("the wait queue is full (open 1/1, idle 0, pending 2, "
                                    + "max-pending-acquires 2)");
                    assertThat(((PendingAcquireLimitException) error).maxPendingAcquires()).isEqualTo(2);
                })
                .verify(Duration.ofSeconds(2));
        assertThat(fixture.total().pending()).isEqualTo(2);
    }

    @Test
    void aFailedOpeningReachesTheBorrowerAndReturnsItsPermit() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1));
        IllegalStateException refused = new IllegalStateException("connection refused");
        fixture.factory.openError = refused;

        StepVerifier.create(fixture.acquireOn(0)).expectErrorMatches(error -> error == refused)
                .verify(PoolFixture.WAIT);
        assertThat(fixture.total().open()).isZero();
        assertThat(fixture.listener.events).contains("failed 0 ERROR");

        fixture.factory.openError = null;
        assertThat(fixture.borrow(0).resource().worker).isZero();
    }

    @Test
    void aClosedPoolRefusesAcquires() {
        fixture.start(config -> config);
        fixture.pool.closeAsync().block(PoolFixture.WAIT);

        StepVerifier.create(fixture.acquireOn(1))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PoolClosedException.class)
                        .hasMessage("Redis pool 'default' is closed"))
                .verify(PoolFixture.WAIT);
        assertThatThrownBy(() -> fixture.pool.acquire().block(PoolFixture.WAIT))
                .isInstanceOf(PoolClosedException.class)
                .isInstanceOf(AffinityPoolException.class);
    }

    @Test
    void statsAndListenerAccountEveryLease() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1));
        fixture.warm(0);
        fixture.release(fixture.borrow(1));
        fixture.release(fixture.borrow(-1));

        AffinityPoolStats stats = fixture.pool.stats();
        assertThat(stats.workers()).hasSize(3);
        assertThat(stats.workers().get(0).local()).isEqualTo(1);
        assertThat(stats.workers().get(0).misses()).isEqualTo(1);
        assertThat(stats.workers().get(0).hits()).isZero();
        assertThat(stats.workers().get(0).open()).isEqualTo(1);
        assertThat(stats.workers().get(1).stolen()).isEqualTo(1);
        assertThat(stats.workers().get(1).hits()).isEqualTo(1);
        assertThat(stats.workers().get(1).open()).isZero();
        assertThat(stats.overflow().offLoop()).isEqualTo(1);
        assertThat(stats.overflow().hits()).isEqualTo(1);
        assertThat(stats.total().hits()).isEqualTo(2);
        assertThat(stats.total().misses()).isEqualTo(1);
        assertThat(stats.total().open()).isEqualTo(1);
        assertThat(stats.total().idle()).isEqualTo(1);
        assertThat(stats.total().closedByReason()).containsEntry(CloseReason.EXCESS_IDLE, 0L).hasSize(8);
        assertThat(fixture.listener.events).containsExactly(
                "opened 0", "acquired 0 LOCAL", "acquired 1 STOLEN", "acquired -1 OFF_LOOP");
    }

    @Test
    void aFailingListenerDoesNotBreakThePool() {
        fixture.start(config -> config, new AffinityPoolListener() {
            @Override
            public void acquired(int worker, Locality locality, long nanos) {
                throw new IllegalStateException("listener bug");
            }
        });

        assertThat(fixture.borrow(0).resource().worker).isZero();
    }

    @Test
    void aListenerThatThrowsAnErrorOnCloseDoesNotCostAConnectSlot() {
        AtomicBoolean throwOnce = new AtomicBoolean(true);
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1), new AffinityPoolListener() {
            @Override
            public void closed(int poolIndex, CloseReason reason) {
                if (throwOnce.getAndSet(false)) {
                    throw new AssertionError("listener bug");
                }
            }
        });
        PoolFixture.Borrowed first = fixture.borrow(0);

        first.lease().invalidate().block(PoolFixture.WAIT);

        assertThat(throwOnce).isFalse();
        assertThat(fixture.borrow(0).resource()).isNotSameAs(first.resource());
    }
}
