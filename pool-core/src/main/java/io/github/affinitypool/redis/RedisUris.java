package io.github.affinitypool.redis;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCredentials;
import io.lettuce.core.RedisCredentialsProvider;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StaticCredentialsProvider;

/** Redis URI handling: per-connection copies, descriptions without credentials, readable connect errors. */
final class RedisUris {

    /** {@code scheme://userinfo@}: the user info is replaced when a raw URI string has to appear in a message. */
    private static final Pattern USER_INFO = Pattern.compile("(?<=://)[^/@?#]*@");

    /**
     * The messages of the plain {@link RedisException}s with which Lettuce's {@code DefaultEndpoint} fails the commands
     * of a connection whose socket went away: in flight when it closed ("Connection disconnected", "Connection
     * closed"), or written after it closed ("Currently not connected. Commands are rejected.", "Connection is closed",
     * with auto-reconnect off as the pool has it).
     */
    private static final Set<String> LETTUCE_CONNECTION_LOST = Set.of("Connection disconnected", "Connection closed",
            "Connection is closed", "Currently not connected. Commands are rejected.");

    /** Lettuce's messages for a command it refused to write, the connection being closed already. */
    private static final Set<String> LETTUCE_NOT_SENT = Set.of("Connection is closed",
            "Currently not connected. Commands are rejected.");

    private RedisUris() {
    }

    /**
     * @param uri a Redis URI string, for example {@code redis://user:secret@host:6379/2}
     * @return the parsed URI
     * @throws IllegalArgumentException for a malformed URI, with the credentials masked in the message
     */
    static RedisURI parse(String uri) {
        RedisURI parsed;
        try {
            parsed = RedisURI.create(uri);
        }
        catch (RuntimeException ex) {
            throw new IllegalArgumentException("Malformed Redis URI '" + mask(uri) + "': " + mask(String.valueOf(ex.getMessage())));
        }
        return withImmediateCredentials(parsed);
    }

    /**
     * Makes the credentials of a URI immediate when they are Lettuce's own constant ones, set from a URI string's user
     * info or with {@code RedisURI.Builder.withAuthentication(...)} (as Spring Boot's connection details do). Lettuce
     * keeps those in a deferred provider (a lambda of {@code RedisURI.Builder}), which it resolves with
     * {@code thenComposeAsync} on the common pool during every handshake, and which hides the user name from
     * {@link #describe}. Any other provider (a user's, possibly rotating credentials) is left alone.
     * <p>
     * Applied to every URI a pool is built from, also a {@code RedisURI} given to the builder: the reliability suite
     * found that through the Spring Boot starter (which passes a {@code RedisURI}) an ACL user's failed connect was
     * reported as {@code redis://127.0.0.1:6400/1}, without the user name the message is meant to show.
     *
     * @param uri the URI, changed in place
     * @return {@code uri}
     */
    static RedisURI withImmediateCredentials(RedisURI uri) {
        RedisCredentialsProvider provider = uri.getCredentialsProvider();
        if (provider == null || provider instanceof RedisCredentialsProvider.ImmediateRedisCredentialsProvider
                || !isLettuceConstantProvider(provider)) {
            return uri;
        }
        AtomicReference<RedisCredentials> credentials = new AtomicReference<>();
        provider.resolveCredentials().subscribe(credentials::set);
        if (credentials.get() != null) {
            uri.setCredentialsProvider(new StaticCredentialsProvider(credentials.get()));
        }
        return uri;
    }

    /** @return whether the provider is a lambda of {@code RedisURI} or its builder: constant credentials */
    private static boolean isLettuceConstantProvider(RedisCredentialsProvider provider) {
        String type = provider.getClass().getName();
        return type.startsWith(RedisURI.class.getName() + "$") && type.contains("$$Lambda");
    }

    /** @return the text with the user info of any {@code scheme://user:password@} replaced by {@code ****@} */
    static String mask(String text) {
        return USER_INFO.matcher(text).replaceAll("****@");
    }

    /**
     * @param base the pool's URI
     * @param clientName the client name to set with the handshake
     * @param timeout handshake timeout
     * @return a copy of the URI for one kind of connection
     */
    static RedisURI copy(RedisURI base, String clientName, Duration timeout) {
        return RedisURI.builder(base).withClientName(clientName).withTimeout(timeout).build();
    }

    /** @return scheme, host, port and database, with the user name but never the password */
    static String describe(RedisURI uri) {
        StringBuilder text = new StringBuilder(uri.isSsl() ? "rediss://" : "redis://");
        String user = username(uri);
        if (user != null && !user.isEmpty()) {
            text.append(user).append('@');
        }
        text.append(uri.getHost()).append(':').append(uri.getPort());
        if (uri.getDatabase() != 0) {
            text.append('/').append(uri.getDatabase());
        }
        return text.toString();
    }

    /** @return the ACL user name of a URI with immediately available credentials, else {@code null} */
    static String username(RedisURI uri) {
        RedisCredentialsProvider provider = uri.getCredentialsProvider();
        if (provider instanceof RedisCredentialsProvider.ImmediateRedisCredentialsProvider) {
            RedisCredentials credentials = ((RedisCredentialsProvider.ImmediateRedisCredentialsProvider) provider)
                    .resolveCredentialsNow();
            return credentials == null ? null : credentials.getUsername();
        }
        return null;
    }

    /**
     * @param poolName the pool's name, safe for a Redis client name
     * @return a client name without whitespace
     */
    static String clientNameOf(String poolName) {
        // Redis refuses CLIENT SETNAME for anything but printable ASCII without spaces, and every handshake would fail.
        return "affinity-pool." + poolName.trim().toLowerCase(Locale.ROOT).replaceAll("\\s+", "_")
                .replaceAll("[^!-~]", "_");
    }

    /**
     * @param error a connect failure, possibly wrapped
     * @return the most telling message in its cause chain: Redis's own error reply (WRONGPASS, NOAUTH, ...) when
     *         there is one, else the innermost message (for example {@code Connection refused})
     */
    static String reason(Throwable error) {
        Throwable current = unwrap(error);
        String innermost = null;
        int depth = 0;
        while (current != null && depth++ < 16) {
            if (current instanceof RedisCommandExecutionException && current.getMessage() != null) {
                return current.getMessage();
            }
            if (current.getMessage() != null) {
                innermost = current.getMessage();
            }
            else if (current instanceof ClosedChannelException) {
                innermost = "the channel is closed";
            }
            else if (innermost == null) {
                innermost = current.getClass().getSimpleName();
            }
            current = current.getCause();
        }
        return innermost == null ? error.getClass().getSimpleName() : innermost;
    }

    /**
     * @param poolName the pool's name
     * @param worker the connection's worker
     * @param uri the connection's URI
     * @param cause the I/O error Lettuce failed a command with (connection reset, channel closed, ...)
     * @return a clear error naming the pool, the worker and the server, with the I/O error as cause
     */
    static RedisPoolConnectionException connectionLost(String poolName, int worker, RedisURI uri, Throwable cause) {
        return connectionLost(poolName, worker, uri, reason(cause), cause);
    }

    /**
     * @param reason why the connection was lost, when the pool knows better than the I/O error (it closed it itself)
     * @see #connectionLost(String, int, RedisURI, Throwable)
     */
    static RedisPoolConnectionException connectionLost(String poolName, int worker, RedisURI uri, String reason,
            Throwable cause) {
        return new RedisPoolConnectionException(poolName, worker, "Redis pool '" + poolName + "' (worker " + worker
                + "): connection to " + describe(uri) + " lost: " + reason, cause);
    }

    /**
     * Whether a command failed because its connection was lost: the bare I/O error of a broken socket, or one of
     * Lettuce's plain {@link RedisException}s for a closed or disconnected endpoint. Neither names the pool, the worker
     * or the server, so both paths turn them into {@link #connectionLost} errors. (Found by the reliability suite: with
     * Redis killed under load most lost commands failed with "Connection disconnected" or "Currently not connected.
     * Commands are rejected.", not with an {@code IOException}.)
     *
     * @param error the error a command failed with
     * @return whether it means the connection was lost
     */
    static boolean isConnectionLoss(Throwable error) {
        return error instanceof IOException
                || error.getClass() == RedisException.class && LETTUCE_CONNECTION_LOST.contains(error.getMessage());
    }

    /**
     * @param error the error a command failed with
     * @return whether Lettuce refused to write the command because its connection had closed: Redis never saw it
     */
    static boolean wasNotSent(Throwable error) {
        return error.getClass() == RedisException.class && LETTUCE_NOT_SENT.contains(error.getMessage());
    }

    static Throwable unwrap(Throwable error) {
        Throwable current = error;
        while ((current instanceof CompletionException || current instanceof ExecutionException) && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }
}
