package io.github.affinitypool.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

/**
 * Runs Redis in a Testcontainers container. Only loaded when {@link RedisServer.Backend#TESTCONTAINERS} is
 * chosen and the Testcontainers classes are present (the dependency is optional).
 *
 * <p>Pause and resume map to {@code docker pause}/{@code unpause}. Kill, restart and pid abort the calling test
 * (it is reported as skipped): a new container gets a new mapped port, which would break the "same port" promise
 * of {@link RedisServer#restart()}.
 */
final class ContainerBackend implements ServerBackend {

    private static final int REDIS_PORT = 6379;
    private static final String CONFIG_PATH = "/usr/local/etc/redis/redis.conf";
    private static final Pattern IMAGE_TAG_MAJOR = Pattern.compile(":(\\d+)[^/:]*$");

    private final ServerSettings settings;
    /** Volatile because the shutdown hook reads it without the server's lock. */
    private volatile GenericContainer<?> container;
    private boolean paused;

    ContainerBackend(ServerSettings settings) {
        this.settings = settings;
    }

    @Override
    public void start(Duration timeout) {
        if (settings.tls() != null) {
            throw new IllegalStateException("TLS is supported by the process backend only, not by Testcontainers");
        }
        if (!DockerClientFactory.instance().isDockerAvailable()) {
            Assumptions.abort("Skipped: a Testcontainers Redis was asked for (-D"
                    + RedisServer.Backend.TESTCONTAINERS_PROPERTY + "=true or Backend.TESTCONTAINERS), "
                    + "but no Docker environment is available");
        }
        List<String> command = new ArrayList<>(List.of("redis-server", CONFIG_PATH));
        command.addAll(settings.args());
        String config = ConfigFile.render(settings, "0.0.0.0", REDIS_PORT, "/data", true,
                majorVersion(settings.containerImage()));
        GenericContainer<?> started = new GenericContainer<>(DockerImageName.parse(settings.containerImage()))
                .withExposedPorts(REDIS_PORT)
                .withCopyToContainer(Transferable.of(config), CONFIG_PATH)
                .withCommand(command.toArray(String[]::new))
                .withStartupTimeout(timeout);
        started.start();
        container = started;
        paused = false;
        ServerRegistry.register(this);
        String failure = Readiness.awaitPing(host(), port(), Readiness.deadline(timeout),
                () -> started.isRunning() ? null : "the container stopped");
        if (failure != null) {
            String logs = settings.mask(started.getLogs());
            close();
            throw new IllegalStateException("Redis container " + settings.containerImage() + " did not start: "
                    + failure + "\n--- container log ---\n" + logs.strip() + "\n--- end of log ---");
        }
    }

    /** The major version in an image tag such as {@code redis:6.2-alpine}; 7 (or later) when it names none. */
    static int majorVersion(String image) {
        Matcher tag = IMAGE_TAG_MAJOR.matcher(image);
        return tag.find() ? Integer.parseInt(tag.group(1)) : 7;
    }

    @Override
    public void stop() {
        GenericContainer<?> current = container;
        if (current != null) {
            resume(); // docker refuses to stop a paused container on some versions
            current.stop();
        }
        container = null;
        paused = false;
    }

    @Override
    public void kill() {
        unsupported("kill()");
    }

    /**
     * Skips the calling test: a fault test run with {@code -Dredis.testcontainers=true} cannot do its job, which
     * is no reason to fail it.
     */
    static void unsupported(String operation) {
        Assumptions.abort("Skipped: " + operation
                + " needs the process backend (a new container would get a new port); "
                + "this run uses Testcontainers (-D" + RedisServer.Backend.TESTCONTAINERS_PROPERTY + "=true)");
    }

    @Override
    public void pause() {
        GenericContainer<?> current = requireRunning();
        if (!paused) {
            current.getDockerClient().pauseContainerCmd(current.getContainerId()).exec();
            paused = true;
        }
    }

    @Override
    public void resume() {
        if (paused) {
            GenericContainer<?> current = requireRunning();
            current.getDockerClient().unpauseContainerCmd(current.getContainerId()).exec();
            paused = false;
        }
    }

    @Override
    public boolean isRunning() {
        GenericContainer<?> current = container;
        return current != null && current.isRunning();
    }

    @Override
    public boolean isPaused() {
        return paused;
    }

    @Override
    public long pid() {
        unsupported("pid()");
        return -1;
    }

    @Override
    public String host() {
        return requireRunning().getHost();
    }

    @Override
    public int tlsPort() {
        return -1;
    }

    @Override
    public int port() {
        GenericContainer<?> current = container;
        return current == null ? -1 : current.getMappedPort(REDIS_PORT);
    }

    @Override
    public String log() {
        GenericContainer<?> current = container;
        return current == null ? "" : settings.mask(current.getLogs());
    }

    @Override
    public void close() {
        stop();
        ServerRegistry.unregister(this);
    }

    @Override
    public void killNow() {
        GenericContainer<?> current = container;
        if (current != null) {
            current.stop();
        }
    }

    @Override
    public String toString() {
        GenericContainer<?> current = container;
        return "Redis container " + settings.containerImage()
                + (current == null ? "" : " " + current.getContainerId());
    }

    private GenericContainer<?> requireRunning() {
        GenericContainer<?> current = container;
        if (current == null) {
            throw new IllegalStateException(this + " is not running");
        }
        return current;
    }
}
