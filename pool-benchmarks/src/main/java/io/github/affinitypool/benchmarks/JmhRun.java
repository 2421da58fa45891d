package io.github.affinitypool.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs {@link AcquireReleaseBenchmark} exactly as documented ({@code java -jar pool-benchmarks/target/benchmarks.jar
 * AcquireReleaseBenchmark -t 1}, then {@code -t 2}), keeps the scores in {@code results/jmh-results.tsv} and writes
 * the table and the verdict on the targets into the {@code jmh} section of the document.
 */
final class JmhRun {

    private static final List<String> POOLS = List.of("affinity-pool", "reactor-pool-shared", "commons-pool2",
            "lettuce-bounded-async", "array-deque-floor", "reactive-floor");

    private static final Map<String, String> LABELS = Map.of(
            "affinity-pool", "this project's worker path (`AffinityPool`)",
            "reactor-pool-shared", "one shared reactor-pool `SimpleDequePool`",
            "commons-pool2", "commons-pool2 `GenericObjectPool`",
            "lettuce-bounded-async", "Lettuce `BoundedAsyncPool`",
            "array-deque-floor", "floor: uncontended `ArrayDeque` poll + offer",
            "reactive-floor", "floor of a reactive API: `Mono.just` + `Mono.empty` subscribed, no pool");

    private JmhRun() {
    }

    /** One score: pool, threads, ns/op and its 99.9% error. */
    private record Score(String pool, int threads, double nanos, double error) {
    }

    static void run(Path jar, Path results) throws IOException, InterruptedException {
        List<String> lines = new ArrayList<>();
        lines.add("threads\tpool\tns_per_op\terror");
        String loadBefore = Machine.loadAverage();
        for (int threads : new int[] { 1, 2 }) {
            Path csv = Files.createTempFile("jmh-t" + threads + "-", ".csv");
            // JMH writes the CSV's numbers in the default locale: a decimal comma ("201,27", quoted) would shift the
            // columns read below.
            List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Duser.language=en", "-Duser.country=US", "-jar", jar.toString(), "AcquireReleaseBenchmark", "-t",
                    Integer.toString(threads), "-rf", "csv", "-rff", csv.toString());
            System.out.println("[jmh] " + String.join(" ", command));
            int exit = new ProcessBuilder(command).inheritIO().start().waitFor();
            if (exit != 0) {
                throw new IllegalStateException("JMH exited with " + exit);
            }
            List<String> rows = Files.readAllLines(csv);
            for (String row : rows.subList(1, rows.size())) {
                String[] f = row.replace("\"", "").split(",");
                lines.add(String.join("\t", f[2], f[7], f[4], f[5]));
            }
            Files.delete(csv);
        }
        Files.createDirectories(results);
        Files.write(results.resolve("jmh-results.tsv"), lines);
        Files.writeString(results.resolve("jmh-environment.txt"), "jdk: " + System.getProperty("java.vm.name") + " "
                + System.getProperty("java.runtime.version") + "\nload before: " + loadBefore + "\nload after: "
                + Machine.loadAverage() + "\n");
    }

    static void report(Path results, Path doc) throws IOException {
        Path file = results.resolve("jmh-results.tsv");
        if (!Files.exists(file)) {
            return;
        }
        Map<String, Score> scores = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file).subList(1, Files.readAllLines(file).size())) {
            String[] f = line.split("\t");
            Score score = new Score(f[1], Integer.parseInt(f[0]), parse(f[2]), parse(f[3]));
            scores.put(score.pool() + "/" + score.threads(), score);
        }
        StringBuilder md = new StringBuilder();
        md.append("| pool | 1 thread: ns/op | 2 threads: ns/op (per thread) | 2 threads: total Mops/s |\n")
                .append("| --- | ---: | ---: | ---: |\n");
        for (String pool : POOLS) {
            Score one = scores.get(pool + "/1");
            Score two = scores.get(pool + "/2");
            md.append("| ").append(LABELS.get(pool)).append(" | ").append(cell(one)).append(" | ").append(cell(two))
                    .append(" | ")
                    .append(two == null ? "–" : String.format(Locale.ROOT, "%.1f", 2 * 1000 / two.nanos()))
                    .append(" |\n");
        }
        md.append('\n').append("Environment of this run: ")
                .append(Files.readString(results.resolve("jmh-environment.txt")).strip().replace("\n", "; "))
                .append(".\n\n");
        md.append("| target | measured | verdict |\n| --- | --- | --- |\n");
        target(md, scores, "≥ 2× the throughput of the shared `SimpleDequePool` at 2 threads",
                "reactor-pool-shared", 2, 2.0);
        for (int threads : new int[] { 1, 2 }) {
            target(md, scores, "ahead of commons-pool2 at " + threads + " thread" + (threads == 1 ? "" : "s"),
                    "commons-pool2", threads, 1.0);
            target(md, scores,
                    "ahead of Lettuce `BoundedAsyncPool` at " + threads + " thread" + (threads == 1 ? "" : "s"),
                    "lettuce-bounded-async", threads, 1.0);
        }
        GeneratedSections.rewrite(doc, Map.of("jmh", md.toString()));
    }

    private static void target(StringBuilder md, Map<String, Score> scores, String target, String other, int threads,
            double factor) {
        Score ours = scores.get("affinity-pool/" + threads);
        Score theirs = scores.get(other + "/" + threads);
        if (ours == null || theirs == null) {
            return;
        }
        double ratio = theirs.nanos() / ours.nanos();
        md.append("| ").append(target).append(" | ")
                .append(String.format(Locale.ROOT, "%.2f× (%.0f vs %.0f ns/op)", ratio, ours.nanos(), theirs.nanos()))
                .append(" | ").append(ratio >= factor ? "met" : "**missed**").append(" |\n");
    }

    private static String cell(Score score) {
        return score == null ? "–" : String.format(Locale.ROOT, "%.1f ± %.1f", score.nanos(), score.error());
    }

    private static double parse(String value) {
        try {
            return Double.parseDouble(value);
        }
        catch (NumberFormatException ex) {
            return Double.NaN;
        }
    }
}
