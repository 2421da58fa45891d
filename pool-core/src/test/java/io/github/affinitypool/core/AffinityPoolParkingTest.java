package io.github.affinitypool.core;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Sinks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The loop-confined fast path: a resource released on its own worker's loop stays parked there for that loop's next
 * acquire, and the contract still holds for it (idle bound, no starvation, lifetimes, close).
 */
class AffinityPoolParkingTest {

    private final PoolFixture fixture = new PoolFixture(2);

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void aResourceReleasedOnItsLoopIsIdleThereAndReusedByTheNextAcquireOnThatLoop() {
        fixture.start(config -> config);
        StubResource parked = fixture.warmOnLoop(0);
        PoolStats worker0 = fixture.pool.stats().workers().get(0);
        assertThat(worker0.idle()).isEqualTo(1);
        assertThat(worker0.acquired()).isZero();

        PoolFixture.Borrowed again = fixture.borrow(0);

        assertThat(again.resource()).isSameAs(parked);
        assertThat(again.lease().locality()).isEqualTo(Locality.LOCAL);
        assertThat(again.deliveredOn()).isSameAs(fixture.loopThread(0));
        worker0 = fixture.pool.stats().workers().get(0);
        assertThat(worker0.hits()).isEqualTo(1);
        assertThat(worker0.misses()).isEqualTo(1);
        assertThat(worker0.idle()).isZero();
        assertThat(worker0.acquired()).isEqualTo(1);
    }

    @Test
    void theIdleBoundCountsParkedResources() {
        fixture.start(config -> config.maxIdlePerWorker(1));
        PoolFixture.Borrowed first = fixture.borrow(0);
        PoolFixture.Borrowed second = fixture.borrow(0);

        fixture.releaseOnLoop(first);
        fixture.releaseOnLoop(second);

        PoolStats worker0 = fixture.pool.stats().workers().get(0);
        assertThat(worker0.idle()).isEqualTo(1);
        assertThat(worker0.open()).isEqualTo(1);
        assertThat(fixture.pool.stats().overflow().idle()).isEqualTo(1);
        assertThat(fixture.pool.spilledCount()).isEqualTo(1);
        assertThat(second.resource().isClosed()).isFalse();
        assertThat(first.resource().isClosed()).isFalse();
    }

    @Test
    void aBorrowerOnAnotherWorkerGetsAParkedResourceInsteadOfWaiting() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).acquireTimeout(Duration.ofSeconds(30)));
        StubResource parked = fixture.warmOnLoop(0);

        // Waiting would take the 30 s acquire timeout: worker 0 must hand over what it parked.
        PoolFixture.Borrowed stolen = fixture.acquireOn(1)
                .map(lease -> new PoolFixture.Borrowed(lease, Thread.currentThread()))
                .block(Duration.ofSeconds(2));

        assertThat(stolen.resource()).isSameAs(parked);
        assertThat(stolen.lease().locality()).isEqualTo(Locality.STOLEN);
        assertThat(stolen.deliveredOn()).isSameAs(fixture.loopThread(1));
        assertThat(fixture.factory.created).hasSize(1);
    }

    @Test
    void aParkedResourceIdleTooLongIsClosedRatherThanHandedToABorrowerOnAnotherWorker() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).maxIdleTime(Duration.ofSeconds(15))
                .evictionInterval(Duration.ofHours(1)).acquireTimeout(Duration.ofSeconds(30)));
        StubResource parked = fixture.warmOnLoop(0);
        fixture.clock.advance(Duration.ofSeconds(20));

        PoolFixture.Borrowed borrowed = fixture.borrow(1);

        assertThat(borrowed.resource()).isNotSameAs(parked);
        assertThat(parked.isClosed()).isTrue();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.IDLE_TIME, 1L);
        assertThat(fixture.factory.created).hasSize(2);
        fixture.releaseOnLoop(borrowed);
    }

    @Test
    void aParkedResourceDueForACheckIsValidatedBeforeABorrowerOnAnotherWorkerGetsIt() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).validateAfterIdle(Duration.ofSeconds(10))
                .evictionInterval(Duration.ofHours(1)).acquireTimeout(Duration.ofSeconds(30)));
        StubResource parked = fixture.warmOnLoop(0);
        fixture.clock.advance(Duration.ofSeconds(20));
        fixture.factory.validation = resource -> resource != parked;

        PoolFixture.Borrowed borrowed = fixture.borrow(1);

        assertThat(borrowed.resource()).isNotSameAs(parked);
        assertThat(fixture.factory.validations).hasValue(1);
        assertThat(parked.isClosed()).isTrue();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.VALIDATION_FAILED, 1L);
        fixture.releaseOnLoop(borrowed);
    }

    @Test
    void withNoWaitingAllowedABorrowerStillGetsAResourceParkedOnAnotherWorker() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).maxPendingAcquires(0));
        StubResource parked = fixture.warmOnLoop(0);

        PoolFixture.Borrowed stolen = fixture.borrow(1);

        assertThat(stolen.resource()).isSameAs(parked);
        assertThat(stolen.lease().locality()).isEqualTo(Locality.STOLEN);
        fixture.releaseOnLoop(stolen);
        // Nothing idle anywhere now that worker 0 holds it: the limit applies again.
        PoolFixture.Borrowed held = fixture.borrow(0);
        assertThatThrownBy(() -> fixture.borrow(1)).isInstanceOf(PendingAcquireLimitException.class);
        fixture.releaseOnLoop(held);
        assertThat(fixture.total().pending()).isZero();
        assertThat(fixture.total().acquired()).isZero();
    }

    @Test
    void aWaiterWhoseParkedResourceFailsItsCheckKeepsItsTurnWhenARefillTakesTheRoomItFreed() {
        PoolFixture one = new PoolFixture(1);
        try {
            one.start(config -> config.maxOpen(1).maxIdlePerWorker(1).minIdlePerWorker(1).maxPendingAcquires(0)
                    .validateAfterIdle(Duration.ofSeconds(10)).evictionInterval(Duration.ofHours(1)));
            // The start-up refill parks the only resource the cap allows on worker 0.
            await().atMost(PoolFixture.WAIT).until(() -> one.total().idle() == 1);
            StubResource parked = one.factory.created.get(0);
            one.clock.advance(Duration.ofSeconds(20));
            one.factory.validation = resource -> resource != parked;
            Sinks.Empty<Void> server = Sinks.empty();
            one.factory.openGate = server.asMono();
            AtomicReference<Lease<StubResource>> served = new AtomicReference<>();
            AtomicReference<Throwable> failed = new AtomicReference<>();

            // Queued beyond the limit for the parked resource, which worker 0 spills to it. Its check fails, and the
            // close starts a refill that takes the room freed, opening slowly, before the borrower's retry of the chain
            // can: the borrower, taken from the queue, goes back to its place there rather than meet the limit anew.
            Disposable waiter = one.acquireOn(-1).subscribe(served::set, failed::set);
            await().atMost(PoolFixture.WAIT).until(() -> parked.isClosed()
                    && (one.total().pending() == 1 || failed.get() != null));

            assertThat(failed.get()).as("the waiter's failure").isNull();
            assertThat(one.factory.validations).hasValue(1);
            assertThat(one.total().closedByReason()).containsEntry(CloseReason.VALIDATION_FAILED, 1L);
            server.tryEmitEmpty();
            await().atMost(PoolFixture.WAIT).until(() -> served.get() != null || failed.get() != null);
            assertThat(failed.get()).as("the waiter's failure").isNull();
            assertThat(served.get().resource()).isSameAs(one.factory.created.get(1));
            assertThat(served.get().locality()).isEqualTo(Locality.OFF_LOOP);
            // Handed over by the refill, not opened for the borrower: a hit.
            assertThat(one.total().hits()).isEqualTo(1L);
            assertThat(one.total().misses()).isZero();
            assertThat(one.total().pending()).isZero();
            assertThat(one.factory.created).hasSize(2);
            assertThat(one.listener.events).containsExactly("opened 0", "closed 0 VALIDATION_FAILED", "opened 0",
                    "acquired -1 OFF_LOOP");
            served.get().release().block(PoolFixture.WAIT);
            waiter.dispose();
        }
        finally {
            one.close();
        }
    }

    @Test
    void anOffLoopBorrowerGetsAParkedResourceInsteadOfWaiting() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).acquireTimeout(Duration.ofSeconds(30)));
        StubResource parked = fixture.warmOnLoop(1);

        Lease<StubResource> lease = fixture.acquireOn(-1).block(Duration.ofSeconds(2));

        assertThat(lease.resource()).isSameAs(parked);
        assertThat(lease.locality()).isEqualTo(Locality.OFF_LOOP);
    }

    @Test
    void aParkedResourceIdleTooLongIsClosedInTheBackground() {
        fixture.start(config -> config.maxIdleTime(Duration.ofMinutes(5)).evictionInterval(Duration.ofMillis(50)));
        StubResource parked = fixture.warmOnLoop(0);

        fixture.clock.advance(Duration.ofMinutes(5));

        await().atMost(PoolFixture.WAIT).until(parked::isClosed);
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.IDLE_TIME, 1L);
        assertThat(fixture.total().idle()).isZero();
        assertThat(fixture.total().open()).isZero();
    }

    @Test
    void aParkedResourcePastItsLifetimeIsNeverHandedOut() {
        fixture.start(config -> config.maxLifetime(Duration.ofMinutes(30)).evictionInterval(Duration.ofHours(1)));
        StubResource parked = fixture.warmOnLoop(0);

        fixture.clock.advance(Duration.ofMinutes(30));
        PoolFixture.Borrowed next = fixture.borrow(0);

        assertThat(next.resource()).isNotSameAs(parked);
        assertThat(parked.isClosed()).isTrue();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.LIFETIME, 1L);
    }

    @Test
    void closingThePoolClosesParkedResources() {
        // The closes run as tasks on the resources' loops; the fixture's 100 ms close timeout would let the close
        // complete before a loaded loop ran them. With no lease out, a long close timeout costs nothing once they ran.
        fixture.start(config -> config.closeTimeout(PoolFixture.WAIT));
        StubResource onZero = fixture.warmOnLoop(0);
        StubResource onOne = fixture.warmOnLoop(1);

        fixture.pool.closeAsync().block(PoolFixture.WAIT.multipliedBy(3));

        assertThat(onZero.isClosed()).isTrue();
        assertThat(onOne.isClosed()).isTrue();
        assertThat(fixture.factory.openResources()).isZero();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.POOL_CLOSED, 2L);
    }
}
