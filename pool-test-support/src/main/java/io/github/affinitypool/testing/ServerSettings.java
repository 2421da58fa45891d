package io.github.affinitypool.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** What a {@link RedisServer.Builder} collected; immutable. */
record ServerSettings(String password, List<AclUser> aclUsers, int databases, List<String> args, Path binary,
                      Duration startupTimeout, RedisServer.Backend backend, String containerImage,
                      SelfSignedCertificate tls) {

    ServerSettings {
        aclUsers = List.copyOf(aclUsers);
        args = List.copyOf(args);
    }

    Optional<String> passwordIfSet() {
        return Optional.ofNullable(password);
    }

    /** Authenticates a fresh connection as the {@code default} user, if the server wants a password. */
    RawRedisConnection authenticate(RawRedisConnection connection) {
        try {
            if (password != null) {
                connection.auth(password);
            }
            return connection;
        } catch (RuntimeException e) {
            connection.close();
            throw e;
        }
    }
}
