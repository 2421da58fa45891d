package io.github.affinitypool.testing;

import static io.github.affinitypool.testing.RedisServerTest.process;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/** {@link TlsRedisServer#startOrAbort}: skips where the binary has no TLS, and nowhere else. */
class TlsRedisServerTest {

    @TempDir
    Path temp;

    @Test
    void aBrokenBinaryFailsTheTestInsteadOfSkippingIt() {
        // what REDIS_SERVER_BIN=/usr/bin/false amounts to
        assertThatThrownBy(() -> TlsRedisServer.startOrAbort(temp, process().binary(Paths.get("/usr/bin/false"))))
                .isExactlyInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot read the version from /usr/bin/false --version");
    }

    @Test
    void aServerThatFailsForAnotherReasonFailsTheTestInsteadOfSkippingIt() {
        assertThatThrownBy(() -> TlsRedisServer.startOrAbort(temp, process().arg("--no-such-directive", "x")))
                .isExactlyInstanceOf(IllegalStateException.class)
                .hasMessageContaining("did not start on 127.0.0.1:")
                .hasMessageContaining("no-such-directive");
    }

    @Test
    void aServerThatRejectsTheTlsPortDirectiveIsTakenForOneWithoutTls() {
        // a binary built without TLS stops at the tls-port line as an unknown directive; this one has TLS, so
        // two values make it stop at that line too
        assertThatThrownBy(() -> TlsRedisServer.startOrAbort(temp, process().arg("--tls-port", "1", "2")))
                .isInstanceOf(TestAbortedException.class)
                .hasMessageStartingWith("this redis-server has no TLS support")
                .hasMessageContaining(">>> 'tls-port ");
    }

    @Test
    void recognisesTheLogOfEachKindOfBinaryWithoutTls() {
        String redis70 = """
                *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
                Reading the configuration file, at line 14
                >>> 'tls-port "35181"'
                Bad directive or wrong number of arguments""";
        assertThat(TlsRedisServer.noTlsSupport(redis70))
                .contains(">>> 'tls-port \"35181\"': Bad directive or wrong number of arguments");
        String redis72 = """
                123:M 01 Jan 2025 00:00:00.000 # === REDIS BUG REPORT START: Cut & paste starting from here ===
                123:M 01 Jan 2025 00:00:00.000 # !!! Software Failure. Press left mouse button to continue
                123:M 01 Jan 2025 00:00:00.000 # Guru Meditation: Failed finding connection listener of tls #server.c:1
                """;
        assertThat(TlsRedisServer.noTlsSupport(redis72)).hasValueSatisfying(
                line -> assertThat(line).contains("Failed finding connection listener of tls"));
        assertThat(TlsRedisServer.noTlsSupport(">>> 'tls-port \"35181\"'")).contains(">>> 'tls-port \"35181\"'");
        String otherDirective = """
                >>> 'no-such-directive "x"'
                Bad directive or wrong number of arguments""";
        assertThat(TlsRedisServer.noTlsSupport(otherDirective)).isEmpty();
        assertThat(TlsRedisServer.noTlsSupport("no PONG from 127.0.0.1:1234 before the deadline")).isEmpty();
    }

    @Test
    void startsAServerThatServesTls() throws Exception {
        try (TlsRedisServer tls = TlsRedisServer.startOrAbort(temp)) {
            assertThat(tls.server().tlsUri()).isEqualTo("rediss://127.0.0.1:" + tls.server().tlsPort());
            assertThat(tls.certificate().certificate()).exists();
        }
    }
}
