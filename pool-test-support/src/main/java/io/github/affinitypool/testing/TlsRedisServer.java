package io.github.affinitypool.testing;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Assumptions;

/**
 * A redis-server that serves TLS with a fresh self-signed certificate, for tests of TLS clients: the server (its
 * {@link RedisServer#tlsUri()}) and the certificate the client must trust.
 *
 * @param server the started server
 * @param certificate its certificate, also the one to trust
 */
public record TlsRedisServer(RedisServer server, SelfSignedCertificate certificate) implements AutoCloseable {

    /**
     * Redis up to 7.0 built without TLS knows no tls-* directive: it stops at the first, the tls-port line of our
     * command line, and echoes it. A build with TLS has no reason to stop there: that port is free and valid.
     */
    private static final String TLS_PORT_LINE = ">>> 'tls-port ";
    /** Redis 7.2+ knows the directives but has no TLS connection type (not built in, or a module not loaded). */
    private static final String NO_TLS_LISTENER = "Failed finding connection listener of tls";

    /**
     * Starts one, or aborts the calling test (a JUnit assumption, reported as skipped with the reason) where
     * redis-server was built without TLS, or where this run uses the Testcontainers backend. Any other failure
     * (a timeout, a crash, a taken port, a broken binary) fails the test as it should.
     *
     * @param dir where to write the certificate files, for example a {@code @TempDir}
     * @return the started server with its certificate
     * @throws Exception when the certificate cannot be made, or the server does not start for another reason
     */
    public static TlsRedisServer startOrAbort(Path dir) throws Exception {
        return startOrAbort(dir, RedisServer.builder());
    }

    /** {@link #startOrAbort(Path)} with the other options of {@code builder}, e.g. its binary. */
    static TlsRedisServer startOrAbort(Path dir, RedisServer.Builder builder) throws Exception {
        SelfSignedCertificate certificate = SelfSignedCertificate.create(dir);
        RedisServer server = builder.tls(certificate).build();
        if (server.backend() == RedisServer.Backend.TESTCONTAINERS) {
            server.close();
            Assumptions.abort("Skipped: TLS needs the process backend; this run uses Testcontainers (-D"
                    + RedisServer.Backend.TESTCONTAINERS_PROPERTY + "=true)");
        }
        try {
            return new TlsRedisServer(server.start(), certificate);
        } catch (RuntimeException e) {
            // the caller never gets hold of it, so nothing else would delete its temp dir
            server.close();
            Optional<String> evidence = noTlsSupport(String.valueOf(e.getMessage()));
            if (e instanceof IllegalStateException && evidence.isPresent()) {
                Assumptions.abort("this redis-server has no TLS support (built without BUILD_TLS=yes): "
                        + evidence.get());
            }
            throw e;
        }
    }

    /**
     * @param failure the message of a failed start, which holds the server's log
     * @return the log line that shows the binary has no TLS, if there is one
     */
    static Optional<String> noTlsSupport(String failure) {
        List<String> lines = failure.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(TLS_PORT_LINE)) {
                // the line after the echoed one says why: "Bad directive or wrong number of arguments"
                return Optional.of(lines.get(i) + (i + 1 < lines.size() ? ": " + lines.get(i + 1) : ""));
            }
            if (lines.get(i).contains(NO_TLS_LISTENER)) {
                return Optional.of(lines.get(i).strip());
            }
        }
        return Optional.empty();
    }

    @Override
    public void close() {
        server.close();
    }
}
