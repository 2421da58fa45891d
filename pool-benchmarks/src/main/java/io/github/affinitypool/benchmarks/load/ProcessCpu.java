package io.github.affinitypool.benchmarks.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** CPU time of a process from {@code /proc/<pid>/stat} (Linux). */
final class ProcessCpu {

    private static final long TICKS_PER_SECOND = clockTicks();

    private ProcessCpu() {
    }

    /** @return user + system time of process {@code pid} so far, in milliseconds */
    static long millis(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
            // the command name (field 2) is in parentheses and may contain spaces; field 3 follows ") "
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(fields[14 - 3]) + Long.parseLong(fields[15 - 3]);
            return ticks * 1000 / TICKS_PER_SECOND;
        }
        catch (IOException ex) {
            throw new UncheckedIOException("Cannot read the CPU time of process " + pid + " (Linux /proc needed)", ex);
        }
    }

    private static long clockTicks() {
        try {
            Process process = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            process.waitFor(5, TimeUnit.SECONDS);
            return Long.parseLong(output);
        }
        catch (IOException | NumberFormatException ex) {
            return 100;
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }
}
