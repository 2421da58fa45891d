package io.github.affinitypool.redis;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCredentials;
import io.lettuce.core.RedisCredentialsProvider;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StaticCredentialsProvider;

/**
 * Redis URI handling: per-connection copies, descriptions without credentials, readable connect errors.
 * <p>
 * Public only for the Spring Boot starter, which checks and masks {@code affinity-pool.redis.url} with
 * {@link #userInfo(String)} and {@link #userInfoNeedsEncoding(String)} rather than with a copy of their rules; the rest
 * stays internal.
 */
public final class RedisUris {

    /** A URI's {@code scheme://} (RFC 3986: a letter, then letters, digits, {@code + - .}). */
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*://");

    /**
     * The characters at which a parser ends the user info ({@code / ? #}) or the host begins ({@code @}): in a user
     * name or password they must be percent-encoded.
     */
    private static final String USER_INFO_DELIMITERS = "/?#@";

    /** Why {@link #parse} refuses a URI whose user info holds one of them, and the fix; nothing of the URI itself. */
    static final String USER_INFO_NEEDS_ENCODING = "the user info (up to the last '@') contains '/', '?', '#' or '@'; "
            + "percent-encode them (%2F, %3F, %23, %40)";

    /** What a masked user info is replaced by in a message. */
    private static final String MASK = "****";

    /** What Redis puts before the arguments it quotes in an error reply ({@code ERR unknown command 'HELLO', …}). */
    private static final String ECHOED_ARGUMENTS = ", with args beginning with:";

    /** How many characters of a password in a row make a parser's message unfit to show, see {@link #showsPartOf}. */
    private static final int REVEALING_RUN = 4;

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
     * Parses a URI string. Its user name and password are percent-decoded (by Lettuce), so that {@code /}, {@code ?},
     * {@code #} and {@code @} can be given as {@code %2F}, {@code %3F}, {@code %23} and {@code %40}; unencoded they are
     * refused, see {@link #userInfoNeedsEncoding}. The parser's error is not kept as the cause: its message may quote
     * the URI, password included.
     *
     * @param uri a Redis URI string, for example {@code redis://user:secret@host:6379/2}
     * @return the parsed URI
     * @throws IllegalArgumentException for a malformed URI, with the user info masked in the message
     */
    static RedisURI parse(String uri) {
        if (userInfoNeedsEncoding(uri)) {
            throw new IllegalArgumentException("Malformed Redis URI '" + mask(uri) + "': " + USER_INFO_NEEDS_ENCODING);
        }
        RedisURI parsed;
        try {
            parsed = RedisURI.create(uri);
        }
        catch (RuntimeException ex) {
            throw new IllegalArgumentException("Malformed Redis URI '" + mask(uri) + "': " + parserReason(uri, ex));
        }
        return withImmediateCredentials(parsed);
    }

    /**
     * Whether the user info of a URI string holds a {@code /}, {@code ?}, {@code #} or {@code @}. A parser takes the
     * first three for the end of the user info and {@code @} for the start of the host, so such a password is read as
     * host, port, path or fragment, and then shows in every message about the server. The review that found this:
     * {@code redis://:s3cr#etPass@localhost:6400} connected to host {@code :s3cr} and every connect error named
     * {@code redis://:s3cr:6379}; {@code redis://:s3cr/etPass@localhost:6400} failed with Lettuce's
     * {@code For input string: "etPass@localhost:6400"}. A password from {@code openssl rand -base64} often has a
     * {@code /}.
     * <p>
     * The user info is taken to end at the last {@code @} (as for {@link #mask}): an {@code @} in a query parameter
     * (a client name) makes the URI refused too, and percent-encoding it there ({@code %40}, which Lettuce decodes as
     * well) is the fix.
     *
     * @param uri a URI string
     * @return whether it has a scheme, user info, and one of those characters in the user info
     */
    public static boolean userInfoNeedsEncoding(String uri) {
        int start = userInfoStart(uri);
        if (start <= 0) {
            // No user info, or no scheme: the parser refuses the URI anyway, and that reason is the one to give.
            return false;
        }
        int end = uri.lastIndexOf('@');
        for (int i = start; i < end; i++) {
            if (USER_INFO_DELIMITERS.indexOf(uri.charAt(i)) >= 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * @param uri a URI string, possibly malformed
     * @return its user info as {@link #mask} replaces it: from after {@code scheme://} (from the start when there is
     *         no scheme) up to the last {@code @}; {@code null} when it has no {@code @}
     */
    public static String userInfo(String uri) {
        int start = userInfoStart(uri);
        return start < 0 ? null : uri.substring(start, uri.lastIndexOf('@'));
    }

    /** @return where {@link #userInfo} starts, or -1 when the URI has no {@code @} */
    private static int userInfoStart(String uri) {
        if (uri.lastIndexOf('@') < 0) {
            return -1;
        }
        Matcher scheme = SCHEME.matcher(uri);
        // A scheme has no '@', so it ends before the last one.
        return scheme.find() ? scheme.end() : 0;
    }

    /**
     * The parser's message about a URI, fit for an exception message. {@code java.net.URI} quotes the whole string
     * ({@code Malformed escape pair at index 11: redis://:pa%ss@host}): that quote is masked. Lettuce also parses
     * parts of it itself and may quote only a part (the review's {@code For input string: "etPass@localhost:6400"},
     * before {@link #userInfoNeedsEncoding} refused such URIs): a message that still shows a piece of the password is
     * replaced by a generic reason.
     *
     * @param uri the URI string that failed to parse
     * @param error the parser's error
     * @return the parser's message with the URI masked, or a generic reason
     */
    static String parserReason(String uri, RuntimeException error) {
        String message = error.getMessage();
        if (message == null) {
            return error.getClass().getSimpleName();
        }
        String masked = message.replace(uri, mask(uri));
        String userInfo = userInfo(uri);
        if (userInfo != null && showsPartOf(masked, password(userInfo))) {
            return "not a valid Redis URI (" + error.getClass().getSimpleName()
                    + ", whose message is not shown as it may contain the password)";
        }
        return masked;
    }

    /** @return the password of a user info: after the first {@code :}, all of it without one (as Lettuce reads it) */
    private static String password(String userInfo) {
        return userInfo.substring(userInfo.indexOf(':') + 1);
    }

    /**
     * @return whether the text contains {@value #REVEALING_RUN} characters in a row of the secret (all of a shorter
     *         one): a message may quote a piece of a URI, cut where the parser stopped, so the whole secret is not
     *         the only thing to look for; a coincidence only costs the parser's message
     */
    private static boolean showsPartOf(String text, String secret) {
        return showsPartOf(text, secret, REVEALING_RUN);
    }

    private static boolean showsPartOf(String text, String secret, int revealingRun) {
        int run = Math.min(secret.length(), revealingRun);
        for (int i = 0; run > 0 && i + run <= secret.length(); i++) {
            if (text.contains(secret.substring(i, i + run))) {
                return true;
            }
        }
        return false;
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
        RedisCredentials credentials = constantCredentials(uri);
        if (credentials != null) {
            uri.setCredentialsProvider(new StaticCredentialsProvider(credentials));
        }
        return uri;
    }

    /**
     * @return the credentials of a URI whose provider has them at hand: an immediate provider, or Lettuce's own
     *         constant one (which answers as it is subscribed to); else {@code null}, without calling out
     */
    private static RedisCredentials constantCredentials(RedisURI uri) {
        RedisCredentialsProvider provider = uri.getCredentialsProvider();
        if (provider instanceof RedisCredentialsProvider.ImmediateRedisCredentialsProvider) {
            return ((RedisCredentialsProvider.ImmediateRedisCredentialsProvider) provider).resolveCredentialsNow();
        }
        if (provider == null || !isLettuceConstantProvider(provider)) {
            return null;
        }
        AtomicReference<RedisCredentials> credentials = new AtomicReference<>();
        provider.resolveCredentials().subscribe(credentials::set);
        return credentials.get();
    }

    /** @return whether the provider is a lambda of {@code RedisURI} or its builder: constant credentials */
    private static boolean isLettuceConstantProvider(RedisCredentialsProvider provider) {
        String type = provider.getClass().getName();
        return type.startsWith(RedisURI.class.getName() + "$") && type.contains("$$Lambda");
    }

    /**
     * Masks a raw URI string for a message: its {@link #userInfo} becomes {@code ****}, as in
     * {@code redis://****@localhost:6400}. The mask goes up to the last {@code @}, not to the first {@code /},
     * {@code ?}, {@code #} or {@code @}: a password may hold those by mistake (they must be percent-encoded), and a
     * mask that stopped there showed the rest of it. Masking too much only hides a user name.
     *
     * @param uri a URI string, possibly malformed
     * @return the string with its user info replaced by {@code ****}, unchanged when it has no {@code @}
     */
    static String mask(String uri) {
        int start = userInfoStart(uri);
        return start < 0 ? uri : uri.substring(0, start) + MASK + uri.substring(uri.lastIndexOf('@'));
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
        return describe(uri, null);
    }

    /**
     * Describes a URI for display, as {@code redis://user:******@host:port/db}. Lettuce's {@code RedisURI.toURI()} does
     * not serve: it renders any URI's credentials, even absent ones, as a {@code **credentialsProvider**} user.
     *
     * @param uri a Redis URI
     * @param passwordMask what stands where the password is, when the URI has one; {@code null}: nothing
     * @return scheme, user name, the mask, host, port and database; never the password
     */
    public static String describe(RedisURI uri, String passwordMask) {
        StringBuilder text = new StringBuilder(uri.isSsl() ? "rediss://" : "redis://");
        RedisCredentials credentials = constantCredentials(uri);
        String user = (credentials != null && credentials.hasUsername()) ? credentials.getUsername() : "";
        boolean masked = passwordMask != null && credentials != null && credentials.hasPassword();
        text.append(user);
        if (masked) {
            text.append(':').append(passwordMask);
        }
        if (!user.isEmpty() || masked) {
            text.append('@');
        }
        text.append(uri.getHost()).append(':').append(uri.getPort());
        if (uri.getDatabase() != 0) {
            text.append('/').append(uri.getDatabase());
        }
        return text.toString();
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
     * @param error a connect failure, possibly wrapped
     * @param uri the URI connected to
     * @return {@link #reason(Throwable)} without the password: Redis quotes the arguments of a command it does not
     *         know, and a handshake's HELLO (refused by a server without it) carries the password
     */
    static String reason(Throwable error, RedisURI uri) {
        return withoutSecrets(reason(error), uri);
    }

    /**
     * @param cause a connect failure, to be the cause of the pool's exception
     * @param uri the URI connected to
     * @return {@code cause}, or, when a message in its chain shows the password, a stand-in of the same kind (a Redis
     *         error reply, else a {@link RedisException}) carrying only {@link #reason(Throwable, RedisURI)} and the
     *         original's stack trace
     */
    static Throwable withoutSecrets(Throwable cause, RedisURI uri) {
        boolean errorReply = false;
        boolean reveals = false;
        Throwable current = cause;
        for (int depth = 0; current != null && depth < 16; depth++, current = current.getCause()) {
            errorReply |= current instanceof RedisCommandExecutionException;
            String message = current.getMessage();
            reveals |= message != null && !message.equals(withoutSecrets(message, uri));
        }
        if (!reveals) {
            return cause;
        }
        String reason = reason(cause, uri);
        RedisException standIn = errorReply ? new RedisCommandExecutionException(reason) : new RedisException(reason);
        standIn.setStackTrace(cause.getStackTrace());
        return standIn;
    }

    /**
     * @return the message with the arguments Redis echoed cut off, and replaced by a generic one when it still shows a
     *         piece of the URI's password (eight characters in a row, so that a short run in Redis's own wording, such
     *         as "pass" in "username-password", does not hide a WRONGPASS)
     */
    private static String withoutSecrets(String message, RedisURI uri) {
        int echoed = message.indexOf(ECHOED_ARGUMENTS);
        String shown = echoed < 0 ? message : message.substring(0, echoed) + ECHOED_ARGUMENTS + " (not shown)";
        RedisCredentials credentials = constantCredentials(uri);
        char[] password = credentials == null ? null : credentials.getPassword();
        if (password != null && password.length > 0 && showsPartOf(shown, new String(password), 8)) {
            return "Redis's error reply is not shown, as it contains the password";
        }
        return shown;
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
        while ((current instanceof CompletionException || current instanceof ExecutionException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }
}
