package io.github.affinitypool.autoconfigure;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Every invalid property stops start-up, and the failure analysis names the property, its value and the fix.
 * Validation runs before any connection is opened, so no Redis is needed.
 */
class InvalidAffinityPoolPropertyFailureAnalyzerTests {

    private static final String USER_INFO_NEEDS_ENCODING =
            "the user info (up to the last '@') contains '/', '?', '#' or '@'";

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(AffinityPoolAutoConfiguration.class))
            .withPropertyValues("affinity-pool.redis.workers=2");

    static Stream<Arguments> invalidProperties() {
        String p = "affinity-pool.redis.";
        return Stream.of(
                arguments(p + "url=http://localhost:6379", p + "url", "'http://localhost:6379'", "not a Redis URL"),
                arguments(p + "url=redis://:hunter2@", p + "url", "'redis://:******@'", "not a Redis URL"),
                arguments(p + "workers=0", p + "workers", "'0'", "must be at least 1"),
                arguments(p + "name= ", p + "name", "''", "must not be blank"),
                arguments(p + "shared-connections-per-worker=0", p + "shared-connections-per-worker", "'0'",
                        "must be at least 1"),
                arguments(p + "command-timeout=0s", p + "command-timeout", "'PT0S'", "must be a positive duration"),
                arguments(p + "command-timeout=200000d", p + "command-timeout", "'PT4800000H'",
                        "must be at most 106751 days"),
                arguments(p + "url=default:hunter2@localhost:6379", p + "url", "'******@localhost:6379'",
                        "not a Redis URL"),
                arguments(p + "url=redis-socket:///tmp/redis.sock", p + "url", "'redis-socket:///tmp/redis.sock'",
                        "not a Redis URL"),
                // A '/', '?' or '#' in the password ended the user info there: what followed was read as the
                // database, the query or a fragment ("redis://hunter2#x@..." even started, with hunter2 as the host).
                arguments(p + "url=redis://:hunter2/x@localhost:6400", p + "url", "'redis://:******@localhost:6400'",
                        USER_INFO_NEEDS_ENCODING),
                arguments(p + "url=redis://hunter2#x@localhost:6400", p + "url", "'redis://******@localhost:6400'",
                        USER_INFO_NEEDS_ENCODING),
                arguments(p + "url=redis://app:hunter2?x@localhost:6400/1", p + "url",
                        "'redis://app:******@localhost:6400/1'", USER_INFO_NEEDS_ENCODING),
                arguments(p + "url=redis://:hunter2@x@localhost:6400", p + "url", "'redis://:******@localhost:6400'",
                        USER_INFO_NEEDS_ENCODING),
                // No scheme, but a "://" in the password: the mask started after it.
                arguments(p + "url=default:hunter2://x@localhost:6379", p + "url", "'******@localhost:6379'",
                        "not a Redis URL"),
                // A Compose service name: URI finds no host, and Lettuce would take "redis_cache:6380" as one.
                arguments(p + "url=redis://:hunter2@redis_cache:6380", p + "url", "'redis://:******@redis_cache:6380'",
                        "the host name contains '_', which java.net.URI (read by Lettuce) does not accept in a host "
                                + "name"),
                arguments(p + "connect-timeout=-1s", p + "connect-timeout", "'PT-1S'", "must be a positive duration"),
                arguments(p + "health-timeout=0s", p + "health-timeout", "'PT0S'", "must be a positive duration"),
                arguments(p + "pool.max-open=-1", p + "pool.max-open", "'-1'", "must be at least 1"),
                arguments(p + "pool.max-idle-per-worker=-2", p + "pool.max-idle-per-worker", "'-2'",
                        "must be at least 0"),
                arguments(p + "pool.min-idle-per-worker=3", p + "pool.min-idle-per-worker", "'3'",
                        "must not exceed pool.max-idle-per-worker (2)"),
                arguments(p + "pool.max-open=1", p + "pool.max-idle-per-worker", "'2'",
                        "must not exceed pool.max-open (1)"),
                arguments(p + "pool.max-lifetime=-1s", p + "pool.max-lifetime", "'PT-1S'",
                        "must not be negative"),
                arguments(p + "pool.max-idle-time=-1ms", p + "pool.max-idle-time", "'PT-0.001S'",
                        "must not be negative"),
                arguments(p + "pool.acquire-timeout=0s", p + "pool.acquire-timeout", "'PT0S'",
                        "must be a positive duration"),
                arguments(p + "pool.max-pending-acquires=-1", p + "pool.max-pending-acquires", "'-1'",
                        "must be at least 0"),
                arguments(p + "pool.validate-after-idle=-5s", p + "pool.validate-after-idle", "'PT-5S'",
                        "must not be negative"),
                arguments(p + "pool.eviction-interval=0s", p + "pool.eviction-interval", "'PT0S'",
                        "must be a positive duration"),
                arguments(p + "pool.max-concurrent-connects=0", p + "pool.max-concurrent-connects", "'0'",
                        "must be at least 1"),
                arguments(p + "pool.leak-detection-threshold=-1s", p + "pool.leak-detection-threshold", "'PT-1S'",
                        "must be a positive duration"),
                arguments(p + "pub-sub.max-open=0", p + "pub-sub.max-open", "'0'", "must be at least 1"),
                arguments(p + "pub-sub.buffer-size=0", p + "pub-sub.buffer-size", "'0'", "must be at least 1"),
                arguments(p + "ssl.bundle=redis", p + "ssl.bundle", "'redis'", "the application has no SSL bundles"),
                arguments(p + "mode=integrated", p + "mode", "'integrated'",
                        "the application runs no Reactor Netty web server whose event loops the pool could share"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidProperties")
    void invalidValueStopsStartUpNamingThePropertyAndTheFix(String setting, String property, String value,
            String reason) {
        runner.withPropertyValues(setting).run(context -> {
            assertThat(context).hasFailed();
            FailureAnalysis analysis = new InvalidAffinityPoolPropertyFailureAnalyzer()
                    .analyze(context.getStartupFailure());
            assertThat(analysis).isNotNull();
            assertThat(analysis.getDescription())
                    .isEqualTo("Invalid value " + value + " for property '" + property + "': " + reason + ".");
            assertThat(analysis.getAction()).contains(property);
            assertThat(analysis.getDescription() + analysis.getAction()).doesNotContain("hunter2");
        });
    }

    @org.junit.jupiter.api.Test
    void aPasswordWithAnUnencodedSlashStopsStartUpSayingHowToEncodeIt() {
        runner.withPropertyValues("affinity-pool.redis.url=redis://:s3cr/etPass@localhost:6400").run(context -> {
            FailureAnalysis analysis = new InvalidAffinityPoolPropertyFailureAnalyzer()
                    .analyze(context.getStartupFailure());
            assertThat(analysis.getDescription()).isEqualTo("Invalid value 'redis://:******@localhost:6400' for "
                    + "property 'affinity-pool.redis.url': the user info (up to the last '@') contains '/', '?', "
                    + "'#' or '@'.");
            assertThat(analysis.getAction()).isEqualTo("Percent-encode them in the user name and password of "
                    + "affinity-pool.redis.url ('/' as %2F, '?' as %3F, '#' as %23, '@' as %40), for example "
                    + "redis://:pa%2Fss@localhost:6379.");
            StringWriter trace = new StringWriter();
            context.getStartupFailure().printStackTrace(new PrintWriter(trace));
            assertThat(trace.toString()).contains("affinity-pool.redis.url").doesNotContain("s3cr")
                    .doesNotContain("etPass");
        });
    }

    @org.junit.jupiter.api.Test
    void minIdleTimesWorkersMustFitMaxOpen() {
        runner.withPropertyValues("affinity-pool.redis.pool.max-open=3",
                "affinity-pool.redis.pool.min-idle-per-worker=2")
                .run(context -> {
                    FailureAnalysis analysis = new InvalidAffinityPoolPropertyFailureAnalyzer()
                            .analyze(context.getStartupFailure());
                    assertThat(analysis.getDescription()).isEqualTo("Invalid value '2' for property "
                            + "'affinity-pool.redis.pool.min-idle-per-worker': × 2 workers exceeds pool.max-open (3).");
                    assertThat(analysis.getAction()).isEqualTo("Lower affinity-pool.redis.pool.min-idle-per-worker "
                            + "or raise affinity-pool.redis.pool.max-open.");
                });
    }
}
