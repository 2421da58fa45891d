package io.github.affinitypool.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@code redis-server} as a child process on 127.0.0.1 with its own temp dir (config, log, owner record).
 * The port is picked on the first start and kept for the server's life, so a restart comes back where the
 * clients under test expect it.
 */
final class ProcessBackend implements ServerBackend {

    static final String HOST = "127.0.0.1";
    /** The port of a Redis that may already run on the machine: never ours. */
    static final int WELL_KNOWN_PORT = 6379;

    private static final Logger log = LoggerFactory.getLogger(ProcessBackend.class);
    private static final int MAX_PORT_ATTEMPTS = 5;
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration SIGNAL_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(5);
    /** Logged by every Redis version once it listens, before it reads a command ("... connections tcp" on 7.2). */
    private static final String READY_LINE = "Ready to accept connections";

    private final ServerSettings settings;
    private final IntSupplier portPicker;
    private Path binary;
    private int major;
    private Path dir;
    private Path logFile;
    private int port = -1;
    private int tlsPort = -1;
    /** Volatile because the shutdown hook reads it without the server's lock. */
    private volatile Process process;
    private volatile Path liveDir;
    private boolean paused;

    ProcessBackend(ServerSettings settings) {
        this(settings, ProcessBackend::pickPort);
    }

    /**
     * @param portPicker hands out a free port and reserves it in {@link ServerRegistry}; tests pass one that hands
     *                   out a taken port, to see a start move on
     */
    ProcessBackend(ServerSettings settings, IntSupplier portPicker) {
        this.settings = settings;
        this.portPicker = portPicker;
    }

    @Override
    public void start(Duration timeout) {
        long deadline = Readiness.deadline(timeout);
        prepareDir();
        boolean samePort = port > 0;
        for (int attempt = 1; ; attempt++) {
            if (!samePort) {
                port = portPicker.getAsInt();
            }
            if (settings.tls() != null && tlsPort < 0) {
                tlsPort = portPicker.getAsInt();
            }
            long logOffset = size(logFile);
            Process started = launch();
            process = started; // from now on the shutdown hook can end it, even half-way through the start
            String gone = Readiness.awaitPing(HOST, port, deadline,
                    () -> started.isAlive() ? null : "redis-server exited with code " + started.exitValue());
            Failure failure = gone != null ? new Failure(gone, false) : checkItIsOurs(started, logOffset);
            if (failure == null) {
                paused = false;
                log.debug("redis-server pid {} ready on {}:{} (dir {})", started.pid(), HOST, port, dir);
                return;
            }
            destroyAndWait(started);
            process = null;
            String startLog = readLog(logOffset);
            // ours may be killed before it logs its failed bind: another server's answer says the same
            boolean portTaken = failure.anotherServer() || startLog.contains("Address already in use");
            if (portTaken && !samePort && attempt < MAX_PORT_ATTEMPTS) {
                // another process took a port between our probe and redis' bind: pick both ports again
                releasePorts();
                continue;
            }
            if (portTaken && samePort && !failure.anotherServer() && System.nanoTime() - deadline < 0) {
                // a restart on the same port: the old socket may linger for a moment; retry until the deadline
                Readiness.backoff(20);
                continue;
            }
            throw new IllegalStateException("redis-server " + binary + " did not start on " + HOST + ":" + port
                    + (tlsPort > 0 ? " (TLS port " + tlsPort + ")" : "") + ": " + failure.reason()
                    + (portTaken && samePort ? "; the ports are kept across restarts, so whatever holds them now "
                    + "must let go first" : "")
                    + "\n--- redis-server log (" + logFile + ") ---\n" + settings.mask(startLog.strip())
                    + "\n--- end of log ---");
        }
    }

    /**
     * Why a start attempt failed.
     *
     * @param reason        for the exception message
     * @param anotherServer whether a server that is not ours answered on the port: ours cannot bind it
     */
    private record Failure(String reason, boolean anotherServer) {
    }

    /** Gives the ports of a failed first start back, to pick new ones. */
    private void releasePorts() {
        ServerRegistry.releasePort(port);
        if (tlsPort > 0) {
            ServerRegistry.releasePort(tlsPort);
            tlsPort = -1;
        }
    }

    private void prepareDir() {
        if (dir != null) {
            return;
        }
        if (binary == null) {
            binary = settings.binary() != null ? settings.binary() : RedisBinary.resolve();
            major = RedisBinary.majorVersion(binary);
        }
        try {
            dir = Files.createTempDirectory(ServerRegistry.DIR_PREFIX);
            liveDir = dir;
            logFile = dir.resolve("redis.log");
            Files.createFile(logFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temp dir for redis-server", e);
        }
        ServerRegistry.register(this, !settings.detached());
    }

    static int pickPort() {
        for (int i = 0; i < 100; i++) {
            // bind port 0 and let it go: the kernel hands out a free port; closing a listener leaves no TIME_WAIT
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
                int candidate = socket.getLocalPort();
                if (candidate != WELL_KNOWN_PORT && ServerRegistry.reservePort(candidate)) {
                    return candidate;
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot find a free port on " + HOST, e);
            }
        }
        throw new IllegalStateException("no free port on " + HOST + " after 100 tries");
    }

    private Process launch() {
        Path config = dir.resolve("redis.conf");
        List<String> command = new ArrayList<>();
        if (settings.detached()) {
            // setsid execs the server in place (a child of the JVM leads no process group), so the pid stays the one
            // started; without setsid the server stays in the JVM's session.
            RedisBinary.onPath(System.getenv().getOrDefault("PATH", ""), "setsid")
                    .ifPresent(setsid -> command.add(setsid.toString()));
        }
        command.add(binary.toString());
        command.add(config.toString());
        command.addAll(settings.args());
        if (settings.tls() != null) {
            SelfSignedCertificate tls = settings.tls();
            command.addAll(List.of("--tls-port", String.valueOf(tlsPort),
                    "--tls-cert-file", tls.certificate().toString(),
                    "--tls-key-file", tls.privateKey().toString(), "--tls-ca-cert-file", tls.certificate().toString(),
                    "--tls-auth-clients", "no"));
        }
        try {
            Files.writeString(config, ConfigFile.render(settings, HOST, port, dir.toString(), false, major),
                    StandardCharsets.UTF_8);
            Process started = new ProcessBuilder(command)
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .start();
            try {
                ServerRegistry.writeOwner(dir, started.toHandle());
            } catch (IOException e) {
                // Without its record no later JVM could tell that it was left behind: it would outlive every test.
                started.destroyForcibly();
                throw e;
            }
            return started;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /**
     * PONG alone does not prove the answer came from our process: if another server grabbed the port, ours
     * fails to bind but may not have exited yet. INFO names the pid that answered.
     *
     * @return {@code null} when the server that answers is ours, else why not
     */
    private Failure checkItIsOurs(Process started, long logOffset) {
        try (RawRedisConnection connection = RawRedisConnection.open(HOST, port, CHECK_TIMEOUT)) {
            try {
                settings.authenticate(connection);
            } catch (RedisErrorReplyException e) {
                return new Failure("the server on port " + port + " refuses our password (" + e.code()
                        + "): it is not ours", true);
            }
            String info;
            try {
                info = connection.command("INFO", "server");
            } catch (RedisErrorReplyException e) {
                return checkByLog(started, logOffset, e);
            }
            long answering = Long.parseLong(RedisServer.parseInfo(info).getOrDefault("process_id", "-1"));
            return answering == started.pid() ? null
                    : new Failure("port " + port + " is answered by another redis-server (pid " + answering
                    + "), not ours (pid " + started.pid() + ")", true);
        } catch (UncheckedIOException e) {
            return new Failure("cannot check who answers on port " + port + ": " + e.getMessage(), false);
        }
    }

    /**
     * INFO was refused, so the pid cannot be asked. NOPERM comes from ours when arg(...) stripped the default
     * user of INFO; NOAUTH, with no password of ours, from a server that wants one. Whoever it is, ours is the one
     * that answered only if it logged that it is ready: redis logs that before it reads any command, and a redis
     * that cannot bind its port never logs it.
     */
    private Failure checkByLog(Process started, long logOffset, RedisErrorReplyException refusal) {
        if (!started.isAlive()) {
            return new Failure("redis-server exited with code " + started.exitValue(), false);
        }
        if (readLog(logOffset).contains(READY_LINE)) {
            return null;
        }
        String why = refusal.code().equals("NOAUTH") && settings.password() == null
                ? "wants a password (NOAUTH), and ours has none" : "refuses INFO (" + refusal.code() + ")";
        return new Failure("the server on port " + port + " " + why + ", while ours (pid " + started.pid()
                + ") has not logged '" + READY_LINE + "': it is not ours", true);
    }

    @Override
    public void stop() {
        Process current = process;
        if (current == null) {
            return;
        }
        if (current.isAlive()) {
            if (paused) {
                // a stopped process only acts on SIGTERM once it runs again
                signal(current, "CONT");
            }
            // SIGTERM makes redis shut down cleanly; with save "" it writes nothing
            current.destroy();
            if (!waitFor(current, STOP_TIMEOUT)) {
                log.warn("redis-server pid {} ignored SIGTERM for {}; killing it", current.pid(), STOP_TIMEOUT);
                destroyAndWait(current);
            }
        }
        process = null;
        paused = false;
    }

    @Override
    public void kill() {
        Process current = process;
        if (current == null) {
            return;
        }
        destroyAndWait(current);
        process = null;
        paused = false;
    }

    @Override
    public void pause() {
        Process current = requireRunning("pause");
        if (paused) {
            return;
        }
        signal(current, "STOP");
        awaitStopped(current, true);
        paused = true;
    }

    @Override
    public void resume() {
        if (!paused) {
            return;
        }
        Process current = requireRunning("resume");
        signal(current, "CONT");
        awaitStopped(current, false);
        paused = false;
    }

    @Override
    public boolean isRunning() {
        Process current = process;
        return current != null && current.isAlive();
    }

    @Override
    public boolean isPaused() {
        return paused && isRunning();
    }

    @Override
    public long pid() {
        return requireRunning("report the pid of").pid();
    }

    @Override
    public String host() {
        return HOST;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public String log() {
        return logFile == null ? "" : settings.mask(readLog(0));
    }

    @Override
    public int tlsPort() {
        return tlsPort;
    }

    @Override
    public void close() {
        stop();
        if (port > 0) {
            ServerRegistry.releasePort(port);
        }
        if (tlsPort > 0) {
            ServerRegistry.releasePort(tlsPort);
        }
        ServerRegistry.deleteRecursively(dir);
        ServerRegistry.unregister(this);
        liveDir = null;
    }

    @Override
    public void killNow() {
        Process current = process;
        if (current != null) {
            // SIGKILL also ends a paused (SIGSTOPped) process
            current.destroyForcibly();
            waitFor(current, SIGNAL_TIMEOUT);
        }
        ServerRegistry.deleteRecursively(liveDir);
    }

    @Override
    public String toString() {
        Process current = process;
        return "redis-server" + (current == null ? "" : " pid " + current.pid()) + " on " + HOST + ":" + port;
    }

    private Process requireRunning(String action) {
        Process current = process;
        if (current == null || !current.isAlive()) {
            throw new IllegalStateException("cannot " + action + " " + this + ": it is not running");
        }
        return current;
    }

    /**
     * Sends a signal the JDK has no API for (STOP, CONT) through kill(1), or the shell's built-in kill where no
     * kill executable is installed (slim container images).
     */
    private static void signal(Process target, String signal) {
        String pid = Long.toString(target.pid());
        HelperProcess.Result kill;
        try {
            try {
                kill = HelperProcess.run(List.of("kill", "-" + signal, pid), SIGNAL_TIMEOUT);
            } catch (IOException noKillBinary) {
                try {
                    kill = HelperProcess.run(List.of("/bin/sh", "-c", "kill -" + signal + " " + pid), SIGNAL_TIMEOUT);
                } catch (IOException e) {
                    e.addSuppressed(noKillBinary);
                    throw new UncheckedIOException("cannot run kill -" + signal + " " + pid, e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending SIG" + signal + " to " + pid, e);
        }
        if (kill.exitCode() != 0) {
            throw new IllegalStateException("kill -" + signal + " " + pid + " failed with exit code " + kill.exitCode()
                    + ": " + kill.output().strip());
        }
    }

    /**
     * Signals are delivered asynchronously; on Linux, wait until /proc shows the process stopped (state T) or
     * running again, so that the caller's next step sees the new state. Elsewhere the signal has to do.
     */
    private static void awaitStopped(Process target, boolean stopped) {
        Path stat = Paths.get("/proc", Long.toString(target.pid()), "stat");
        if (!Files.exists(stat)) {
            return;
        }
        boolean reached = Readiness.poll(Readiness.deadline(SIGNAL_TIMEOUT), () -> isStopped(stat) == stopped);
        if (!reached) {
            throw new IllegalStateException("redis-server pid " + target.pid() + " did not "
                    + (stopped ? "stop" : "continue") + " within " + SIGNAL_TIMEOUT);
        }
    }

    private static boolean isStopped(Path stat) {
        try {
            String line = Files.readString(stat, StandardCharsets.US_ASCII);
            // "pid (comm) S ...": the name may hold spaces and parentheses, the state follows the last ')'
            char state = line.charAt(line.lastIndexOf(')') + 2);
            return state == 'T' || state == 't';
        } catch (IOException e) {
            return false; // gone: certainly not stopped
        }
    }

    private static void destroyAndWait(Process target) {
        target.destroyForcibly();
        if (!waitFor(target, STOP_TIMEOUT)) {
            throw new IllegalStateException(
                    "redis-server pid " + target.pid() + " survived SIGKILL for " + STOP_TIMEOUT);
        }
    }

    private static boolean waitFor(Process target, Duration timeout) {
        try {
            return target.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for redis-server pid " + target.pid(), e);
        }
    }

    private String readLog(long offset) {
        try {
            byte[] bytes = Files.readAllBytes(logFile);
            int from = (int) Math.min(offset, bytes.length);
            return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(log " + logFile + " unreadable: " + e + ")";
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }
}
