package io.github.affinitypool.benchmarks;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import io.github.affinitypool.benchmarks.load.LoadBenchmark;
import io.github.affinitypool.benchmarks.load.LoadReport;

/**
 * Runs the benchmarks and rewrites their part of {@code docs/benchmarks.md} and the charts in {@code docs/images/}:
 * the JMH acquire/release benchmark at 1 and 2 threads, then the end-to-end load benchmark. Raw results are kept in
 * {@code pool-benchmarks/results/}, so the report can be rebuilt from them ({@code --only=report}).
 * <p>
 * Run from the repository root through {@code pool-benchmarks/run-benchmarks.sh}, which builds first. Arguments:
 * {@code --only=jmh|load|report} (default: everything), and the load benchmark's options (see
 * {@link LoadBenchmark.Options#parse}).
 */
public final class RunBenchmarks {

    private RunBenchmarks() {
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of("").toAbsolutePath();
        Path results = root.resolve("pool-benchmarks/results");
        Path doc = root.resolve("docs/benchmarks.md");
        Path images = root.resolve("docs/images");
        List<String> arguments = Arrays.asList(args);
        String only = arguments.stream().filter(arg -> arg.startsWith("--only=")).map(arg -> arg.substring(7))
                .findFirst().orElse("all");
        long start = System.nanoTime();
        if (only.equals("all") || only.equals("jmh")) {
            JmhRun.run(root.resolve("pool-benchmarks/target/benchmarks.jar"), results);
        }
        if (only.equals("all") || only.equals("load")) {
            LoadBenchmark.Options options = LoadBenchmark.Options.parse(
                    root.resolve("pool-benchmarks/target/load-logs"), args);
            load(options, results, root);
        }
        // Each part rewrites only its own sections: after a load run that failed part-way, its kept measurements
        // reach the tables only when asked for (--only=report), not with the next --only=jmh.
        if (!only.equals("load")) {
            JmhRun.report(results, doc);
        }
        if (!only.equals("jmh")) {
            LoadReport.report(results, doc, images);
        }
        System.out.printf("[bench] done in %.1f min; rewrote %s and %s%n", (System.nanoTime() - start) / 60e9,
                root.relativize(doc), root.relativize(images));
    }

    /**
     * Runs the load benchmark and keeps its results. When it fails part-way, the cells measured until then are kept
     * all the same (a failure late in a ten-minute run must not cost the rest), and the failure is rethrown, so that
     * the tables are not rewritten from an incomplete run unasked: {@code --only=report} does it.
     */
    private static void load(LoadBenchmark.Options options, Path results, Path root) throws Exception {
        try {
            LoadReport.save(LoadBenchmark.run(options), results);
        }
        catch (LoadBenchmark.Incomplete ex) {
            if (!ex.run().cells().isEmpty()) {
                LoadReport.save(ex.run(), results);
                System.out.printf("[bench] kept the %d measurements made before the failure in %s (--only=report "
                        + "rebuilds the tables from them; git has the previous results)%n", ex.run().cells().size(),
                        root.relativize(results));
            }
            throw ex;
        }
    }
}
