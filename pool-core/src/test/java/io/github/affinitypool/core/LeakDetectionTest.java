package io.github.affinitypool.core;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A lease held past {@code leakDetectionThreshold} is reported once, with the acquiring code's stack, and once more
 * when it comes back; a lease returned in time is never reported.
 */
class LeakDetectionTest {

    private final PoolFixture fixture = new PoolFixture(2);
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final AtomicInteger suspected = new AtomicInteger();
    private final Logger logger = (Logger) LoggerFactory.getLogger(LeakDetector.class);

    @BeforeEach
    void captureLog() {
        log.start();
        logger.addAppender(log);
        logger.setLevel(Level.INFO);
    }

    @AfterEach
    void tearDown() {
        logger.detachAppender(log);
        fixture.close();
    }

    private void startWithThreshold(Duration threshold) {
        fixture.start(config -> config.leakDetectionThreshold(threshold), new AffinityPoolListener() {
            @Override
            public void leakSuspected(int worker) {
                suspected.incrementAndGet();
            }
        });
    }

    @Test
    void leaseHeldTooLongIsReportedOnceWithTheAcquiringStackAndOnceWhenReturned() {
        startWithThreshold(Duration.ofMillis(50));
        Lease<StubResource> lease = fixture.pool.acquire().block(PoolFixture.WAIT);

        await().atMost(Duration.ofSeconds(5)).until(() -> suspected.get() == 1);
        List<ILoggingEvent> warnings = log.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
        assertThat(warnings).hasSize(1);
        assertThat(warnings.get(0).getFormattedMessage()).isEqualTo("Pool 'default': a connection on worker "
                + lease.worker() + " has been leased for more than 50 ms and not released; possible leak (release it, "
                + "or use withConnection/withResource)");
        assertThat(warnings.get(0).getThrowableProxy().getStackTraceElementProxyArray())
                .anySatisfy(frame -> assertThat(frame.getSTEAsString())
                        .contains("leaseHeldTooLongIsReportedOnceWithTheAcquiringStackAndOnceWhenReturned"));

        lease.release().block(PoolFixture.WAIT);
        List<ILoggingEvent> infos = log.list.stream().filter(e -> e.getLevel() == Level.INFO).toList();
        assertThat(infos).hasSize(1);
        assertThat(infos.get(0).getFormattedMessage()).startsWith("Pool 'default': the connection on worker "
                + lease.worker() + " reported as a possible leak was returned after ");
        assertThat(suspected).hasValue(1);
    }

    @Test
    void theStackIsWhereTheAcquireWasBuiltEvenWhenItIsSubscribedElsewhere() throws Exception {
        startWithThreshold(Duration.ofMillis(50));
        // Built here, subscribed later on a worker loop, as a framework (WebFlux) subscribes a handler's Mono.
        Mono<Lease<StubResource>> acquire = buildAcquire();
        Lease<StubResource> lease = acquire.subscribeOn(fixture.loops.scheduler(0)).block(PoolFixture.WAIT);

        await().atMost(Duration.ofSeconds(5)).until(() -> suspected.get() == 1);
        ILoggingEvent warning = log.list.stream().filter(e -> e.getLevel() == Level.WARN).findFirst().orElseThrow();
        assertThat(warning.getThrowableProxy().getStackTraceElementProxyArray())
                .anySatisfy(frame -> assertThat(frame.getSTEAsString()).contains("LeakDetectionTest.buildAcquire"));
        lease.release().block(PoolFixture.WAIT);
    }

    private Mono<Lease<StubResource>> buildAcquire() {
        return fixture.pool.acquire();
    }

    @Test
    void leaseReturnedInTimeIsNeverReported() {
        startWithThreshold(Duration.ofMillis(300));
        for (int i = 0; i < 20; i++) {
            fixture.pool.acquire().flatMap(Lease::release).block(PoolFixture.WAIT);
        }
        Lease<StubResource> held = fixture.pool.acquire().block(PoolFixture.WAIT);
        // The held lease proves the timer runs; the twenty returned ones must not have been reported.
        await().atMost(Duration.ofSeconds(5)).until(() -> suspected.get() == 1);
        held.release().block(PoolFixture.WAIT);
        assertThat(log.list.stream().filter(e -> e.getLevel() == Level.WARN)).hasSize(1);
    }

    @Test
    void aLeaseOfALoopShuttingDownIsStillDeliveredAndReturned() {
        fixture.start(config -> config.maxOpen(1).maxIdlePerWorker(1).leakDetectionThreshold(Duration.ofMinutes(1)));
        StubResource idle = fixture.warm(0); // its reset answers on loop 0, where it is parked
        // The loops stop taking scheduled tasks at once, but run the tasks they are given for the quiet period.
        fixture.loops.loopResources().disposeLater(Duration.ofSeconds(30), Duration.ofSeconds(60)).subscribe();
        await().atMost(PoolFixture.WAIT).until(() -> fixture.loops.scheduler(0).isDisposed());

        // Off-loop: served by loop 0 handing its parked resource over.
        Lease<StubResource> lease = fixture.pool.acquire().block(PoolFixture.WAIT);

        assertThat(lease.resource()).isSameAs(idle);
        lease.release().block(PoolFixture.WAIT);
        assertThat(fixture.total().acquired()).isZero();
    }

    @Test
    void offByDefault() {
        fixture.start(config -> config);
        assertThat(fixture.pool.config().leakDetectionThreshold()).isEqualTo(Duration.ZERO);
        Lease<StubResource> lease = fixture.pool.acquire().block(PoolFixture.WAIT);
        lease.release().block(PoolFixture.WAIT);
        assertThat(log.list).isEmpty();
    }
}
