package io.github.affinitypool.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;

/**
 * A real Redis for tests: by default a {@code redis-server} process of its own on a free port of 127.0.0.1
 * (never 6379, never a server it did not start), with no persistence, its own temp dir and its log captured.
 *
 * <pre>{@code
 * try (RedisServer redis = RedisServer.builder().password("s3cret").start()) {
 *     RedisClient client = RedisClient.create(redis.uri());   // redis://:s3cret@127.0.0.1:<port>
 *     ...
 *     redis.kill();        // SIGKILL: clients see the connection drop
 *     redis.restart();     // same port, empty data set
 *     redis.pause();       // SIGSTOP: connections hang
 *     redis.resume();      // SIGCONT
 *     redis.command("CLIENT", "LIST");
 * }
 * }</pre>
 *
 * <p>The binary is {@code REDIS_SERVER_BIN}, else {@code redis-server} on {@code PATH}, else the one inside
 * {@code com.github.codemonstur:embedded-redis} (or {@link Builder#binary(Path)}). Start-up waits until the
 * server answers PING; if it does not within the start-up timeout, the exception carries the server's log
 * (configured passwords masked).
 *
 * <p>Every server is stopped by {@link #close()} and, failing that, by a JVM shutdown hook shared by all
 * servers; its temp dir is deleted with it.
 *
 * <p>With {@code -Dredis.testcontainers=true} (or {@link Builder#backend(Backend)}) the server is a
 * Testcontainers container instead ({@code redis:7-alpine}, or {@code -Dredis.testcontainers.image}); without
 * Docker, {@link #start()} aborts the calling test with a message (it is reported as skipped). A container
 * supports {@link #pause()} / {@link #resume()} ({@code docker pause}), but not {@link #kill()},
 * {@link #restart()} or {@link #pid()}: they abort the calling test the same way, since a fault test cannot do
 * its job against a container whose port changes on restart.
 *
 * <p>Thread-safe: operations on one server are serialised.
 */
public final class RedisServer implements AutoCloseable {

    /** Default connect and read timeout of {@link #connect()} and {@link #command(String...)}. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** Default time a start may take until the server answers PING. */
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(10);
    /** The image of the Testcontainers backend unless {@value #IMAGE_PROPERTY} names another one. */
    public static final String DEFAULT_IMAGE = "redis:7-alpine";
    /** System property naming the image of the Testcontainers backend. */
    public static final String IMAGE_PROPERTY = "redis.testcontainers.image";

    /** Options that would break what this class promises (loopback, own port, own dir, a child it can stop). */
    private static final Set<String> RESERVED_OPTIONS = Set.of("--port", "--bind", "--dir", "--daemonize",
            "--logfile", "--unixsocket", "--include", "--requirepass");

    /** Where a server runs. */
    public enum Backend {
        /** A {@code redis-server} child process on 127.0.0.1. */
        PROCESS,
        /** A Testcontainers container; needs Docker and the optional {@code org.testcontainers:testcontainers}. */
        TESTCONTAINERS;

        /** System property that, set to {@code true}, makes {@link #fromSystemProperty()} pick containers. */
        public static final String TESTCONTAINERS_PROPERTY = "redis.testcontainers";

        /**
         * @return {@link #TESTCONTAINERS} when {@code -Dredis.testcontainers=true}, else {@link #PROCESS}
         */
        public static Backend fromSystemProperty() {
            return Boolean.getBoolean(TESTCONTAINERS_PROPERTY) ? TESTCONTAINERS : PROCESS;
        }
    }

    private final ServerSettings settings;
    private ServerBackend backend;
    private String version;
    private boolean closed;

    private RedisServer(ServerSettings settings) {
        this.settings = settings;
    }

    /**
     * @return a builder with the defaults: no password, no ACL users, 16 databases, no extra arguments, backend
     *         from {@code -Dredis.testcontainers}
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the server and waits until it answers PING. After the first start the port stays the same, so
     * starting a stopped or killed server brings it back where it was. No-op if it runs.
     *
     * @return this server
     * @throws IllegalStateException if it does not come up in time (the message holds the server's log) or
     *                               the server was closed
     * @throws org.opentest4j.TestAbortedException for the Testcontainers backend when Docker or Testcontainers
     *                                             is missing: the calling test is skipped with the reason
     */
    public synchronized RedisServer start() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        if (backend == null) {
            backend = createBackend();
        }
        if (!backend.isRunning()) {
            backend.start(settings.startupTimeout());
            version = readVersion();
        }
        return this;
    }

    private ServerBackend createBackend() {
        if (settings.backend() == Backend.PROCESS) {
            return new ProcessBackend(settings);
        }
        if (!testcontainersOnClasspath()) {
            Assumptions.abort("Skipped: a Testcontainers Redis was asked for (-D" + Backend.TESTCONTAINERS_PROPERTY
                    + "=true or Backend.TESTCONTAINERS), "
                    + "but org.testcontainers:testcontainers is not on the test classpath");
        }
        // only now is ContainerBackend loaded, and with it the optional Testcontainers classes
        return new ContainerBackend(settings);
    }

    private static boolean testcontainersOnClasspath() {
        try {
            Class.forName("org.testcontainers.DockerClientFactory", false, RedisServer.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /**
     * Stops the server gracefully (SIGTERM, then SIGKILL after 10 s) and waits until it is gone. No-op if it is not
     * running.
     */
    public synchronized void stop() {
        if (backend != null) {
            backend.stop();
        }
    }

    /**
     * Kills the server with SIGKILL and waits until it is gone: clients see their connections reset and new
     * connections refused. {@link #start()} or {@link #restart()} brings it back on the same port, empty.
     *
     * @throws org.opentest4j.TestAbortedException for the Testcontainers backend (the test is skipped)
     */
    public synchronized void kill() {
        if (backend != null) {
            backend.kill();
        }
    }

    /**
     * Freezes the server (SIGSTOP; {@code docker pause} for a container) and returns once it is frozen: the
     * kernel still accepts connections, but no command is answered until {@link #resume()}.
     *
     * @throws IllegalStateException if it is not running
     */
    public synchronized void pause() {
        requireBackend().pause();
    }

    /** Unfreezes a paused server (SIGCONT) and returns once it runs again. No-op if it is not paused. */
    public synchronized void resume() {
        if (backend != null) {
            backend.resume();
        }
    }

    /**
     * Stops the server if it runs (gracefully) and starts it again on the same port, waiting until it answers
     * PING. The data set starts empty (no persistence).
     *
     * @return this server
     * @throws org.opentest4j.TestAbortedException for the Testcontainers backend (the test is skipped)
     */
    public synchronized RedisServer restart() {
        if (settings.backend() == Backend.TESTCONTAINERS) {
            Assumptions.abort("Skipped: restart() needs the process backend (a new container would get a new port); "
                    + "this run uses Testcontainers (-D" + Backend.TESTCONTAINERS_PROPERTY + "=true)");
        }
        stop();
        return start();
    }

    /** Stops the server and deletes its temp dir. Idempotent; a closed server cannot be started again. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (backend != null) {
            backend.close();
        }
    }

    /** @return whether the server process (or container) is alive, paused or not */
    public synchronized boolean isRunning() {
        return backend != null && backend.isRunning();
    }

    /** @return whether the server is paused by {@link #pause()} */
    public synchronized boolean isPaused() {
        return backend != null && backend.isPaused();
    }

    /**
     * @return the pid of the redis-server process
     * @throws IllegalStateException                if it is not running
     * @throws org.opentest4j.TestAbortedException for the Testcontainers backend (the test is skipped)
     */
    public synchronized long pid() {
        return requireBackend().pid();
    }

    /** @return the host clients connect to: {@code 127.0.0.1} for the process backend */
    public synchronized String host() {
        requirePort();
        return backend.host();
    }

    /**
     * @return the port clients connect to; it stays the same across stop / kill / restart
     * @throws IllegalStateException before the first start
     */
    public synchronized int port() {
        return requirePort();
    }

    /**
     * @return the TLS port, which stays the same across stop / kill / restart
     * @throws IllegalStateException before the first start, or for a server built without
     *         {@link Builder#tls(SelfSignedCertificate)}
     */
    public synchronized int tlsPort() {
        requirePort();
        if (backend.tlsPort() < 0) {
            throw new IllegalStateException("this server was built without tls(...)");
        }
        return backend.tlsPort();
    }

    /**
     * @return {@code rediss://127.0.0.1:<tlsPort>}, with the password as in {@link #uri()}
     * @throws IllegalStateException as {@link #tlsPort()}
     */
    public String tlsUri() {
        String password = settings.passwordIfSet().map(secret -> ":" + encode(secret) + "@").orElse("");
        return "rediss://" + password + host() + ":" + tlsPort();
    }

    /**
     * @return {@code redis://127.0.0.1:<port>}, or {@code redis://:<password>@127.0.0.1:<port>} when a password
     *         is set (user info percent-encoded)
     */
    public String uri() {
        return uri(settings.passwordIfSet().map(password -> ":" + encode(password) + "@").orElse(""), -1);
    }

    /**
     * @param database database index, {@code 0} to {@code databases - 1}
     * @return {@link #uri()} with the database, e.g. {@code redis://127.0.0.1:<port>/3}
     */
    public String uri(int database) {
        checkDatabase(database);
        return uri(settings.passwordIfSet().map(password -> ":" + encode(password) + "@").orElse(""), database);
    }

    /**
     * @param user name of an ACL user given to {@link Builder#aclUser}
     * @return {@code redis://<user>:<password>@127.0.0.1:<port>}
     * @throws IllegalArgumentException if no such ACL user was configured
     */
    public String uriForUser(String user) {
        AclUser acl = aclUser(user);
        return uri(encode(acl.name()) + ":" + encode(acl.password()) + "@", -1);
    }

    /**
     * @param user     name of an ACL user given to {@link Builder#aclUser}
     * @param database database index
     * @return {@code redis://<user>:<password>@127.0.0.1:<port>/<database>}
     */
    public String uriForUser(String user, int database) {
        checkDatabase(database);
        AclUser acl = aclUser(user);
        return uri(encode(acl.name()) + ":" + encode(acl.password()) + "@", database);
    }

    private String uri(String userInfo, int database) {
        String host;
        int port;
        synchronized (this) {
            port = requirePort();
            host = backend.host();
        }
        return "redis://" + userInfo + host + ":" + port + (database < 0 ? "" : "/" + database);
    }

    /** @return the password of the {@code default} user, if one was set */
    public Optional<String> password() {
        return settings.passwordIfSet();
    }

    /**
     * @param name an ACL user name
     * @return that ACL user
     * @throws IllegalArgumentException if no such ACL user was configured
     */
    public AclUser aclUser(String name) {
        return settings.aclUsers().stream().filter(user -> user.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no ACL user '" + name + "' on " + this
                        + "; configured: " + aclUsers()));
    }

    /** @return the ACL users this server was started with */
    public List<AclUser> aclUsers() {
        return settings.aclUsers();
    }

    /** @return the number of databases ({@code databases} config) */
    public int databases() {
        return settings.databases();
    }

    /** @return where this server runs */
    public Backend backend() {
        return settings.backend();
    }

    /**
     * @return the Redis version, e.g. {@code 7.0.15}: from {@code INFO server} once started, else from
     *         {@code redis-server --version}
     * @throws IllegalStateException for a container that has not been started
     */
    public synchronized String version() {
        if (version != null) {
            return version;
        }
        if (settings.backend() == Backend.PROCESS) {
            version = RedisBinary.cachedVersion(settings.binary() != null ? settings.binary() : RedisBinary.resolve());
            return version;
        }
        throw new IllegalStateException("start " + this + " before asking its version");
    }

    /**
     * Skips the calling test unless this server is at least {@code minimum}: the fallback binary of
     * {@code embedded-redis} is Redis 6.2, so a test of a newer command runs where a newer {@code redis-server} is
     * installed and is reported as skipped, with the reason, elsewhere.
     *
     * <pre>{@code redis.assumeVersionAtLeast("7.0", "BLMPOP");}</pre>
     *
     * @param minimum the oldest version that has what the test needs, e.g. {@code 7.0}
     * @param needed what the test needs, for the skip message
     */
    public void assumeVersionAtLeast(String minimum, String needed) {
        if (!isVersionAtLeast(minimum)) {
            Assumptions.abort("Skipped: " + needed + " needs Redis " + minimum + " or later; " + this + " is Redis "
                    + version());
        }
    }

    /**
     * @param minimum a version, e.g. {@code 7.0}
     * @return whether this server is {@code minimum} or later (see {@link #assumeVersionAtLeast(String, String)})
     */
    public boolean isVersionAtLeast(String minimum) {
        return versionAtLeast(version(), minimum);
    }

    /**
     * @param version a Redis version, e.g. {@code 6.2.11}
     * @param minimum a version to compare with, e.g. {@code 7.0}: the parts it names are compared as numbers
     * @return whether {@code version} is {@code minimum} or later
     */
    static boolean versionAtLeast(String version, String minimum) {
        String[] have = version.split("\\.");
        String[] want = minimum.split("\\.");
        for (int i = 0; i < want.length; i++) {
            int part = i < have.length ? Integer.parseInt(have[i]) : 0;
            int wanted = Integer.parseInt(want[i]);
            if (part != wanted) {
                return part > wanted;
            }
        }
        return true;
    }

    /**
     * @return everything the server has logged so far (for the process backend, across restarts), with every
     *         configured password masked: Redis echoes a config line it cannot parse, passwords included
     */
    public synchronized String log() {
        return backend == null ? "" : backend.log();
    }

    /**
     * Runs one command on a fresh connection (authenticated as the {@code default} user when a password is set)
     * and returns the reply as text, see {@link RawRedisConnection#command(String...)}.
     *
     * <pre>{@code redis.command("CONFIG", "SET", "maxclients", "20");   // "OK"
     * redis.command("CLIENT", "LIST");                          // one line per client
     * redis.command("DBSIZE");                                  // "0"}</pre>
     *
     * @param args the command and its arguments
     * @return the reply as text ({@code null} for a null reply)
     * @throws RedisErrorReplyException        for an error reply
     * @throws java.io.UncheckedIOException    if the server cannot be reached or does not answer in
     *                                         {@link #DEFAULT_TIMEOUT}
     */
    public String command(String... args) {
        try (RawRedisConnection connection = connect()) {
            return connection.command(args);
        }
    }

    /**
     * @param prefix start of the client names to keep (clients name themselves with {@code CLIENT SETNAME})
     * @return the name of every client in {@code CLIENT LIST} whose name starts with {@code prefix}
     */
    public List<String> clientNames(String prefix) {
        List<String> names = new ArrayList<>();
        for (String line : command("CLIENT", "LIST").split("\n")) {
            for (String field : line.trim().split(" ")) {
                if (field.startsWith("name=") && field.substring(5).startsWith(prefix)) {
                    names.add(field.substring(5));
                }
            }
        }
        return names;
    }

    /**
     * @param section an INFO section, e.g. {@code server}, {@code clients}, {@code stats}
     * @return the section's fields, e.g. {@code connected_clients -> 1}
     */
    public Map<String, String> info(String section) {
        return parseInfo(command("INFO", section));
    }

    /**
     * @return a new raw connection, authenticated as the {@code default} user when a password is set, with
     *         {@link #DEFAULT_TIMEOUT}; close it
     */
    public RawRedisConnection connect() {
        return connect(DEFAULT_TIMEOUT);
    }

    /**
     * @param timeout connect and read timeout
     * @return a new raw connection, authenticated as the {@code default} user when a password is set; close it
     */
    public RawRedisConnection connect(Duration timeout) {
        return settings.authenticate(connectUnauthenticated(timeout));
    }

    /**
     * @param user    name of an ACL user given to {@link Builder#aclUser}
     * @param timeout connect and read timeout
     * @return a new raw connection authenticated as that user; close it
     */
    public RawRedisConnection connectAs(String user, Duration timeout) {
        AclUser acl = aclUser(user);
        RawRedisConnection connection = connectUnauthenticated(timeout);
        try {
            return connection.auth(acl.name(), acl.password());
        } catch (RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /**
     * @param timeout connect and read timeout
     * @return a new raw connection that has not authenticated (to see {@code NOAUTH}); close it
     */
    public RawRedisConnection connectUnauthenticated(Duration timeout) {
        String host;
        int port;
        synchronized (this) {
            port = requirePort();
            host = backend.host();
        }
        return RawRedisConnection.open(host, port, timeout);
    }

    @Override
    public synchronized String toString() {
        String where = backend == null ? "not started" : backend.toString();
        return "RedisServer[" + where
                + (closed ? ", closed" : isRunning() ? (isPaused() ? ", paused" : "") : ", stopped")
                + (settings.password() != null ? ", password set" : "")
                + (settings.aclUsers().isEmpty() ? ""
                        : ", ACL users " + settings.aclUsers().stream().map(AclUser::name).toList())
                + "]";
    }

    /** The settings, for the JUnit extension's sanity checks. */
    ServerSettings settings() {
        return settings;
    }

    private ServerBackend requireBackend() {
        if (backend == null) {
            throw new IllegalStateException(this + " has not been started");
        }
        return backend;
    }

    private int requirePort() {
        int port = backend == null ? -1 : backend.port();
        if (port < 0) {
            throw new IllegalStateException(this + " has no port yet: start it first");
        }
        return port;
    }

    private void checkDatabase(int database) {
        if (database < 0 || database >= settings.databases()) {
            throw new IllegalArgumentException("database " + database + " is out of range: this server has "
                    + settings.databases() + " databases (0.." + (settings.databases() - 1) + ")");
        }
    }

    private String readVersion() {
        try {
            return info("server").get("redis_version");
        } catch (RedisErrorReplyException e) {
            // the default user may have been denied INFO through arg(...): version() falls back on --version
            return null;
        }
    }

    /** Parses INFO output ({@code key:value} lines, {@code #} headers) into an ordered map. */
    static Map<String, String> parseInfo(String info) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : info.split("\r?\n")) {
            int colon = line.indexOf(':');
            if (!line.startsWith("#") && colon > 0) {
                fields.put(line.substring(0, colon), line.substring(colon + 1));
            }
        }
        return fields;
    }

    /** Percent-encodes user info for a URI (not {@code URLEncoder}, which turns spaces into {@code +}). */
    private static String encode(String value) {
        StringBuilder encoded = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
                encoded.append(c);
            } else {
                encoded.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return encoded.toString();
    }

    /**
     * Collects the options of a {@link RedisServer}. {@link #build()} returns an unstarted server,
     * {@link #start()} a started one.
     */
    public static final class Builder {

        private String password;
        private final List<AclUser> aclUsers = new ArrayList<>();
        private int databases = 16;
        private final List<String> args = new ArrayList<>();
        private Path binary;
        private Duration startupTimeout = DEFAULT_STARTUP_TIMEOUT;
        private Backend backend = Backend.fromSystemProperty();
        private String containerImage = System.getProperty(IMAGE_PROPERTY, DEFAULT_IMAGE);
        private SelfSignedCertificate tls;
        private boolean detached;

        private Builder() {
        }

        /**
         * Serves TLS too, on a second free port ({@link RedisServer#tlsPort()}), with this certificate and without
         * client certificates; the plain port stays (the harness checks readiness on it). Needs a redis-server built
         * with TLS (Debian's is): {@link #start()} fails otherwise. Process backend only.
         *
         * @param certificate the server's certificate, for example {@link SelfSignedCertificate#create}
         * @return this builder
         */
        public Builder tls(SelfSignedCertificate certificate) {
            this.tls = Objects.requireNonNull(certificate, "certificate");
            return this;
        }

        /**
         * @param password password of the {@code default} user ({@code requirepass}); {@code null} or empty for none
         * @return this builder
         */
        public Builder password(String password) {
            this.password = password == null || password.isEmpty() ? null : password;
            return this;
        }

        /**
         * Adds an ACL user, e.g. {@code aclUser("app", "app-secret", "~app:*", "+@all", "-flushall")}.
         *
         * @param name     user name
         * @param password its password
         * @param rules    ACL rules in Redis syntax; with none the user may run nothing
         * @return this builder
         */
        public Builder aclUser(String name, String password, String... rules) {
            return aclUser(new AclUser(name, password, Arrays.asList(rules)));
        }

        /**
         * @param user an ACL user
         * @return this builder
         */
        public Builder aclUser(AclUser user) {
            if (aclUsers.stream().anyMatch(existing -> existing.name().equals(user.name()))) {
                throw new IllegalArgumentException("ACL user '" + user.name() + "' is already configured");
            }
            aclUsers.add(user);
            return this;
        }

        /**
         * @param databases number of databases ({@code databases} config), at least 1; default 16
         * @return this builder
         */
        public Builder databases(int databases) {
            if (databases < 1) {
                throw new IllegalArgumentException("databases must be at least 1: " + databases);
            }
            this.databases = databases;
            return this;
        }

        /**
         * Appends raw command-line arguments, e.g. {@code arg("--maxclients", "20")}. They come after the
         * generated config file, so they override it; {@code --port}, {@code --bind}, {@code --dir},
         * {@code --daemonize}, {@code --logfile}, {@code --unixsocket} and {@code --include} are refused
         * because the harness depends on them, and {@code --requirepass} because the readiness check authenticates
         * with {@link #password(String)}, which sets it.
         *
         * @param tokens option names ({@code --name}) and values
         * @return this builder
         */
        public Builder arg(String... tokens) {
            for (String token : tokens) {
                Objects.requireNonNull(token, "an argument is null");
                if (RESERVED_OPTIONS.contains(token.toLowerCase(Locale.ROOT))) {
                    throw new IllegalArgumentException(token + " is managed by RedisServer and cannot be overridden"
                            + (token.equalsIgnoreCase("--requirepass") ? "; set the password with password(...)" : ""));
                }
                args.add(token);
            }
            return this;
        }

        /**
         * @param binary the redis-server executable to run, instead of looking it up
         * @return this builder
         */
        public Builder binary(Path binary) {
            this.binary = Objects.requireNonNull(binary, "binary");
            return this;
        }

        /**
         * @param timeout how long a start may take until PING is answered; default 10 s
         * @return this builder
         */
        public Builder startupTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startup timeout must be positive: " + timeout);
            }
            this.startupTimeout = timeout;
            return this;
        }

        /**
         * @param backend where to run the server; default from {@code -Dredis.testcontainers}
         * @return this builder
         */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /**
         * @param image Docker image of the Testcontainers backend; default {@value RedisServer#DEFAULT_IMAGE}
         * @return this builder
         */
        public Builder containerImage(String image) {
            this.containerImage = Objects.requireNonNull(image, "image");
            return this;
        }

        /**
         * Detaches the server from the JVM's exit, for an application that stops it itself, in its own order (after
         * the clients that use it), from its own shutdown: the server runs in a session of its own (through
         * {@code setsid}, where it exists), so that a Ctrl-C in the terminal reaches the application and not the
         * server, and the JVM-exit hook that ends every other server leaves it alone. One the application fails to
         * stop is reaped, as an orphan, by the next JVM that starts a server. Off by default: a test run wants every
         * server gone when its JVM exits. The process backend only.
         *
         * @return this builder
         */
        public Builder detached() {
            this.detached = true;
            return this;
        }

        /** @return a server with these options, not started yet */
        public RedisServer build() {
            return new RedisServer(new ServerSettings(password, aclUsers, databases, args, binary, startupTimeout,
                    backend, containerImage, tls, detached));
        }

        /**
         * @return a started server with these options
         * @see RedisServer#start()
         */
        public RedisServer start() {
            RedisServer server = build();
            try {
                return server.start();
            } catch (RuntimeException e) {
                // the caller never gets hold of it, so nothing else would delete its temp dir
                server.close();
                throw e;
            }
        }
    }
}
