package io.github.affinitypool.benchmarks.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.HdrHistogram.Histogram;

/**
 * Load from <a href="https://github.com/wg/wrk">wrk</a> (two threads, like the two cores of the reference machine).
 * A Lua {@code done} script prints the counts and every distinct latency with its count, which go into an
 * HdrHistogram.
 * <p>
 * The latencies the script reads are already corrected for coordinated omission: wrk 4.1 calls
 * {@code stats_correct(statistics.latency, interval)} before {@code done} ({@code src/wrk.c}), and the Lua
 * {@code latency} object is that same, corrected, table. The raw latencies cannot be had from a script, so
 * {@link ReactorNettyDriver} applies the same correction to its own; the two drivers' percentiles then mean the same.
 */
final class WrkDriver implements LoadDriver {

    private static final String SCRIPT = """
            done = function(summary, latency, requests)
              local e = summary.errors
              -- requests counts the answered ones, error statuses and timeouts included, but no socket error
              io.write(string.format("WRK-SUMMARY %d %d %d %d\\n", summary.requests, summary.duration,
                  e.status + e.timeout, e.connect + e.read + e.write))
              -- latency(i) is the i-th distinct latency and its count; past the last one it answers value 0
              for i = 1, 10000000 do
                local value, count = latency(i)
                if value == nil or value == 0 or count == nil or count == 0 then break end
                io.write(string.format("WRK-LATENCY %d %d\\n", value, count))
              end
            end
            """;

    private final String version;

    private final Path script;

    private WrkDriver(String version, Path script) {
        this.version = version;
        this.script = script;
    }

    /** @return a driver when wrk runs on this machine, else empty */
    static Optional<WrkDriver> create() {
        try {
            Process process = new ProcessBuilder("wrk", "-v").redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            process.waitFor(10, TimeUnit.SECONDS);
            if (!output.startsWith("wrk")) {
                return Optional.empty();
            }
            Path script = Files.createTempFile("bench-wrk-", ".lua");
            script.toFile().deleteOnExit();
            Files.writeString(script, SCRIPT);
            return Optional.of(new WrkDriver(output.lines().findFirst().orElse("wrk").split(" \\[")[0].trim(), script));
        }
        catch (IOException ex) {
            return Optional.empty();
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    @Override
    public String describe() {
        return version + " (2 threads, Lua done script into HdrHistogram; wrk's coordinated-omission correction)";
    }

    /** wrk's {@code -d} takes a whole number of seconds, minutes or hours ({@code src/units.c}: no {@code ms}). */
    @Override
    public Optional<String> refusal(Duration duration) {
        boolean wholeSeconds = duration.getNano() == 0 && duration.getSeconds() >= 1;
        return wholeSeconds ? Optional.empty() : Optional.of("wrk runs whole seconds only (-d), at least 1");
    }

    @Override
    public LoadResult run(String url, int connections, Duration duration) throws IOException, InterruptedException {
        Optional<String> refused = refusal(duration);
        if (refused.isPresent()) {
            // rounding would measure for another length than the one asked for, and say nothing
            throw new IllegalArgumentException(refused.get() + ", not " + duration);
        }
        long seconds = duration.toSeconds();
        List<String> command = List.of("wrk", "-t" + Math.min(2, connections), "-c" + connections, "-d" + seconds + "s",
                "--timeout", "10s", "-s", script.toString(), url);
        List<String> output = runToFile(command, seconds + 30);
        Histogram latency = LoadResult.newHistogram();
        long[] summary = null;
        for (String line : output) {
            String[] fields = line.trim().split(" ");
            if (fields[0].equals("WRK-SUMMARY")) {
                summary = new long[] { Long.parseLong(fields[1]), Long.parseLong(fields[2]),
                        Long.parseLong(fields[3]), Long.parseLong(fields[4]) };
            }
            else if (fields[0].equals("WRK-LATENCY")) {
                latency.recordValueWithCount(Math.min(Long.parseLong(fields[1]), LoadResult.MAX_LATENCY_MICROS),
                        Long.parseLong(fields[2]));
            }
        }
        if (summary == null) {
            throw new IOException("wrk printed no summary for " + command + ":\n" + String.join("\n", output));
        }
        // Requests that met a socket error were sent, or meant to be, and failed: counted among both.
        return new LoadResult(summary[0] + summary[3], summary[2] + summary[3],
                TimeUnit.MICROSECONDS.toNanos(summary[1]), latency);
    }

    /**
     * Runs wrk with its output in a file rather than a pipe: reading a pipe to its end would wait as long as a hung
     * wrk, and the time limit would never apply.
     */
    private static List<String> runToFile(List<String> command, long timeoutSeconds)
            throws IOException, InterruptedException {
        Path output = Files.createTempFile("bench-wrk-", ".out");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile())
                    .start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("wrk did not finish within " + timeoutSeconds + " s: " + command);
            }
            return Files.readAllLines(output, StandardCharsets.UTF_8);
        }
        finally {
            Files.deleteIfExists(output);
        }
    }
}
