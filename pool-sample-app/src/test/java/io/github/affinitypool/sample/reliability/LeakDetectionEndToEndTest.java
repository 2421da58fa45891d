package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 9: leak detection end to end, configured through the starter
 * ({@code affinity-pool.redis.pool.leak-detection-threshold}). A lease an HTTP handler holds past the threshold is
 * logged once as a possible leak, with the stack of the handler that acquired it; once more, in one line, when it is
 * finally returned; and counted in the meter {@code redis.pool.leaks.suspected}. Leases returned in time are not.
 */
@RedisTest
class LeakDetectionEndToEndTest {

    private static final String DETECTOR = "io.github.affinitypool.core.LeakDetector";

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aLeaseHeldPastTheThresholdIsLoggedWithTheAcquiringHandlerAndCounted(RedisServer redis) {
        try (ReliabilityApp app = ReliabilityApp.start(redis,
                "affinity-pool.redis.pool.leak-detection-threshold=300ms");
                LogCapture log = new LogCapture()) {
            MeterRegistry meters = app.context.getBean(MeterRegistry.class);

            // Leases returned in time, on every path that takes one: never reported.
            Flux.range(0, 200).flatMap(i -> app.get(switch (i % 3) {
                case 0 -> "/reliability/lease/in-time";
                case 1 -> "/reliability/tx/in-time";
                default -> "/reliability/hold/5";
            }), 16).doOnNext(reply -> assertThat(reply.status()).isEqualTo(200)).blockLast(Duration.ofSeconds(30));

            // One lease held for 1.2 s by the handler.
            long start = System.nanoTime();
            ReliabilityApp.Reply held = app.get("/reliability/hold/1200").block(Duration.ofSeconds(10));
            long heldMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(held.status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).until(() -> detectorEvents(log, Level.INFO).size() == 1);

            List<ILoggingEvent> warnings = detectorEvents(log, Level.WARN);
            assertThat(warnings).as("leak warnings").hasSize(1);
            ILoggingEvent warning = warnings.get(0);
            assertThat(warning.getFormattedMessage()).matches("Pool 'rel': a connection on worker \\d has been leased "
                    + "for more than 300 ms and not released; "
                    + "possible leak \\(release it, or use withConnection/withResource\\)");
            assertThat(warning.getThrowableProxy()).as("the stack where the lease was acquired").isNotNull();
            List<String> frames = Arrays.stream(warning.getThrowableProxy().getStackTraceElementProxyArray())
                    .map(StackTraceElementProxy::getSTEAsString).toList();
            assertThat(frames).as("acquiring stack")
                    .anyMatch(frame -> frame.contains("ReliabilityRoutes$Handlers.holdLease"));

            List<ILoggingEvent> returned = detectorEvents(log, Level.INFO);
            assertThat(returned.get(0).getFormattedMessage()).matches("Pool 'rel': the connection on worker \\d "
                    + "reported as a possible leak was returned after \\d+ ms");
            assertThat(returned.get(0).getThrowableProxy()).as("one line").isNull();
            long returnedAfter = Long.parseLong(
                    returned.get(0).getFormattedMessage().replaceAll(".* after (\\d+) ms", "$1"));
            assertThat(returnedAfter).isBetween(1200L, heldMillis);

            double suspected = meters.find("redis.pool.leaks.suspected").tag("name", "rel").tag("kind", "command")
                    .counters().stream().mapToDouble(Counter::count).sum();
            assertThat(suspected).as("redis.pool.leaks.suspected").isEqualTo(1.0);
            new Figures("9 leak detection")
                    .put("thresholdMs", 300)
                    .put("heldMs", heldMillis)
                    .put("reportedReturnedAfterMs", returnedAfter)
                    .put("warnings", warnings.size())
                    .put("suspectedMeter", suspected)
                    .put("acquiringFrame", frames.stream().filter(f -> f.contains("holdLease")).findFirst().orElse("?"))
                    .report();
        }
    }

    private static List<ILoggingEvent> detectorEvents(LogCapture log, Level level) {
        return log.events(event -> event.getLoggerName().equals(DETECTOR) && event.getLevel() == level);
    }
}
