package io.github.affinitypool.benchmarks.load;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import io.github.affinitypool.benchmarks.GeneratedSections;

/**
 * Turns the load benchmark's raw results into the tables of {@code docs/benchmarks.md} (the {@code load-*} generated
 * sections) and the charts in {@code docs/images/}.
 */
public final class LoadReport {

    private static final String RESULTS = "load-results.tsv";

    private static final String ENVIRONMENT = "load-environment.properties";

    private final Map<String, Summary> summaries;

    private final List<Integer> connections;

    private LoadReport(List<Cell> cells) {
        this.summaries = Summary.of(cells);
        this.connections = new ArrayList<>(new TreeSet<>(cells.stream().map(Cell::connections).toList()));
    }

    /** Keeps a run's cells and environment in {@code results}. */
    public static void save(LoadBenchmark.Run run, Path results) throws IOException {
        LoadBenchmark.write(run.cells(), results.resolve(RESULTS));
        Properties environment = new Properties();
        environment.putAll(run.environment());
        try (Writer out = Files.newBufferedWriter(results.resolve(ENVIRONMENT))) {
            environment.store(out, "environment of the load benchmark run in " + RESULTS);
        }
    }

    /** Rewrites the {@code load-*} sections of {@code doc} and the charts from the results kept in {@code results}. */
    public static void report(Path results, Path doc, Path images) throws IOException {
        if (!Files.exists(results.resolve(RESULTS))) {
            return;
        }
        Properties environment = new Properties();
        try (Reader in = Files.newBufferedReader(results.resolve(ENVIRONMENT))) {
            environment.load(in);
        }
        LoadReport report = new LoadReport(LoadBenchmark.read(results.resolve(RESULTS)));
        Map<String, String> sections = new LinkedHashMap<>();
        sections.put("load-environment", environment(environment));
        for (Scenario scenario : Scenario.values()) {
            sections.put("load-" + scenario.name().toLowerCase(Locale.ROOT), report.table(scenario));
        }
        sections.put("load-small-pool", report.smallPool());
        sections.put("load-targets", report.targets());
        // Charts first: drawing needs fonts that a headless JDK may lack, and a failure there must not leave the tables
        // rewritten and the charts of the previous run beside them.
        LoadCharts.write(report.summaries, report.connections, images);
        GeneratedSections.rewrite(doc, sections);
    }

    private static String environment(Properties env) {
        return String.join("\n",
                "| | |", "| --- | --- |",
                "| date | " + env.getProperty("date") + " |",
                "| machine | " + env.getProperty("cpu") + ", " + env.getProperty("cores") + " cores, "
                        + env.getProperty("memory") + " RAM; " + env.getProperty("os") + " |",
                "| load average (1 / 5 / 15 min) | before the run " + env.getProperty("load.before") + ", after "
                        + env.getProperty("load.after") + " |",
                "| JDK | " + env.getProperty("jdk") + " |",
                "| application JVM flags | `" + env.getProperty("app.jvm") + "` |",
                "| Redis | " + env.getProperty("redis") + " |",
                "| load generator | " + env.getProperty("driver") + " |",
                "| libraries | " + env.getProperty("versions") + " |") + "\n";
    }

    private String table(Scenario scenario) {
        StringBuilder md = new StringBuilder();
        md.append("| setup | conns | req/s (median) | req/s per round | × (3) SDR default | × (6) ceiling | p50 ms | "
                + "p99 ms | p99.9 ms | app CPU ms / 1k req | Redis CPU ms / 1k req | Redis reads / command | "
                + "Redis connects | "
                + "errors |\n");
        md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | "
                + "---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (int c : connections) {
            for (Setup setup : Setup.ROUNDS) {
                Summary s = summaries.get(Summary.key(setup, scenario, c));
                if (s == null) {
                    continue;
                }
                md.append("| (").append(setup.number()).append(") ").append(setup.label())
                        .append(" | ").append(c)
                        .append(" | ").append(rate(s.requestsPerSecond()))
                        .append(" | ")
                        .append(s.perRound().stream().map(LoadReport::rate).collect(Collectors.joining(" / ")))
                        .append(" | ").append(ratio(s, Setup.SDR_DEFAULT))
                        .append(" | ").append(ratio(s, Setup.NO_REDIS))
                        .append(" | ").append(number(s.p50(), 2))
                        .append(" | ").append(number(s.p99(), 2))
                        .append(" | ").append(number(s.p999(), 2))
                        .append(" | ").append(number(s.appCpuPer1k(), 1))
                        .append(" | ").append(number(s.redisCpuPer1k(), 1))
                        .append(" | ").append(number(s.readsPerCommand(), 2))
                        .append(" | ").append(setup.usesRedis() ? number(s.redisConnects(), 0) : "–")
                        .append(" | ").append(s.errors())
                        .append(" |\n");
            }
        }
        return md.toString();
    }

    private String smallPool() {
        StringBuilder md = new StringBuilder();
        md.append("| setup | conns | successful req/s | errors | error rate | error |\n")
                .append("| --- | ---: | ---: | ---: | ---: | --- |\n");
        for (int c : connections) {
            for (Setup setup : List.of(Setup.SDR_POOLED_SMALL, Setup.LEASES_SMALL)) {
                Summary s = summaries.get(Summary.key(setup, Scenario.GET, c));
                if (s == null) {
                    continue;
                }
                md.append("| ").append(setup.label())
                        .append(" | ").append(c)
                        .append(" | ").append(rate(s.requestsPerSecond()))
                        .append(" | ").append(s.errors())
                        .append(" | ").append(String.format(Locale.ROOT, "%.1f %%", 100 * s.errorRate()))
                        .append(" | ").append(s.errorSample().isEmpty() ? "–" : "`" + s.errorSample() + "`")
                        .append(" |\n");
            }
        }
        return md.toString();
    }

    private String targets() {
        StringBuilder md = new StringBuilder();
        md.append("| target | GET | SET | mix |\n| --- | --- | --- | --- |\n");
        ratioTarget(md, "`commands()` ≥ 1.4× SDR default at 64 connections", Setup.SDR_DEFAULT, 64, 1.4);
        ratioTarget(md, "`commands()` ≥ 1.15× SDR default at 8 connections", Setup.SDR_DEFAULT, 8, 1.15);
        ratioTarget(md, "`commands()` ≥ 0.65× the no-Redis ceiling at 64 connections", Setup.NO_REDIS, 64, 0.65);
        md.append("| `commands()` p99 no worse than SDR default (")
                .append(connections.stream().map(String::valueOf).collect(Collectors.joining(" / ")))
                .append(" connections) |");
        for (Scenario scenario : Scenario.values()) {
            md.append(' ').append(everyConcurrency(scenario, c -> {
                Summary ours = summaries.get(Summary.key(Setup.COMMANDS, scenario, c));
                Summary theirs = summaries.get(Summary.key(Setup.SDR_DEFAULT, scenario, c));
                return ours.p99() <= theirs.p99();
            }, c -> number(summaries.get(Summary.key(Setup.COMMANDS, scenario, c)).p99(), 2) + " vs "
                    + number(summaries.get(Summary.key(Setup.SDR_DEFAULT, scenario, c)).p99(), 2) + " ms"))
                    .append(" |");
        }
        md.append('\n');
        md.append("| exclusive leases ≥ SDR pooled at every concurrency, with zero errors |");
        for (Scenario scenario : Scenario.values()) {
            md.append(' ').append(everyConcurrency(scenario, c -> {
                Summary ours = summaries.get(Summary.key(Setup.LEASES, scenario, c));
                Summary theirs = summaries.get(Summary.key(Setup.SDR_POOLED, scenario, c));
                return ours.requestsPerSecond() >= theirs.requestsPerSecond() && ours.errors() == 0;
            }, c -> String.format(Locale.ROOT, "%.2f×", ratioOf(Setup.LEASES, Setup.SDR_POOLED, scenario, c))
                    + errorsNote(summaries.get(Summary.key(Setup.LEASES, scenario, c))))).append(" |");
        }
        md.append('\n');
        return md.toString();
    }

    private void ratioTarget(StringBuilder md, String target, Setup base, int c, double factor) {
        md.append("| ").append(target).append(" |");
        for (Scenario scenario : Scenario.values()) {
            double ratio = ratioOf(Setup.COMMANDS, base, scenario, c);
            md.append(' ').append(Double.isNaN(ratio) ? "–"
                    : String.format(Locale.ROOT, "%.2f× %s", ratio, ratio >= factor ? "met" : "**missed**"))
                    .append(" |");
        }
        md.append('\n');
    }

    /** @return the figures at every concurrency and whether {@code met} holds at all of them */
    private String everyConcurrency(Scenario scenario, Predicate<Integer> met,
            java.util.function.IntFunction<String> figure) {
        boolean all = true;
        List<String> figures = new ArrayList<>();
        for (int c : connections) {
            if (summaries.get(Summary.key(Setup.COMMANDS, scenario, c)) == null
                    || summaries.get(Summary.key(Setup.SDR_DEFAULT, scenario, c)) == null
                    || summaries.get(Summary.key(Setup.LEASES, scenario, c)) == null
                    || summaries.get(Summary.key(Setup.SDR_POOLED, scenario, c)) == null) {
                return "–";
            }
            boolean ok = met.test(c);
            all &= ok;
            figures.add(figure.apply(c) + (ok ? "" : " ✗"));
        }
        return String.join("; ", figures) + (all ? " — met" : " — **missed**");
    }

    private static String errorsNote(Summary summary) {
        return summary.errors() == 0 ? "" : " (" + summary.errors() + " errors)";
    }

    private double ratioOf(Setup setup, Setup base, Scenario scenario, int c) {
        Summary ours = summaries.get(Summary.key(setup, scenario, c));
        Summary theirs = summaries.get(Summary.key(base, scenario, c));
        return (ours == null || theirs == null) ? Double.NaN : ours.requestsPerSecond() / theirs.requestsPerSecond();
    }

    private String ratio(Summary summary, Setup base) {
        double ratio = ratioOf(summary.setup(), base, summary.scenario(), summary.connections());
        return Double.isNaN(ratio) ? "–" : String.format(Locale.ROOT, "%.2f", ratio);
    }

    private static String rate(double requestsPerSecond) {
        return String.format(Locale.ROOT, "%,.0f", requestsPerSecond);
    }

    private static String number(double value, int decimals) {
        return Double.isNaN(value) ? "–" : String.format(Locale.ROOT, "%." + decimals + "f", value);
    }
}
