package io.github.affinitypool.testing;

import java.nio.file.Path;

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
     * Starts one, or aborts the calling test (a JUnit assumption, reported as skipped with the reason) where
     * redis-server was built without TLS.
     *
     * @param dir where to write the certificate files, for example a {@code @TempDir}
     * @return the started server with its certificate
     * @throws Exception when the certificate cannot be made
     */
    public static TlsRedisServer startOrAbort(Path dir) throws Exception {
        SelfSignedCertificate certificate = SelfSignedCertificate.create(dir);
        try {
            return new TlsRedisServer(RedisServer.builder().tls(certificate).start(), certificate);
        }
        catch (IllegalStateException notBuiltWithTls) {
            Assumptions.abort("this redis-server has no TLS support (built without BUILD_TLS=yes): "
                    + notBuiltWithTls.getMessage().lines().findFirst().orElse(""));
            throw notBuiltWithTls;
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
