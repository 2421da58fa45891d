package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.github.affinitypool.sample.reliability.HttpLoad.Outcome;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.test.StepVerifier;

import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 6: the application context is closed while 64 clients are sending. No exception is logged (no WARN or
 * ERROR with a stack trace), no request hangs (each one ends, with a response or, once the server has stopped, a
 * connection error), every response is a 200 (none fails on a closed pool), and Redis sees every connection of the app
 * closed within 5 s.
 */
@RedisTest
class ShutdownUnderLoadTest {

    private static final int CLIENTS = 64;

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void closingUnderLoadLogsNoExceptionLeavesNoRequestHangingAndClosesEveryConnection(RedisServer redis)
            throws Exception {
        ReliabilityApp app = ReliabilityApp.start(redis, "affinity-pool.redis.pool.max-open=8");
        for (int i = 3; i < CLIENTS; i += 4) {
            redis.command("SET", "s" + i, "v" + i); // read by the sample's GET /kv/{key}
        }
        List<Outcome> outcomes;
        long closeStart;
        long closeMillis;
        long allClosedMillis;
        List<ILoggingEvent> warnings;
        try (LogCapture log = new LogCapture()) {
            HttpLoad load = new HttpLoad(app, CLIENTS, i -> switch (i % 4) {
                case 0 -> "/reliability/shared/s" + i;
                case 1 -> "/reliability/lease/s" + i;
                case 2 -> "/reliability/tx/s" + i;
                default -> "/kv/s" + i;
            }, Duration.ofSeconds(10));
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> load.count(Outcome::ok) >= 1000);
                assertThat(redis.clientNames(ReliabilityApp.CLIENT_PREFIX)).isNotEmpty();

                // Closed on another thread, so that Redis's view can be watched while the context closes.
                Thread closer = new Thread(app.context::close, "context-close");
                closeStart = System.nanoTime();
                closer.start();
                await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                        .untilAsserted(() -> assertThat(redis.clientNames(ReliabilityApp.CLIENT_PREFIX))
                                .as("app connections Redis still sees").isEmpty());
                allClosedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart);
                closer.join(30_000);
                assertThat(closer.isAlive()).as("context still closing after 30 s").isFalse();
                closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart);
            }
            finally {
                assertThat(load.stop(Duration.ofSeconds(15))).as("every client's last request ended").isTrue();
                app.close();
            }
            outcomes = load.outcomes();
            // The application's events: the test's own HTTP client (its loops, "reliability-client-*") logs a warning
            // for each kept-alive connection the stopping server closed under it, which is the client's business.
            warnings = log.events(event -> event.getLevel().isGreaterOrEqual(Level.WARN)
                    && event.getThrowableProxy() != null && !event.getThreadName().startsWith("reliability-client"));
        }

        assertThat(warnings).as("WARN/ERROR events with a stack trace").extracting(LogCapture::describe).isEmpty();
        // No request hung: each ended with a response or a connection error, well within the client's 10 s.
        List<Outcome> hung = outcomes.stream()
                .filter(o -> o.error() instanceof TimeoutException).toList();
        assertThat(hung).as("requests without an answer within 10 s").isEmpty();
        // Every response was a 200: requests in flight when the close began were served (the pool closes only after
        // the server has stopped), later ones found the server gone (connection refused or closed).
        List<Outcome> failedResponses = outcomes.stream().filter(o -> o.error() == null && o.status() != 200).toList();
        assertThat(failedResponses).as("responses other than 200").isEmpty();
        long slowest = outcomes.stream().mapToLong(Outcome::millis).max().orElse(0);
        Map<String, Long> afterClose = outcomes.stream().filter(o -> o.startNanos() >= closeStart)
                .collect(Collectors.groupingBy(o -> o.error() == null ? "status " + o.status()
                        : o.error().getClass().getSimpleName(), TreeMap::new, Collectors.counting()));
        new Figures("6 shutdown under load")
                .put("requests", outcomes.size())
                .put("servedDuringClose", outcomes.stream().filter(o -> o.ok() && o.endNanos() >= closeStart).count())
                .put("contextCloseMs", closeMillis)
                .put("allRedisConnectionsClosedMs", allClosedMillis)
                .put("slowestRequestMs", slowest)
                .put("requestsStartedAfterClose", afterClose)
                .report();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void openEventStreamsEndCleanlyWhenTheShutdownBeginsInsteadOfHoldingItUp(RedisServer redis) throws Exception {
        // A short graceful-shutdown timeout: a stream still open when it runs out would be cut off, not completed.
        ReliabilityApp app = ReliabilityApp.start(redis, "spring.lifecycle.timeout-per-shutdown-phase=3s");
        WebClient web = WebClient.builder().clientConnector(new ReactorClientHttpConnector(app.http))
                .baseUrl("http://127.0.0.1:" + app.port).build();
        List<ILoggingEvent> logged;
        List<StepVerifier> streams = new ArrayList<>();
        try (LogCapture log = new LogCapture()) {
            try {
                for (int i = 0; i < 4; i++) {
                    // Each waits for its opening comment (Redis confirmed the subscription), then for a clean end.
                    streams.add(StepVerifier.create(web.get().uri("/events/feed").accept(MediaType.TEXT_EVENT_STREAM)
                            .retrieve().bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() {
                            }).map(event -> String.valueOf(event.comment())))
                            .expectNext("subscribed")
                            .expectComplete()
                            .verifyLater());
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> app.pool.pubSubStats().subscribers() == 4);
                app.context.close();
                for (StepVerifier stream : streams) {
                    stream.verify(Duration.ofSeconds(10));
                }
            }
            finally {
                app.close();
            }
            logged = log.events(event -> event.getLevel().isGreaterOrEqual(Level.WARN)
                    || event.getFormattedMessage().contains("Graceful shutdown aborted"));
        }
        assertThat(logged).as("warnings, errors and an aborted graceful shutdown").extracting(LogCapture::describe)
                .isEmpty();
    }
}
