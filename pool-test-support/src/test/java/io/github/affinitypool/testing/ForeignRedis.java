package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A redis-server the harness did not start, as a developer's own Redis or another test JVM's would be: started
 * here with {@link ProcessBuilder}, on a port of the test's choosing, and killed on close.
 */
final class ForeignRedis implements AutoCloseable {

    private final Process process;
    private final Path log;

    private ForeignRedis(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * @param port where it listens, on 127.0.0.1
     * @param dir  its working directory and log
     * @param args further options, e.g. {@code "--requirepass", "x"}
     * @return it, once it answers PING (or NOAUTH)
     */
    static ForeignRedis start(int port, Path dir, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(RedisBinary.resolve().toString(), "--port",
                Integer.toString(port), "--bind", "127.0.0.1", "--dir", dir.toString()));
        command.addAll(List.of(args));
        Path log = dir.resolve("foreign-" + port + ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ForeignRedis foreign = new ForeignRedis(process, log);
        String failure = Readiness.awaitPing("127.0.0.1", port, Readiness.deadline(Duration.ofSeconds(10)),
                () -> process.isAlive() ? null : "exited with code " + process.exitValue());
        if (failure != null) {
            foreign.close();
        }
        assertThat(failure).as("the foreign redis-server on port %d: %s", port, foreign.log()).isNull();
        return foreign;
    }

    String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    long pid() {
        return process.pid();
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            assertThat(process.waitFor(10, TimeUnit.SECONDS)).as("the foreign redis-server ends").isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
