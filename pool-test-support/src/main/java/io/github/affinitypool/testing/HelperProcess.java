package io.github.affinitypool.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short-lived helper ({@code redis-server --version}, {@code kill}, {@code keytool}) and waits a bounded
 * time for it. Its output goes to a temp file rather than a pipe: reading a pipe to its end before waiting would
 * block for ever on a helper that hangs, or on a grandchild that keeps the pipe open.
 */
final class HelperProcess {

    /**
     * What a helper that finished left behind.
     *
     * @param exitCode its exit code
     * @param output   its stdout and stderr
     */
    record Result(int exitCode, String output) {
    }

    private HelperProcess() {
    }

    /**
     * @param command the program and its arguments
     * @param timeout how long it may run; then it is killed
     * @return its exit code and output
     * @throws IOException           when it cannot be started or its output cannot be read
     * @throws IllegalStateException when it does not finish within {@code timeout}
     * @throws InterruptedException  when interrupted while waiting (the helper is killed)
     */
    static Result run(List<String> command, Duration timeout) throws IOException, InterruptedException {
        Path output = Files.createTempFile("affinity-pool-helper-", ".out");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(output.toFile()).start();
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new IllegalStateException(command + " did not finish within " + timeout + "; killed it"
                            + " (output so far: " + read(output).strip() + ")");
                }
            } finally {
                process.destroyForcibly(); // a no-op once it exited
            }
            return new Result(process.exitValue(), read(output));
        } finally {
            Files.deleteIfExists(output);
        }
    }

    /** Decodes leniently: a helper may print anything, and its output only ends up in messages. */
    private static String read(Path output) throws IOException {
        return new String(Files.readAllBytes(output), StandardCharsets.UTF_8);
    }
}
