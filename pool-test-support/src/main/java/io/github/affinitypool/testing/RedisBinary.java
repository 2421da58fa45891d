package io.github.affinitypool.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the {@code redis-server} executable: {@code REDIS_SERVER_BIN}, else {@code redis-server} on
 * {@code PATH}, else the binary shipped inside {@code com.github.codemonstur:embedded-redis}, extracted once to
 * a per-user cache directory under {@code java.io.tmpdir} (shared by all test JVMs of that user).
 */
final class RedisBinary {

    /** Environment variable naming the redis-server executable to use. */
    static final String ENV = "REDIS_SERVER_BIN";

    private static final Logger log = LoggerFactory.getLogger(RedisBinary.class);
    private static final String MARKER_CLASS = "redis/embedded/Redis.class";
    private static final Pattern VERSION = Pattern.compile("v=(\\d+\\.\\d+\\.\\d+)");
    private static final Duration VERSION_TIMEOUT = Duration.ofSeconds(10);

    private static volatile Path resolved;

    private RedisBinary() {
    }

    /** The binary for this JVM, resolved once. */
    static Path resolve() {
        Path binary = resolved;
        if (binary == null) {
            synchronized (RedisBinary.class) {
                binary = resolved;
                if (binary == null) {
                    binary = resolve(System.getenv(), null);
                    resolved = binary;
                }
            }
        }
        return binary;
    }

    /**
     * @param env      the environment to read {@code REDIS_SERVER_BIN} and {@code PATH} from
     * @param cacheDir where to extract the embedded binary; {@code null} for the per-user default, made only
     *                 when it is needed
     */
    static Path resolve(Map<String, String> env, Path cacheDir) {
        String configured = env.get(ENV);
        if (configured != null && !configured.isBlank()) {
            Path binary = Paths.get(configured);
            if (!Files.isRegularFile(binary) || !Files.isExecutable(binary)) {
                throw new IllegalStateException(ENV + "=" + configured + " is not an executable file");
            }
            log.debug("redis-server from {}: {}", ENV, binary);
            return binary;
        }
        Optional<Path> onPath = onPath(env.getOrDefault("PATH", ""));
        if (onPath.isPresent()) {
            log.debug("redis-server from PATH: {}", onPath.get());
            return onPath.get();
        }
        Path extracted = extractEmbedded(cacheDir != null ? cacheDir : defaultCacheDir());
        log.info("No redis-server on PATH and {} not set: using {} from embedded-redis", ENV, extracted);
        return extracted;
    }

    static Optional<Path> onPath(String path) {
        return onPath(path, "redis-server");
    }

    /** @return the executable {@code program} in a directory of {@code path}, if any */
    static Optional<Path> onPath(String path, String program) {
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Paths.get(dir, program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Extracts the embedded-redis binary for this OS and CPU into {@code cacheDir} unless it is already there. */
    static Path extractEmbedded(Path cacheDir) {
        String suffix = platformSuffix(System.getProperty("os.name"), System.getProperty("os.arch"));
        String resource = embeddedResource(suffix);
        Path target = cacheDir.resolve(resource);
        ClassLoader loader = RedisBinary.class.getClassLoader();
        try {
            URL url = loader.getResource(resource);
            long size = url.openConnection().getContentLengthLong();
            if (Files.isRegularFile(target) && Files.isExecutable(target) && Files.size(target) == size) {
                return target;
            }
            Files.createDirectories(cacheDir);
            // write beside the target and move into place, so concurrent test JVMs never run a half-written file
            Path partial = Files.createTempFile(cacheDir, resource, ".partial");
            try (InputStream in = url.openStream()) {
                Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            }
            if (!partial.toFile().setExecutable(true, true)) {
                throw new IOException("cannot make " + partial + " executable");
            }
            try {
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + resource + " from embedded-redis to " + cacheDir, e);
        }
    }

    /** @return e.g. {@code -linux-amd64}: the suffix of the embedded-redis resource for this platform */
    static String platformSuffix(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        String arch = osArch.toLowerCase(Locale.ROOT);
        String osPart;
        if (os.contains("linux")) {
            osPart = "linux";
        } else if (os.contains("mac") || os.contains("darwin")) {
            osPart = "darwin";
        } else {
            throw new IllegalStateException("embedded-redis has no usable redis-server for " + osName
                    + " (signals and process control need Linux or macOS); install redis-server or set " + ENV);
        }
        String archPart;
        if (arch.equals("amd64") || arch.equals("x86_64")) {
            archPart = "amd64";
        } else if (arch.equals("aarch64") || arch.equals("arm64")) {
            archPart = "arm64";
        } else if (arch.matches("x86|i[3-6]86")) {
            archPart = "386";
        } else {
            throw new IllegalStateException("embedded-redis has no redis-server for " + osName + "/" + osArch
                    + "; install redis-server or set " + ENV);
        }
        return "-" + osPart + "-" + archPart;
    }

    /**
     * Names the binary in the embedded-redis jar ending with {@code suffix}, by listing the jar rather than
     * hard-coding a version, so an upgrade of embedded-redis keeps working.
     */
    static String embeddedResource(String suffix) {
        URL marker = RedisBinary.class.getClassLoader().getResource(MARKER_CLASS);
        if (marker == null) {
            throw new IllegalStateException("no redis-server found: " + ENV + " is not set, none is on PATH, and "
                    + "com.github.codemonstur:embedded-redis is not on the classpath");
        }
        List<String> names = new ArrayList<>();
        try {
            URLConnection connection = marker.openConnection();
            if (!(connection instanceof JarURLConnection)) {
                throw new IllegalStateException("embedded-redis is not loaded from a jar: " + marker);
            }
            connection.setUseCaches(false);
            try (JarFile jar = ((JarURLConnection) connection).getJarFile()) {
                jar.stream().map(entry -> entry.getName())
                        .filter(name -> name.startsWith("redis-server-") && name.endsWith(suffix))
                        .forEach(names::add);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the embedded-redis jar " + marker, e);
        }
        return names.stream().max(Comparator.naturalOrder()).orElseThrow(() -> new IllegalStateException(
                "embedded-redis has no redis-server-*" + suffix + "; install redis-server or set " + ENV));
    }

    private static final Map<Path, String> VERSIONS = new ConcurrentHashMap<>();

    /** @return the major version of a binary: it decides which directives the config may hold */
    static int majorVersion(Path binary) {
        String version = cachedVersion(binary);
        return Integer.parseInt(version.substring(0, version.indexOf('.')));
    }

    /** {@link #version(Path)}, run once per binary and JVM. */
    static String cachedVersion(Path binary) {
        return VERSIONS.computeIfAbsent(binary, RedisBinary::version);
    }

    /** Runs {@code redis-server --version} and returns e.g. {@code 7.0.15}. */
    static String version(Path binary) {
        return version(binary, VERSION_TIMEOUT);
    }

    /** {@link #version(Path)}, giving up (and killing it) after {@code timeout}: a broken binary may hang. */
    static String version(Path binary, Duration timeout) {
        HelperProcess.Result result;
        try {
            result = HelperProcess.run(List.of(binary.toString(), "--version"), timeout);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + binary + " --version", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + binary + " --version", e);
        }
        Matcher matcher = VERSION.matcher(result.output());
        if (!matcher.find()) {
            throw new IllegalStateException("cannot read the version from " + binary + " --version (exit code "
                    + result.exitCode() + "): " + result.output().strip());
        }
        return matcher.group(1);
    }

    static Path defaultCacheDir() {
        return cacheDir(Paths.get(System.getProperty("java.io.tmpdir")), System.getProperty("user.name", "user"));
    }

    /**
     * A cache directory per user, so that a shared {@code /tmp} never makes one user run a binary another user
     * wrote; if it exists but is not ours, a fresh private directory is used instead.
     *
     * @param tmpRoot where to keep it
     * @param userName the user's name, for the directory's name only
     */
    static Path cacheDir(Path tmpRoot, String userName) {
        Path dir = tmpRoot.resolve("affinity-pool-redis-bin-" + userName.replaceAll("[^A-Za-z0-9._-]", "_"));
        try {
            if (!Files.exists(dir)) {
                try {
                    Files.createDirectories(dir);
                    setOwnerOnly(dir);
                } catch (IOException e) {
                    // another JVM made it first: checked below like any existing directory
                }
            }
            if (Files.isDirectory(dir) && Files.isWritable(dir) && ownedByThisProcess(dir, tmpRoot)) {
                return dir;
            }
            return Files.createTempDirectory(tmpRoot, "affinity-pool-redis-bin-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a cache directory for the embedded redis-server", e);
        }
    }

    /**
     * Compared with the owner of a file this process creates, not with {@code user.name}, which may name no owner
     * (set with {@code -Duser.name}, or a uid without a passwd entry, "?"): each JVM would then extract the binary
     * into a new directory, never deleted.
     */
    private static boolean ownedByThisProcess(Path dir, Path tmpRoot) throws IOException {
        Path probe = Files.createTempFile(tmpRoot, "affinity-pool-owner-", ".probe");
        try {
            return Files.getOwner(dir).equals(Files.getOwner(probe));
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    private static void setOwnerOnly(Path dir) throws IOException {
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: the default permissions are all there is
        }
    }
}
