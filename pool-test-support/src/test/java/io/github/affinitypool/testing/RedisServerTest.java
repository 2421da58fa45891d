package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;
import org.junit.jupiter.api.io.TempDir;

/** The process backend against real redis-server processes. */
class RedisServerTest {

    private static final Duration SHORT = Duration.ofMillis(300);

    @Test
    void startsOnAFreeLoopbackPortAndAnswersPingOverARawSocketAndLettuce() {
        try (RedisServer redis = process().start()) {
            assertThat(redis.host()).isEqualTo("127.0.0.1");
            assertThat(redis.port()).isBetween(1024, 65535).isNotEqualTo(6379);
            assertThat(redis.uri()).isEqualTo("redis://127.0.0.1:" + redis.port());
            assertThat(redis.uri(2)).isEqualTo("redis://127.0.0.1:" + redis.port() + "/2");
            assertThat(redis.isRunning()).isTrue();
            assertThat(redis.isPaused()).isFalse();
            assertThat(redis.backend()).isEqualTo(RedisServer.Backend.PROCESS);

            assertThat(RawRedisConnection.probe("127.0.0.1", redis.port(), SHORT)).isEqualTo("+PONG");
            assertThat(redis.command("PING")).isEqualTo("PONG");
            assertThat(redis.info("server")).containsEntry("process_id", Long.toString(redis.pid()))
                    .containsEntry("tcp_port", Integer.toString(redis.port()))
                    .containsEntry("redis_version", redis.version());
            assertThat(redis.version()).matches("\\d+\\.\\d+\\.\\d+")
                    .isEqualTo(RedisBinary.version(RedisBinary.resolve()));

            withLettuce(redis.uri(), commands -> {
                assertThat(commands.ping()).isEqualTo("PONG");
                assertThat(commands.set("k", "v")).isEqualTo("OK");
            });
            assertThat(redis.command("GET", "k")).isEqualTo("v");
        }
    }

    @Test
    void startsWithoutPersistenceOnLoopbackWithItsOwnTempDirAndDeletesItOnClose() {
        RedisServer redis = process().databases(4).start();
        long pid = redis.pid();
        Path dir;
        try (RawRedisConnection connection = redis.connect()) {
            assertThat(connection.call("CONFIG", "GET", "save")).isEqualTo(List.of("save", ""));
            assertThat(connection.call("CONFIG", "GET", "appendonly")).isEqualTo(List.of("appendonly", "no"));
            assertThat(connection.call("CONFIG", "GET", "bind")).isEqualTo(List.of("bind", "127.0.0.1"));
            assertThat(connection.call("CONFIG", "GET", "port"))
                    .isEqualTo(List.of("port", Integer.toString(redis.port())));
            assertThat(connection.call("CONFIG", "GET", "databases")).isEqualTo(List.of("databases", "4"));
            dir = Paths.get(((List<?>) connection.call("CONFIG", "GET", "dir")).get(1).toString());
            assertThat(connection.command("SELECT", "3")).isEqualTo("OK");
            assertThatThrownBy(() -> connection.command("SELECT", "4"))
                    .isInstanceOfSatisfying(RedisErrorReplyException.class,
                            e -> assertThat(e.reply()).isEqualTo("ERR DB index is out of range"));
        }
        assertThat(dir.getFileName().toString()).startsWith("affinity-redis-");
        assertThat(dir.resolve("redis.log")).exists();
        assertThat(redis.log()).contains("Ready to accept connections");
        assertThatThrownBy(() -> redis.uri(4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0..3");

        redis.close();

        assertThat(isAlive(pid)).isFalse();
        assertThat(Files.exists(dir)).isFalse();
        assertThat(redis.isRunning()).isFalse();
        assertThatThrownBy(redis::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void passwordIsRequiredAndTheUriCarriesIt() {
        String password = "s3cret:p@ss/wörd";
        try (RedisServer redis = process().password(password).start()) {
            assertThat(redis.uri()).isEqualTo("redis://:s3cret%3Ap%40ss%2Fw%C3%B6rd@127.0.0.1:" + redis.port());
            assertThat(redis.password()).contains(password);
            assertThat(redis.toString()).contains("password set").doesNotContain(password);
            assertThat(RawRedisConnection.probe("127.0.0.1", redis.port(), SHORT)).startsWith("-NOAUTH");

            try (RawRedisConnection anonymous = redis.connectUnauthenticated(SHORT)) {
                assertThatThrownBy(() -> anonymous.command("GET", "k"))
                        .isInstanceOfSatisfying(RedisErrorReplyException.class,
                                e -> assertThat(e.code()).isEqualTo("NOAUTH"));
                assertThatThrownBy(() -> anonymous.auth("wrong"))
                        .isInstanceOfSatisfying(RedisErrorReplyException.class,
                                e -> assertThat(e.code()).isEqualTo("WRONGPASS"));
                assertThat(anonymous.auth(password).command("PING")).isEqualTo("PONG");
            }
            assertThat(redis.command("PING")).isEqualTo("PONG");

            withLettuce(redis.uri(), commands -> assertThat(commands.ping()).isEqualTo("PONG"));
            RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", redis.port()));
            try {
                assertThatThrownBy(() -> {
                    try (StatefulRedisConnection<String, String> connection = client.connect()) {
                        connection.sync().get("k");
                    }
                }).isInstanceOf(RedisException.class).hasStackTraceContaining("NOAUTH");
            } finally {
                client.shutdown();
            }
        }
    }

    @Test
    void aclUserMayRunWhatItsRulesAllowAndNothingElse() {
        try (RedisServer redis = process()
                .password("admin")
                .aclUser("app", "app-secret", "~app:*", "+@all", "-flushall")
                .aclUser("reader", "reader-secret", "~*", "+@read", "+ping")
                .start()) {
            assertThat(redis.uriForUser("app")).isEqualTo("redis://app:app-secret@127.0.0.1:" + redis.port());
            assertThat(redis.uriForUser("app", 1)).isEqualTo("redis://app:app-secret@127.0.0.1:" + redis.port() + "/1");
            assertThatThrownBy(() -> redis.uriForUser("nobody")).isInstanceOf(IllegalArgumentException.class);

            try (RawRedisConnection app = redis.connectAs("app", RedisServer.DEFAULT_TIMEOUT)) {
                assertThat(app.command("ACL", "WHOAMI")).isEqualTo("app");
                assertThat(app.command("SET", "app:1", "v")).isEqualTo("OK");
                assertThat(app.command("GET", "app:1")).isEqualTo("v");
                assertThatThrownBy(() -> app.command("SET", "other:1", "v"))
                        .isInstanceOfSatisfying(RedisErrorReplyException.class,
                                e -> assertThat(e.code()).isEqualTo("NOPERM"));
                assertThatThrownBy(() -> app.command("FLUSHALL"))
                        .isInstanceOfSatisfying(RedisErrorReplyException.class,
                                e -> assertThat(e.code()).isEqualTo("NOPERM"));
            }
            try (RawRedisConnection reader = redis.connectAs("reader", RedisServer.DEFAULT_TIMEOUT)) {
                assertThat(reader.command("GET", "app:1")).isEqualTo("v");
                assertThatThrownBy(() -> reader.command("SET", "app:1", "w"))
                        .isInstanceOfSatisfying(RedisErrorReplyException.class,
                                e -> assertThat(e.code()).isEqualTo("NOPERM"));
            }
            withLettuce(redis.uriForUser("app"), commands -> {
                assertThat(commands.set("app:2", "x")).isEqualTo("OK");
                assertThatThrownBy(commands::flushall).isInstanceOf(RedisCommandExecutionException.class)
                        .hasMessageStartingWith("NOPERM");
            });
            try (RawRedisConnection anonymous = redis.connectUnauthenticated(SHORT)) {
                assertThatThrownBy(() -> anonymous.auth("app", "wrong"))
                        .isInstanceOfSatisfying(RedisErrorReplyException.class,
                                e -> assertThat(e.code()).isEqualTo("WRONGPASS"));
            }
            // the default user keeps every right: FLUSHALL is refused to app only
            assertThat(redis.command("FLUSHALL")).isEqualTo("OK");
            assertThat(redis.command("DBSIZE")).isEqualTo("0");
        }
    }

    @Test
    void killRefusesConnectionsAndRestartComesBackEmptyOnTheSamePort() {
        try (RedisServer redis = process().start()) {
            int port = redis.port();
            long pid = redis.pid();
            assertThat(redis.command("SET", "k", "v")).isEqualTo("OK");

            redis.kill();

            assertThat(redis.isRunning()).isFalse();
            assertThat(isAlive(pid)).isFalse();
            assertThatThrownBy(() -> redis.command("PING")).isInstanceOf(UncheckedIOException.class)
                    .hasCauseInstanceOf(ConnectException.class);

            redis.restart();

            assertThat(redis.port()).isEqualTo(port);
            assertThat(redis.pid()).isNotEqualTo(pid);
            assertThat(redis.command("PING")).isEqualTo("PONG");
            assertThat(redis.command("GET", "k")).isNull();
            withLettuce(redis.uri(), commands -> assertThat(commands.ping()).isEqualTo("PONG"));
        }
    }

    @Test
    void restartOfARunningServerAndStopThenStartKeepThePort() {
        try (RedisServer redis = process().start()) {
            int port = redis.port();
            long firstPid = redis.pid();

            redis.restart();
            long secondPid = redis.pid();
            assertThat(isAlive(firstPid)).isFalse();
            assertThat(redis.port()).isEqualTo(port);

            redis.stop();
            assertThat(isAlive(secondPid)).isFalse();
            assertThat(redis.isRunning()).isFalse();
            assertThatThrownBy(redis::pid).isInstanceOf(IllegalStateException.class);
            assertThat(RawRedisConnection.probe("127.0.0.1", port, SHORT)).isNull();
            redis.stop(); // idempotent

            redis.start();
            assertThat(redis.port()).isEqualTo(port);
            assertThat(redis.command("PING")).isEqualTo("PONG");
        }
    }

    @Test
    void pauseMakesCommandsTimeOutAndResumeAnswersThem() {
        try (RedisServer redis = process().start()) {
            RedisURI uri = RedisURI.create(redis.uri());
            uri.setTimeout(SHORT);
            RedisClient client = RedisClient.create(uri);
            try (StatefulRedisConnection<String, String> lettuce = client.connect();
                 RawRedisConnection waiting = redis.connect()) {
                assertThat(lettuce.sync().ping()).isEqualTo("PONG");

                redis.pause();
                assertThat(redis.isPaused()).isTrue();
                assertThat(redis.isRunning()).isTrue();

                // the kernel still accepts the connection; nobody reads from it
                try (RawRedisConnection raw = redis.connectUnauthenticated(SHORT)) {
                    assertThatThrownBy(() -> raw.command("PING")).isInstanceOf(UncheckedIOException.class)
                            .hasCauseInstanceOf(SocketTimeoutException.class);
                    assertThat(raw.isOpen()).isFalse();
                }
                assertThatThrownBy(() -> lettuce.sync().ping()).isInstanceOf(RedisCommandTimeoutException.class);
                waiting.write("INCR", "counter");

                redis.resume();

                assertThat(redis.isPaused()).isFalse();
                // a command sent while paused is answered once the server runs again
                assertThat(waiting.read()).isEqualTo(1L);
                assertThat(lettuce.sync().ping()).isEqualTo("PONG");
                assertThat(redis.command("PING")).isEqualTo("PONG");
            } finally {
                client.shutdown();
            }
        }
    }

    @Test
    void stopAndCloseEndAPausedServer() {
        RedisServer redis = process().start();
        long pid = redis.pid();
        redis.pause();
        redis.stop();
        assertThat(isAlive(pid)).isFalse();
        redis.start();
        long second = redis.pid();
        redis.pause();
        redis.close();
        assertThat(isAlive(second)).isFalse();
    }

    @Test
    void twoServersRunSideBySideOnDifferentPorts() {
        try (RedisServer first = process().start();
             RedisServer second = process().password("other").start()) {
            assertThat(first.port()).isNotEqualTo(second.port());
            assertThat(first.pid()).isNotEqualTo(second.pid());
            assertThat(first.command("SET", "k", "first")).isEqualTo("OK");
            assertThat(second.command("GET", "k")).isNull();
            assertThat(second.command("SET", "k", "second")).isEqualTo("OK");
            assertThat(first.command("GET", "k")).isEqualTo("first");

            first.kill();
            assertThat(second.command("GET", "k")).isEqualTo("second");
        }
    }

    @Test
    void tlsIsServedOnASecondPortThatARestartKeeps(@TempDir Path dir) throws Exception {
        SelfSignedCertificate certificate = SelfSignedCertificate.create(dir);
        RedisServer redis;
        try {
            redis = process().tls(certificate).start();
        } catch (IllegalStateException e) {
            // skipped only where the binary has no TLS; any other failure fails the test
            TlsRedisServer.noTlsSupport(e.getMessage()).ifPresent(
                    line -> Assumptions.abort("this redis-server has no TLS support: " + line));
            throw e;
        }
        RedisClient client = RedisClient.create();
        client.setOptions(ClientOptions.builder()
                .sslOptions(SslOptions.builder().trustManager(certificate.certificate().toFile()).build()).build());
        try (redis) {
            int tlsPort = redis.tlsPort();
            assertThat(tlsPort).isNotEqualTo(redis.port());
            assertThat(redis.tlsUri()).isEqualTo("rediss://127.0.0.1:" + tlsPort);
            try (StatefulRedisConnection<String, String> tls = client.connect(RedisURI.create(redis.tlsUri()))) {
                assertThat(tls.sync().ping()).isEqualTo("PONG");
            }
            redis.restart();
            assertThat(redis.tlsPort()).isEqualTo(tlsPort);
            try (StatefulRedisConnection<String, String> tls = client.connect(RedisURI.create(redis.tlsUri()))) {
                assertThat(tls.sync().ping()).isEqualTo("PONG");
            }
        } finally {
            client.shutdown();
        }
    }

    @Test
    void aServerWithoutTlsHasNoTlsPort() {
        try (RedisServer redis = process().start()) {
            assertThatThrownBy(redis::tlsPort).isInstanceOf(IllegalStateException.class)
                    .hasMessage("this server was built without tls(...)");
        }
    }

    @Test
    void extraArgumentsReachTheServerAndManagedOnesAreRefused() {
        try (RedisServer redis = process().arg("--maxclients", "42").start()) {
            assertThat(redis.command("CONFIG", "GET", "maxclients")).isEqualTo("maxclients\n42");
        }
        assertThatThrownBy(() -> process().arg("--port", "6379"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--port");
        assertThatThrownBy(() -> process().arg("--BIND", "0.0.0.0"))
                .isInstanceOf(IllegalArgumentException.class);
        // The readiness check would authenticate with another password, and take the server for someone else's.
        assertThatThrownBy(() -> process().password("a").arg("--requirepass", "b"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("--requirepass is managed by RedisServer and "
                        + "cannot be overridden; set the password with password(...)");
        assertThatThrownBy(() -> process().databases(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aFailedStartReportsTheServerLogAndLeavesNothingBehind() {
        RedisServer redis = process().arg("--no-such-directive", "x").build();
        try {
            assertThatThrownBy(redis::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("did not start on 127.0.0.1:")
                    .hasMessageContaining("redis-server exited with code 1")
                    .hasMessageContaining("--- redis-server log")
                    .hasMessageContaining("no-such-directive")
                    .hasMessageContaining("Bad directive or wrong number of arguments");
            assertThat(redis.isRunning()).isFalse();
        } finally {
            redis.close();
        }
    }

    @Test
    void aFailedStartMasksEveryConfiguredPasswordInItsMessageAndInTheLog() {
        // the bad rule makes Redis echo the user's config line, with its >password, quoted and unquoted
        String password = "TOP\"SECRET-1";
        RedisServer redis = process().password("DEFAULT-SECRET-0")
                .aclUser("app", password, "~*", ">RULE-SECRET-3", "no-such-rule").build();
        try {
            assertThatThrownBy(redis::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("--- redis-server log")
                    .hasMessageContaining(">>> 'user ")
                    .hasMessageContaining(ServerSettings.MASK)
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("SECRET"));
            assertThat(redis.log()).contains(">>> 'user ").doesNotContain("SECRET");
        } finally {
            redis.close();
        }
    }

    @Test
    void aRejectedAclPasswordIsNotRepeatedInTheMessage() {
        assertThatThrownBy(() -> new AclUser("app", "TOP SECRET2", List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the password of ACL user 'app' must be non-empty and without whitespace");
        assertThatThrownBy(() -> process().aclUser("app", "pw", "~*", ">RULE SECRET"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ACL rule must be non-empty and without whitespace");
        assertThatThrownBy(() -> process().aclUser("app", "pw", "~* +@all"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ACL rule must be non-empty and without whitespace: '~* +@all'");
    }

    @Test
    void aServerThatWasNeverStartedHasNoPortButKnowsItsVersion() {
        try (RedisServer redis = process().build()) {
            assertThat(redis.isRunning()).isFalse();
            assertThatThrownBy(redis::port).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("start it first");
            assertThatThrownBy(redis::uri).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(redis::pause).isInstanceOf(IllegalStateException.class);
            assertThat(redis.version()).isEqualTo(RedisBinary.version(RedisBinary.resolve()));
            assertThat(redis.toString()).isEqualTo("RedisServer[not started, stopped]");
        }
    }

    @Test
    void versionsCompareByTheirNumbersAsFarAsTheMinimumNamesThem() {
        assertThat(RedisServer.versionAtLeast("7.0.15", "7.0")).isTrue();
        assertThat(RedisServer.versionAtLeast("7.0.0", "7.0")).isTrue();
        assertThat(RedisServer.versionAtLeast("6.2.11", "7.0")).isFalse();
        assertThat(RedisServer.versionAtLeast("7.2.4", "7.10")).isFalse();
        assertThat(RedisServer.versionAtLeast("10.0.1", "7.2")).isTrue();
        assertThat(RedisServer.versionAtLeast("7.0", "7.0.1")).isFalse();
    }

    @Test
    void aTestNeedingANewerRedisIsSkippedNamingWhatItNeedsAndTheVersion() {
        try (RedisServer redis = process().build()) {
            String version = redis.version();
            redis.assumeVersionAtLeast(version, "this very version");
            assertThatThrownBy(() -> redis.assumeVersionAtLeast("999.0", "SOMECOMMAND"))
                    .isInstanceOf(TestAbortedException.class)
                    .hasMessage("Skipped: SOMECOMMAND needs Redis 999.0 or later; RedisServer[not started, stopped] "
                            + "is Redis " + version);
        }
    }

    /** These tests are about the process backend, whatever -Dredis.testcontainers says. */
    static RedisServer.Builder process() {
        return RedisServer.builder().backend(RedisServer.Backend.PROCESS);
    }

    static boolean isAlive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    static void withLettuce(String uri, java.util.function.Consumer<RedisCommands<String, String>> body) {
        RedisClient client = RedisClient.create(uri);
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            body.accept(connection.sync());
        } finally {
            client.shutdown();
        }
    }
}
