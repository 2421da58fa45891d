package io.github.affinitypool.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.Comparator;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every live server of this JVM, so that one shutdown hook can end them all: a test run that forgets a
 * {@code close()}, fails half-way or is interrupted with Ctrl-C leaves no redis-server behind.
 *
 * <p>A JVM that is killed outright (SIGKILL, e.g. a surefire fork past its timeout) runs no hook. For that
 * case each server's temp dir holds an owner record (JVM pid and start time, redis pid and start time); the
 * first server of a later JVM kills the servers whose JVM is gone, matching pid <em>and</em> start time so it
 * never touches a process it did not start.
 */
final class ServerRegistry {

    static final String DIR_PREFIX = "affinity-redis-";

    /** How far the start times that two JVMs compute for one process may differ, see {@link #find}. */
    private static final long START_TIME_TOLERANCE_MILLIS = 2_000;
    static final String OWNER_FILE = "owner";

    private static final Logger log = LoggerFactory.getLogger(ServerRegistry.class);
    /** The live servers the JVM-exit hook ends: all but the detached ones, which their application stops. */
    private static final Set<ServerBackend> LIVE = ConcurrentHashMap.newKeySet();
    private static final Set<Integer> RESERVED_PORTS = ConcurrentHashMap.newKeySet();
    private static volatile boolean initialised;

    private ServerRegistry() {
    }

    static void register(ServerBackend backend) {
        register(backend, true);
    }

    /** @param endAtExit whether the JVM-exit hook ends the server if it still runs then */
    static void register(ServerBackend backend, boolean endAtExit) {
        initialise();
        if (endAtExit) {
            LIVE.add(backend);
        }
    }

    static void unregister(ServerBackend backend) {
        LIVE.remove(backend);
    }

    /** Keeps a port for a stopped server's restart: no other server of this JVM is started on it meanwhile. */
    static boolean reservePort(int port) {
        return RESERVED_PORTS.add(port);
    }

    static void releasePort(int port) {
        RESERVED_PORTS.remove(port);
    }

    private static void initialise() {
        if (initialised) {
            return;
        }
        synchronized (ServerRegistry.class) {
            if (initialised) {
                return;
            }
            Runtime.getRuntime().addShutdownHook(new Thread(ServerRegistry::killAll, "redis-server-reaper"));
            reapOrphans(Paths.get(System.getProperty("java.io.tmpdir")));
            initialised = true;
        }
    }

    private static void killAll() {
        for (ServerBackend backend : LIVE) {
            try {
                backend.killNow();
            } catch (RuntimeException e) {
                // the JVM is going down; try the others
                log.warn("could not end {} at JVM exit", backend, e);
            }
        }
    }

    /** Writes the owner record of a server process into its temp dir. */
    static void writeOwner(Path dir, ProcessHandle redis) throws IOException {
        ProcessHandle jvm = ProcessHandle.current();
        String record = jvm.pid() + " " + startMillis(jvm) + " " + redis.pid() + " " + startMillis(redis) + "\n";
        Files.writeString(dir.resolve(OWNER_FILE), record, StandardCharsets.US_ASCII);
    }

    /** Kills the servers, and deletes the temp dirs, left by JVMs that no longer run. */
    static void reapOrphans(Path tmpRoot) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tmpRoot, DIR_PREFIX + "*")) {
            for (Path dir : dirs) {
                reapIfOrphaned(dir);
            }
        } catch (IOException | RuntimeException e) {
            log.debug("could not look for orphaned redis-server processes in {}", tmpRoot, e);
        }
    }

    private static void reapIfOrphaned(Path dir) throws IOException {
        Path ownerFile = dir.resolve(OWNER_FILE);
        if (!Files.isRegularFile(ownerFile)) {
            return; // being set up right now, or not ours
        }
        String[] owner = Files.readString(ownerFile, StandardCharsets.US_ASCII).trim().split(" ");
        if (owner.length != 4 || owner[1].equals("-1") || owner[3].equals("-1")) {
            return; // without start times a reused pid cannot be told apart: leave it alone
        }
        if (isAlive(Long.parseLong(owner[0]), Long.parseLong(owner[1]))) {
            return;
        }
        Optional<ProcessHandle> redis = find(Long.parseLong(owner[2]), Long.parseLong(owner[3]));
        if (redis.isPresent()) {
            log.warn("killing orphaned redis-server pid {} (its test JVM pid {} is gone), temp dir {}",
                    owner[2], owner[0], dir);
            // SIGKILL cannot be ignored; waiting for a process that is not our child would only mean polling
            redis.get().destroyForcibly();
        }
        deleteRecursively(dir);
    }

    private static boolean isAlive(long pid, long startMillis) {
        return find(pid, startMillis).isPresent();
    }

    /**
     * The process with this pid and start time, if it still runs (a reused pid has another start time). Within a
     * tolerance: each JVM computes start times from the boot time it read once from {@code /proc/stat}, which the
     * kernel derives from the wall clock, so a clock step can shift it by a second or more between JVMs; an exact
     * match would take a live JVM for a dead one and delete its server's directory.
     */
    private static Optional<ProcessHandle> find(long pid, long startMillis) {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .filter(handle -> Math.abs(startMillis(handle) - startMillis) <= START_TIME_TOLERANCE_MILLIS);
    }

    private static long startMillis(ProcessHandle handle) {
        return handle.info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
    }

    static void deleteRecursively(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    log.debug("could not delete {}", path, e);
                }
            });
        } catch (IOException e) {
            log.debug("could not delete {}", dir, e);
        }
    }
}
