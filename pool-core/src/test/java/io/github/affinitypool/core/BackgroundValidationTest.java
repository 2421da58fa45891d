package io.github.affinitypool.core;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Sinks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The background check of idle resources: every {@code evictionInterval}, each worker validates the idle resources
 * that have been neither used nor checked for {@code validateAfterIdle}, closes the unhealthy ones, and keeps the
 * healthy ones idle without restarting their idle time.
 */
class BackgroundValidationTest {

    private final PoolFixture fixture = new PoolFixture(2);

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void idleResourcesAreCheckedAndTheUnhealthyOnesClosedBeforeAnyoneBorrowsThem() {
        fixture.start(config -> config.validateAfterIdle(Duration.ofMinutes(1))
                .evictionInterval(Duration.ofMillis(50)));
        StubResource parked = fixture.warmOnLoop(0);
        StubResource inReactorPool = fixture.warm(1);
        fixture.factory.validation = resource -> resource != inReactorPool;

        fixture.clock.advance(Duration.ofMinutes(1));

        await().atMost(PoolFixture.WAIT).until(inReactorPool::isClosed);
        await().atMost(PoolFixture.WAIT).until(() -> fixture.factory.validations.get() == 2);
        assertThat(parked.isClosed()).isFalse();
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.VALIDATION_FAILED, 1L);
        await().atMost(PoolFixture.WAIT).until(() -> fixture.pool.stats().workers().get(0).idle() == 1);

        // Just checked: the borrower does not pay for another check.
        PoolFixture.Borrowed borrowed = fixture.borrow(0);
        assertThat(borrowed.resource()).isSameAs(parked);
        assertThat(fixture.factory.validations).hasValue(2);
    }

    @Test
    void resourcesUnderACheckStillCountTowardsMinIdleSoNoneIsOpenedInTheirPlace() {
        // A PING's reply comes later: the resources are out of the idle ones meanwhile, yet not missing.
        Sinks.Empty<Void> replies = Sinks.empty();
        fixture.start(config -> config.minIdlePerWorker(2).maxIdlePerWorker(2).validateAfterIdle(Duration.ofMinutes(1))
                .evictionInterval(Duration.ofMillis(20)));
        await().atMost(PoolFixture.WAIT).untilAsserted(() -> assertThat(fixture.total().idle()).isEqualTo(4));
        fixture.factory.validationGate = replies.asMono();

        fixture.clock.advance(Duration.ofMinutes(1));
        await().atMost(PoolFixture.WAIT).until(() -> fixture.factory.validations.get() == 4);
        // Some ten upkeep runs while the checks are out.
        await().during(Duration.ofMillis(200)).atMost(PoolFixture.WAIT)
                .untilAsserted(() -> assertThat(fixture.factory.created).hasSize(4));
        replies.tryEmitEmpty();

        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().idle() == 4);
        assertThat(fixture.factory.created).hasSize(4);
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.EXCESS_IDLE, 0L);
    }

    @Test
    void aResourceThatPassesItsChecksIsStillClosedAfterMaxIdleTime() {
        fixture.start(config -> config.validateAfterIdle(Duration.ofMinutes(1)).maxIdleTime(Duration.ofMinutes(5))
                .evictionInterval(Duration.ofMillis(50)));
        StubResource parked = fixture.warmOnLoop(0);

        fixture.clock.advance(Duration.ofMinutes(1));
        await().atMost(PoolFixture.WAIT).until(() -> fixture.factory.validations.get() == 1);
        await().atMost(PoolFixture.WAIT).until(() -> fixture.total().idle() == 1);
        fixture.clock.advance(Duration.ofMinutes(4));

        await().atMost(PoolFixture.WAIT).until(parked::isClosed);
        assertThat(fixture.total().closedByReason()).containsEntry(CloseReason.IDLE_TIME, 1L);
        assertThat(fixture.total().open()).isZero();
    }
}
