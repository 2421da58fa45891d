package io.github.affinitypool.core;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

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
        fixture.start(config -> config);
        StubResource onZero = fixture.warmOnLoop(0);
        StubResource onOne = fixture.warmOnLoop(1);

        fixture.pool.closeAsync().block(PoolFixture.WAIT);

        assertThat(onZero.isClosed()).isTrue();
        assertThat(onOne.isClosed()).isTrue();
        assertThat(fixture.factory.openResources()).isZero();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.POOL_CLOSED, 2L);
    }
}
