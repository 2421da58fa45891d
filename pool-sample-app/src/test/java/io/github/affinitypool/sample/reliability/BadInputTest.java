package io.github.affinitypool.sample.reliability;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import ch.qos.logback.classic.spi.ILoggingEvent;
import io.github.affinitypool.sample.reliability.HttpLoad.Outcome;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisServerInstance;
import io.github.affinitypool.testing.RedisTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Mono;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Scenario 8: bad input. Each case gives one clear message naming the cause, never hangs and never shows the password.
 * <ul>
 *     <li>Start-up: an invalid setting stops {@link org.springframework.boot.SpringApplication#run} with one failure
 *     report (Spring Boot's failure analysis, through the starter's registered analyzer or the binder's) naming the
 *     property and the fix. Every invalid pool property is covered one by one by the starter's
 *     {@code InvalidAffinityPoolPropertyFailureAnalyzerTests}; here a sample of them goes through the real
 *     start-up path.</li>
 *     <li>Run time (the pool connects lazily, so the app starts): unknown host, closed port, wrong password, an ACL
 *     user lacking a permission (for a command, and for the handshake's SELECT), a database index out of range. Each
 *     request on both paths fails in bounded time with a 503 whose message names the pool, the server and Redis's
 *     (or the network's) reason; logs, health and the {@code redispool} endpoint never show the password.</li>
 * </ul>
 */
@RedisTest(password = BadInputTest.PASSWORD, databases = 16, aclUsers = {
        "limited limited-Pw0rd ~* +@all -incr",
        "noselect noselect-Pw0rd ~* +@all -select" })
class BadInputTest {

    static final String PASSWORD = "s3cret-Pw0rd";

    private static final String REPORTER = "org.springframework.boot.diagnostics.LoggingFailureAnalysisReporter";

    /** command-timeout + acquire-timeout + 1 s. */
    private static final long BOUND_MILLIS = 2000 + 2000 + 1000;

    @RedisServerInstance
    RedisServer redis;

    static Stream<Arguments> invalidSettings() {
        String p = "affinity-pool.redis.";
        return Stream.of(
                arguments(p + "url=redis://:" + PASSWORD + "@localhost:notaport",
                        "Invalid value 'redis://:******@localhost:notaport' for property 'affinity-pool.redis.url': "
                                + "not a Redis URL"),
                // A password with an unencoded '/' (as openssl rand -base64 makes them): what follows it would be
                // read as the port and shown in the errors.
                arguments(p + "url=redis://:x/" + PASSWORD + "@localhost:6379",
                        "Invalid value 'redis://:******@localhost:6379' for property 'affinity-pool.redis.url': "
                                + "the user info (up to the last '@') contains '/', '?', '#' or '@'"),
                arguments(p + "url=localhost:6379",
                        "Invalid value 'localhost:6379' for property 'affinity-pool.redis.url': not a Redis URL"),
                arguments(p + "pool.acquire-timeout=-1s", "Invalid value 'PT-1S' for property "
                        + "'affinity-pool.redis.pool.acquire-timeout': must be a positive duration"),
                arguments(p + "pool.max-idle-time=-5m", "Invalid value 'PT-5M' for property "
                        + "'affinity-pool.redis.pool.max-idle-time': must not be negative"),
                arguments(p + "pool.max-open=-1",
                        "Invalid value '-1' for property 'affinity-pool.redis.pool.max-open': must be at least 1"),
                arguments(p + "mode=sideways", "Failed to bind properties under 'affinity-pool.redis.mode'"),
                arguments(p + "command-timeout=soon",
                        "Failed to bind properties under 'affinity-pool.redis.command-timeout'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidSettings")
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void anInvalidSettingStopsStartUpWithOneReportNamingIt(String setting, String description) {
        try (LogCapture log = new LogCapture()) {
            ReliabilityApp.Launch launch = ReliabilityApp.launch(redis.uri(), setting);
            launch.builder().listeners(log.reattachAfterLoggingInitialization());
            Throwable failure = launch.failure();

            List<ILoggingEvent> reports = log.events(event -> event.getLoggerName().equals(REPORTER));
            assertThat(reports).as("failure reports").hasSize(1);
            String report = reports.get(0).getFormattedMessage();
            assertThat(report).contains("APPLICATION FAILED TO START").contains("Description:").contains(description)
                    .contains("Action:");
            assertThat(report.substring(report.indexOf("Action:") + 7).trim()).as("the fix").isNotEmpty();
            assertNoSecret(log.allText() + chain(failure), PASSWORD);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void unknownHost() {
        assertClearFailures("redis://:" + PASSWORD + "@no-such-host.invalid:6379", "redis://no-such-host.invalid:6379",
                "NXDOMAIN");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void portClosed() throws IOException {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        assertClearFailures("redis://:" + PASSWORD + "@127.0.0.1:" + port, "redis://127.0.0.1:" + port,
                "Connection refused");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void wrongPassword() {
        String wrong = "not-the-Pw0rd";
        assertClearFailures("redis://:" + wrong + "@127.0.0.1:" + redis.port(), "redis://127.0.0.1:" + redis.port(),
                "WRONGPASS invalid username-password pair or user is disabled.", wrong);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aclUserLackingAPermissionForTheHandshake() {
        // SELECT is part of the handshake when the URL names a database.
        assertClearFailures("redis://noselect:noselect-Pw0rd@127.0.0.1:" + redis.port() + "/1",
                "redis://noselect@127.0.0.1:" + redis.port() + "/1",
                "NOPERM this user has no permissions to run the 'select' command", "noselect-Pw0rd");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aclUserLackingAPermissionForACommand() {
        try (LogCapture log = new LogCapture();
                ReliabilityApp app = ReliabilityApp.start(redis.uriForUser("limited"), timeouts())) {
            for (String path : List.of("/reliability/shared/k", "/reliability/lease/k")) {
                Outcome outcome = timedGet(app, path);
                assertThat(outcome.status()).as("%s", outcome).isEqualTo(503);
                // Redis 6.2 adds " or its subcommand".
                assertThat(outcome.body()).as("%s", outcome)
                        .startsWith("io.lettuce.core.RedisCommandExecutionException: "
                                + "NOPERM this user has no permissions to run the 'incr' command");
                assertThat(outcome.millis()).isLessThanOrEqualTo(BOUND_MILLIS);
            }
            // The user may run GET: the same connections serve it.
            redis.command("SET", "k2", "v");
            assertThat(app.get("/kv/k2").block(Duration.ofSeconds(10)).body()).isEqualTo("v");
            assertNoSecret(log.allText() + actuator(app), "limited-Pw0rd");
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void databaseIndexOutOfRange() {
        assertClearFailures("redis://:" + PASSWORD + "@127.0.0.1:" + redis.port() + "/99",
                "redis://127.0.0.1:" + redis.port() + "/99", "ERR DB index is out of range");
    }

    /**
     * Starts the app on {@code url} and checks that a request on each path fails in bounded time with a 503 naming the
     * pool, containing every expected fragment, and that nothing shows the password.
     */
    private void assertClearFailures(String url, String... expected) {
        assertClearFailures(url, expected, PASSWORD);
    }

    private void assertClearFailures(String url, String where, String reason) {
        assertClearFailures(url, new String[] { where, reason }, PASSWORD);
    }

    private void assertClearFailures(String url, String where, String reason, String secret) {
        assertClearFailures(url, new String[] { where, reason }, secret);
    }

    private void assertClearFailures(String url, String[] expected, String secret) {
        try (LogCapture log = new LogCapture(); ReliabilityApp app = ReliabilityApp.start(url, timeouts())) {
            for (String path : List.of("/reliability/shared/k", "/reliability/lease/k", "/reliability/shared/k")) {
                Outcome outcome = timedGet(app, path);
                assertThat(outcome.status()).as("%s", outcome).isEqualTo(503);
                assertThat(outcome.body()).as("%s", outcome)
                        .startsWith("io.github.affinitypool.redis.RedisPoolConnectionException: "
                                + "Redis pool 'rel' (worker ")
                        .contains(expected);
                assertThat(outcome.millis()).as("%s", outcome).isLessThanOrEqualTo(BOUND_MILLIS);
                assertNoSecret(outcome.body(), secret);
                new Figures("8 bad input").put("url", url.replace(secret, "******")).put("path", path)
                        .put("ms", outcome.millis()).put("message", outcome.body()).report();
            }
            assertNoSecret(log.allText() + actuator(app), secret);
        }
    }

    private static String[] timeouts() {
        return new String[] { "affinity-pool.redis.command-timeout=2s", "affinity-pool.redis.pool.acquire-timeout=2s" };
    }

    private static Outcome timedGet(ReliabilityApp app, String path) {
        long start = System.nanoTime();
        ReliabilityApp.Reply reply = app.get(path).block(Duration.ofSeconds(30));
        return new Outcome(path, start, System.nanoTime(), reply.status(), reply.body(), null);
    }

    /** @return the health, redispool and metrics output, where the password must not appear either */
    private static String actuator(ReliabilityApp app) {
        return Mono.zip(app.get("/actuator/health"), app.get("/actuator/redispool"),
                        app.get("/actuator/prometheus"))
                .map(replies -> replies.getT1().body() + replies.getT2().body() + replies.getT3().body())
                .block(Duration.ofSeconds(20));
    }

    private static String chain(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            text.append(cause).append('\n');
        }
        return text.toString();
    }

    private static void assertNoSecret(String text, String secret) {
        assertThat(text).as("output that must not show the password").doesNotContain(secret);
    }
}
