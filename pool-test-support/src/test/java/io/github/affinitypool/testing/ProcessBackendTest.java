package io.github.affinitypool.testing;

import static io.github.affinitypool.testing.RedisServerTest.process;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starts that meet a port somebody else holds: the harness must never take another server for its own. */
class ProcessBackendTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Duration SHORT = Duration.ofMillis(300);

    @TempDir
    Path temp;

    @Test
    void aDetachedServerRunsInASessionOfItsOwnSoThatATerminalsCtrlCDoesNotReachIt() throws Exception {
        Assumptions.assumeTrue(RedisBinary.onPath(System.getenv().getOrDefault("PATH", ""), "setsid").isPresent()
                && Files.isDirectory(Path.of("/proc")), "needs setsid and /proc");
        try (RedisServer redis = process().detached().start()) {
            long pid = redis.pid();
            assertThat(redis.command("INFO", "server")).contains("process_id:" + pid);
            assertThat(session(pid)).as("session of the server").isEqualTo(pid)
                    .isNotEqualTo(session(ProcessHandle.current().pid()));
            redis.stop();
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        }
    }

    /** @return the session id of a process, field 6 of {@code /proc/<pid>/stat} */
    private static long session(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] afterName = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(afterName[3]);
    }

    @Test
    void aRestartFailsNamingThePortWhenAnotherRedisWithAPasswordTookIt() throws Exception {
        try (RedisServer redis = process().start()) {
            int port = redis.port();
            redis.stop();
            try (ForeignRedis other = ForeignRedis.start(port, temp, "--requirepass", "x")) {
                // ours cannot bind; the other one answers PING and INFO with NOAUTH while ours is still exiting
                assertThatThrownBy(redis::restart).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("did not start on 127.0.0.1:" + port + ": ")
                        .hasMessageContaining("wants a password (NOAUTH), and ours has none")
                        .hasMessageContaining("it is not ours")
                        .hasMessageContaining("kept across restarts");
                assertThat(redis.isRunning()).isFalse();
                assertThat(RawRedisConnection.probe("127.0.0.1", port, SHORT)).startsWith("-NOAUTH");
                // the failed restart left the server it did not start alone
                assertThat(ProcessHandle.of(other.pid()).map(ProcessHandle::isAlive)).contains(true);
            }
            redis.start();
            assertThat(redis.port()).isEqualTo(port);
            assertThat(redis.command("PING")).isEqualTo("PONG");
        }
    }

    @Test
    void aFirstStartMovesToAnotherPortWhenAnotherRedisWithAPasswordAnswersOnThePickedOne() throws Exception {
        int taken = ProcessBackend.pickPort(); // reserved: no server of this JVM picks it meanwhile
        try (ForeignRedis other = ForeignRedis.start(taken, temp, "--requirepass", "x")) {
            ProcessBackend backend = new ProcessBackend(process().build().settings(), takenFirst(0, taken));
            try {
                backend.start(TIMEOUT);

                assertThat(backend.port()).isNotEqualTo(taken);
                assertThat(backend.isRunning()).isTrue();
                assertThat(backend.pid()).isNotEqualTo(other.pid());
                // ours has no password: it answers PONG where the other one wants AUTH
                assertThat(RawRedisConnection.probe("127.0.0.1", backend.port(), SHORT)).isEqualTo("+PONG");
            } finally {
                backend.close();
            }
        } finally {
            ServerRegistry.releasePort(taken);
        }
    }

    @Test
    void aFirstStartPicksAnotherTlsPortWhenItsTlsPortIsTaken() throws Exception {
        SelfSignedCertificate certificate = SelfSignedCertificate.create(temp);
        try (ServerSocket holder = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int taken = holder.getLocalPort();
            // the plain port is picked first, the TLS port second
            ProcessBackend backend = new ProcessBackend(process().tls(certificate).build().settings(),
                    takenFirst(1, taken));
            try {
                startOrAbortWithoutTls(backend);

                assertThat(backend.tlsPort()).isNotEqualTo(taken);
                assertThat(backend.isRunning()).isTrue();
                assertThat(backend.log()).contains("Address already in use");
            } finally {
                backend.close();
            }
        }
    }

    @Test
    void aDefaultUserWithoutInfoStillStartsAndRestarts() {
        // INFO is refused (NOPERM), so the harness cannot ask the pid; our log saying it is ready must do
        try (RedisServer redis = process().arg("--user", "default", "on", "nopass", "~*", "&*", "+@all", "-info")
                .start()) {
            long pid = redis.pid();
            assertThatThrownBy(() -> redis.command("INFO", "server"))
                    .isInstanceOfSatisfying(RedisErrorReplyException.class,
                            e -> assertThat(e.code()).isEqualTo("NOPERM"));

            redis.restart();

            assertThat(redis.pid()).isNotEqualTo(pid);
            assertThat(redis.isRunning()).isTrue();
            assertThat(redis.command("PING")).isEqualTo("PONG");
        }
    }

    /** Hands out {@code taken} on call number {@code index} (from 0), free reserved ports otherwise. */
    private static IntSupplier takenFirst(int index, int taken) {
        AtomicInteger calls = new AtomicInteger();
        return () -> calls.getAndIncrement() == index ? taken : ProcessBackend.pickPort();
    }

    private static void startOrAbortWithoutTls(ProcessBackend backend) {
        try {
            backend.start(TIMEOUT);
        } catch (IllegalStateException e) {
            TlsRedisServer.noTlsSupport(e.getMessage()).ifPresent(
                    line -> Assumptions.abort("this redis-server has no TLS support: " + line));
            throw e;
        }
    }
}
