package io.github.affinitypool.autoconfigure;

import io.lettuce.core.SslOptions;

import org.springframework.boot.ssl.SslBundle;

/**
 * Lettuce's {@link SslOptions} from a Spring Boot {@link SslBundle}, as Spring Data Redis's auto-configuration reads
 * it.
 */
final class LettuceSslOptions {

    private LettuceSslOptions() {
    }

    /**
     * @param bundle the bundle
     * @return options with the bundle's key and trust managers, and its ciphers and protocols where it names them
     */
    static SslOptions of(SslBundle bundle) {
        SslOptions.Builder options = SslOptions.builder()
                .keyManager(bundle.getManagers().getKeyManagerFactory())
                .trustManager(bundle.getManagers().getTrustManagerFactory());
        org.springframework.boot.ssl.SslOptions bundleOptions = bundle.getOptions();
        if (bundleOptions.getCiphers() != null) {
            options.cipherSuites(bundleOptions.getCiphers());
        }
        if (bundleOptions.getEnabledProtocols() != null) {
            options.protocols(bundleOptions.getEnabledProtocols());
        }
        return options.build();
    }
}
