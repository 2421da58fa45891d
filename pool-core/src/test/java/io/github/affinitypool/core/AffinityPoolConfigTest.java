package io.github.affinitypool.core;

import java.time.Clock;
import java.time.Duration;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

class AffinityPoolConfigTest {

    @Test
    void defaultsAreTheDocumentedOnes() {
        AffinityPoolConfig config = AffinityPoolConfig.builder().build();

        assertThat(config.maxOpen()).isZero();
        assertThat(config.maxIdlePerWorker()).isEqualTo(2);
        assertThat(config.minIdlePerWorker()).isZero();
        assertThat(config.maxLifetime()).isEqualTo(Duration.ofMinutes(30));
        assertThat(config.maxIdleTime()).isEqualTo(Duration.ofMinutes(5));
        assertThat(config.acquireTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.maxPendingAcquires()).isEqualTo(1000);
        assertThat(config.validateAfterIdle()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.evictionInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.idleOrder()).isEqualTo(IdleOrder.LIFO);
        assertThat(config.maxConcurrentConnects()).isZero();
        assertThat(config.closeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.poolLabel()).isEqualTo("Redis pool");
        assertThat(config.resourceNoun()).isEqualTo("connection");
        assertThat(config.propertyPrefix()).isEqualTo("affinity-pool.redis.pool");
        assertThat(config.clock()).isEqualTo(Clock.systemUTC());
    }

    @Test
    void workerDependentDefaultsResolveToFourPerWorkerAndOneConnectPerWorker() {
        AffinityPoolConfig resolved = AffinityPoolConfig.builder().build().resolve(3);

        assertThat(resolved.maxOpen()).isEqualTo(12);
        assertThat(resolved.maxConcurrentConnects()).isEqualTo(3);
    }

    @Test
    void explicitSizesSurviveResolution() {
        AffinityPoolConfig resolved = AffinityPoolConfig.builder().maxOpen(5).maxConcurrentConnects(1).build()
                .resolve(3);

        assertThat(resolved.maxOpen()).isEqualTo(5);
        assertThat(resolved.maxConcurrentConnects()).isEqualTo(1);
    }

    @Test
    void toBuilderCopiesEverySetting() {
        MutableClock clock = new MutableClock();
        AffinityPoolConfig config = AffinityPoolConfig.builder().maxOpen(9).maxIdlePerWorker(3).minIdlePerWorker(1)
                .maxLifetime(Duration.ofMinutes(1)).maxIdleTime(Duration.ofSeconds(50))
                .acquireTimeout(Duration.ofSeconds(1))
                .maxPendingAcquires(7).validateAfterIdle(Duration.ZERO).evictionInterval(Duration.ofSeconds(5))
                .idleOrder(IdleOrder.FIFO).maxConcurrentConnects(2).closeTimeout(Duration.ZERO)
                .leakDetectionThreshold(Duration.ofSeconds(3)).poolLabel("Pool")
                .resourceNoun("session").propertyPrefix("app.pool").clock(clock).build();

        assertThat(config.toBuilder().build()).hasToString(config.toString());
        assertThat(config.toBuilder().build().clock()).isSameAs(clock);
        assertThat(config.toString()).isEqualTo("AffinityPoolConfig{maxOpen=9, maxIdlePerWorker=3, minIdlePerWorker=1, "
                + "maxLifetime=PT1M, maxIdleTime=PT50S, acquireTimeout=PT1S, maxPendingAcquires=7, "
                + "validateAfterIdle=PT0S, evictionInterval=PT5S, idleOrder=FIFO, maxConcurrentConnects=2, "
                + "closeTimeout=PT0S, leakDetectionThreshold=PT3S}");
    }

    @Test
    void negativeSizesAreRejectedNamingTheField() {
        assertRejected(config -> config.maxOpen(-1), "maxOpen must be ≥ 0 (0 means workers × 4), was -1");
        assertRejected(config -> config.maxIdlePerWorker(-1), "maxIdlePerWorker must be ≥ 0, was -1");
        assertRejected(config -> config.minIdlePerWorker(-2), "minIdlePerWorker must be ≥ 0, was -2");
        assertRejected(config -> config.maxPendingAcquires(-1), "maxPendingAcquires must be ≥ 0, was -1");
        assertRejected(config -> config.maxConcurrentConnects(-3),
                "maxConcurrentConnects must be ≥ 0 (0 means one per worker), was -3");
    }

    @Test
    void durationsTheTimersCannotCountAreRejected() {
        // Longer than a long counts in nanoseconds: each would fail later, with an ArithmeticException.
        assertRejected(config -> config.acquireTimeout(Duration.ofDays(200_000)),
                "acquireTimeout must be at most 106751 days (292 years), was PT4800000H");
        assertRejected(config -> config.maxLifetime(Duration.ofDays(200_000)),
                "maxLifetime must be at most 106751 days (292 years), was PT4800000H");
        assertThat(AffinityPoolConfig.builder().maxIdleTime(AffinityPoolConfig.MAX_DURATION).build().maxIdleTime())
                .isEqualTo(AffinityPoolConfig.MAX_DURATION);
    }

    @Test
    void inconsistentIdleBoundsAreRejectedNamingBothFields() {
        assertRejected(config -> config.maxIdlePerWorker(2).minIdlePerWorker(3),
                "minIdlePerWorker (3) must be ≤ maxIdlePerWorker (2)");
        assertRejected(config -> config.maxOpen(1).maxIdlePerWorker(2), "maxIdlePerWorker (2) must be ≤ maxOpen (1)");
    }

    @Test
    void maxIdlePerWorkerIsCheckedAgainstTheResolvedMaxOpen() {
        AffinityPoolConfig config = AffinityPoolConfig.builder().maxIdlePerWorker(5).build();

        assertThatIllegalArgumentException().isThrownBy(() -> config.resolve(1))
                .withMessage("maxIdlePerWorker (5) must be ≤ maxOpen (4)");
    }

    @Test
    void meaninglessDurationsAreRejectedNamingTheField() {
        assertRejected(config -> config.acquireTimeout(Duration.ZERO), "acquireTimeout must be > 0, was PT0S");
        assertRejected(config -> config.evictionInterval(Duration.ZERO), "evictionInterval must be > 0, was PT0S");
        assertRejected(config -> config.maxLifetime(Duration.ofSeconds(-1)), "maxLifetime must be ≥ 0, was PT-1S");
        assertRejected(config -> config.maxIdleTime(Duration.ofSeconds(-1)), "maxIdleTime must be ≥ 0, was PT-1S");
        assertRejected(config -> config.validateAfterIdle(Duration.ofMillis(-1)),
                "validateAfterIdle must be ≥ 0, was PT-0.001S");
        assertRejected(config -> config.closeTimeout(Duration.ofSeconds(-5)), "closeTimeout must be ≥ 0, was PT-5S");
    }

    @Test
    void zeroDisablesLifetimeAndIdleTimeLimits() {
        AffinityPoolConfig config = AffinityPoolConfig.builder().maxLifetime(Duration.ZERO).maxIdleTime(Duration.ZERO)
                .validateAfterIdle(Duration.ZERO).closeTimeout(Duration.ZERO).maxPendingAcquires(0).build();

        assertThat(config.maxLifetime()).isZero();
        assertThat(config.maxIdleTime()).isZero();
        assertThat(config.maxPendingAcquires()).isZero();
    }

    @Test
    void missingValuesAreRejectedNamingTheField() {
        assertThatNullPointerException().isThrownBy(() -> AffinityPoolConfig.builder().acquireTimeout(null).build())
                .withMessage("acquireTimeout must not be null");
        assertThatNullPointerException().isThrownBy(() -> AffinityPoolConfig.builder().idleOrder(null).build())
                .withMessage("idleOrder must not be null");
        assertThatNullPointerException().isThrownBy(() -> AffinityPoolConfig.builder().clock(null).build())
                .withMessage("clock must not be null");
        assertRejected(config -> config.poolLabel(" "), "poolLabel must not be blank, was ' '");
        assertRejected(config -> config.resourceNoun(null), "resourceNoun must not be blank, was null");
    }

    private static void assertRejected(UnaryOperator<AffinityPoolConfig.Builder> config, String message) {
        assertThatIllegalArgumentException().isThrownBy(() -> config.apply(AffinityPoolConfig.builder()).build())
                .withMessage(message);
    }
}
