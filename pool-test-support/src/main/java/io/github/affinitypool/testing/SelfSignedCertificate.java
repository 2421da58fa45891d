package io.github.affinitypool.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A throw-away self-signed certificate for 127.0.0.1 and localhost, as the PEM files redis-server's TLS options read
 * (see {@link RedisServer.Builder#tls(SelfSignedCertificate)}); clients trust it through {@link #certificate()}.
 * Made with the JDK's own {@code keytool}, so the tests need no OpenSSL and no extra library.
 *
 * @param certificate the PEM certificate, also the one to trust
 * @param privateKey the PEM private key (PKCS #8)
 */
public record SelfSignedCertificate(Path certificate, Path privateKey) {

    private static final String ALIAS = "redis";
    private static final char[] PASSWORD = "changeit".toCharArray();
    private static final Duration KEYTOOL_TIMEOUT = Duration.ofSeconds(30);

    /**
     * @param dir where to write the files
     * @return a certificate valid for two days
     * @throws IOException when keytool fails or the files cannot be written
     * @throws GeneralSecurityException when the key cannot be read back
     * @throws InterruptedException when interrupted while keytool runs
     */
    public static SelfSignedCertificate create(Path dir)
            throws IOException, GeneralSecurityException, InterruptedException {
        Path keyStore = dir.resolve("server.p12");
        keytool("-genkeypair", "-alias", ALIAS, "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12",
                "-keystore", keyStore.toString(), "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD));
        Path certificate = dir.resolve("cert.pem");
        keytool("-exportcert", "-rfc", "-alias", ALIAS, "-keystore", keyStore.toString(), "-storepass",
                new String(PASSWORD), "-file", certificate.toString());
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            store.load(in, PASSWORD);
        }
        PrivateKey key = (PrivateKey) store.getKey(ALIAS, PASSWORD);
        Path privateKey = dir.resolve("key.pem");
        Files.writeString(privateKey, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        return new SelfSignedCertificate(certificate, privateKey);
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        HelperProcess.Result result;
        try {
            result = HelperProcess.run(command, KEYTOOL_TIMEOUT);
        } catch (IllegalStateException timedOut) {
            throw new IOException("keytool failed: " + timedOut.getMessage(), timedOut);
        }
        if (result.exitCode() != 0) {
            throw new IOException("keytool failed with exit code " + result.exitCode() + ": " + command + "\n"
                    + result.output());
        }
    }
}
