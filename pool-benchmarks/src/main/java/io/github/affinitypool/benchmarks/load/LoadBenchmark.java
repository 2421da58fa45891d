package io.github.affinitypool.benchmarks.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import io.github.affinitypool.benchmarks.Machine;
import io.github.affinitypool.benchmarks.load.server.BenchOps;
import io.github.affinitypool.testing.RedisServer;

/**
 * The end-to-end load benchmark: starts a redis-server, then for every setup a {@code BenchServer} in a child JVM of
 * its own, checks that its handlers return the right values and warms it up. Then, in interleaved rounds (setups
 * forward, then backward, ...), it drives each setup's scenarios at each concurrency with a closed-loop load
 * generator, each measurement after a short warm-up at its own concurrency, while the other servers sit idle. Drift of
 * the machine shows in the per-round figures; the report takes the median of the rounds.
 */
public final class LoadBenchmark {

    /**
     * What to run.
     *
     * @param driver         {@code auto}, {@code wrk} or {@code builtin}
     * @param rounds         how many rounds (each runs every setup once)
     * @param warmup         load before each measurement, at the measurement's concurrency
     * @param measure        length of each measurement
     * @param initialWarmup  one slice of the warm-up after a server started (JIT): per scenario, slices at 64
     *                       connections until two in a row agree within 5 % (2 to 5 slices)
     * @param connections    the concurrencies
     * @param setups         the setups of the rounds, forward order
     * @param smallPool      also measure {@link Setup#SDR_POOLED_SMALL} and {@link Setup#LEASES_SMALL} once: fail fast
     *                       or queue
     * @param logs           where the child servers' logs go
     */
    public record Options(String driver, int rounds, Duration warmup, Duration measure, Duration initialWarmup,
            List<Integer> connections, List<Setup> setups, boolean smallPool, Path logs) {

        /**
         * @param logs where the child servers' logs go
         * @param args {@code --driver=auto|wrk|builtin} (auto), {@code --rounds=} (2), {@code --warmup=} (1),
         *             {@code --measure=} (3), {@code --initial-warmup=} (1; all in seconds, whole ones with wrk),
         *             {@code --connections=} (8,64,256), {@code --setups=} (1,2,3,4,5,6),
         *             {@code --small-pool=} (true); other arguments are ignored
         * @return the options
         */
        public static Options parse(Path logs, String... args) {
            Map<String, String> given = new HashMap<>();
            for (String arg : args) {
                String[] kv = arg.split("=", 2);
                if (kv.length == 2 && kv[0].startsWith("--")) {
                    given.put(kv[0].substring(2), kv[1]);
                }
            }
            return new Options(given.getOrDefault("driver", "auto"),
                    Integer.parseInt(given.getOrDefault("rounds", "2")),
                    seconds(given.getOrDefault("warmup", "1")),
                    seconds(given.getOrDefault("measure", "3")),
                    seconds(given.getOrDefault("initial-warmup", "1")),
                    Arrays.stream(given.getOrDefault("connections", "8,64,256").split(","))
                            .map(Integer::valueOf).toList(),
                    Arrays.stream(given.getOrDefault("setups", "1,2,3,4,5,6").split(",")).map(Setup::parse).toList(),
                    Boolean.parseBoolean(given.getOrDefault("small-pool", "true")), logs);
        }

        private static Duration seconds(String value) {
            return Duration.ofMillis(Math.round(Double.parseDouble(value) * 1000));
        }

        /** Refuses, before anything starts, a length of load {@code driver} cannot run, naming its option. */
        void requireRunnableBy(LoadDriver driver) {
            Map<String, Duration> lengths = new LinkedHashMap<>();
            lengths.put("--warmup", warmup);
            lengths.put("--measure", measure);
            lengths.put("--initial-warmup", initialWarmup);
            lengths.forEach((option, length) -> driver.refusal(length).ifPresent(reason -> {
                throw new IllegalArgumentException(option + "=" + inSeconds(length) + ": " + reason
                        + "; give whole seconds, or use --driver=builtin");
            }));
        }
    }

    /** What a run produced: the cells and a description of the run's environment. */
    public record Run(List<Cell> cells, Map<String, String> environment) {
    }

    /** A run that failed: what it measured before {@link #getCause() the failure}, so that it need not be lost. */
    public static final class Incomplete extends Exception {

        private static final long serialVersionUID = 1L;

        private final transient Run run;

        Incomplete(Run run, Exception cause) {
            super("The load benchmark failed after " + run.cells().size() + " measurements: " + cause, cause);
            this.run = run;
        }

        /** @return the cells measured before the failure, and the environment */
        public Run run() {
            return run;
        }
    }

    /** Attempts at reading a server's error counts before the measurement goes on without them. */
    private static final int ERRORS_ATTEMPTS = 3;

    private final Options options;

    private final LoadDriver driver;

    private final RedisServer redis;

    /** The cells measured so far, in order: kept when a later step fails. */
    private final List<Cell> cells = new ArrayList<>();

    private LoadBenchmark(Options options, LoadDriver driver, RedisServer redis) {
        this.options = options;
        this.driver = driver;
        this.redis = redis;
    }

    /**
     * Runs the benchmark with {@code options}; progress goes to standard output.
     *
     * @throws Incomplete when a step failed after the run started, with the cells measured until then
     */
    public static Run run(Options options) throws Exception {
        try (LoadDriver driver = LoadDriver.create(options.driver());
                RedisServer redis = RedisServer.builder().start()) {
            options.requireRunnableBy(driver);
            Map<String, String> environment = Environment.describe(driver, redis);
            log("load generator: " + driver.describe() + "; redis-server " + redis.version() + " on " + redis.uri()
                    + "; machine load before: " + environment.get("load.before"));
            LoadBenchmark benchmark = new LoadBenchmark(options, driver, redis);
            try {
                benchmark.runAll();
            }
            catch (Exception ex) {
                throw new Incomplete(benchmark.result(environment), ex);
            }
            return benchmark.result(environment);
        }
    }

    private Run result(Map<String, String> environment) {
        environment.put("load.after", Machine.loadAverage());
        return new Run(List.copyOf(cells), environment);
    }

    private void runAll() throws Exception {
        redis.command("SET", BenchOps.GET_KEY, BenchOps.VALUE);
        Map<Setup, ChildServer> servers = new LinkedHashMap<>();
        try {
            for (Setup setup : options.setups()) {
                servers.put(setup, startWarm(setup, List.of(Scenario.values())));
            }
            for (int round = 0; round < options.rounds(); round++) {
                List<Setup> order = new ArrayList<>(options.setups());
                if (round % 2 == 1) {
                    Collections.reverse(order);
                }
                log("round " + (round + 1) + "/" + options.rounds() + ": "
                        + String.join(" → ", order.stream().map(Setup::label).toList()));
                for (Setup setup : order) {
                    measure(servers.get(setup), round, List.of(Scenario.values()));
                }
            }
        }
        finally {
            for (ChildServer server : servers.values()) {
                server.close();
            }
        }
        if (options.smallPool()) {
            for (Setup setup : List.of(Setup.SDR_POOLED_SMALL, Setup.LEASES_SMALL)) {
                log(setup.label() + ", GET only, once");
                try (ChildServer server = startWarm(setup, List.of(Scenario.GET))) {
                    measure(server, 0, List.of(Scenario.GET));
                }
            }
        }
    }

    /** Starts a setup's server, checks its handlers and warms it up on each of {@code scenarios}. */
    private ChildServer startWarm(Setup setup, List<Scenario> scenarios) throws Exception {
        Path log = options.logs().resolve(setup.name().toLowerCase(Locale.ROOT) + ".log");
        ChildServer server = ChildServer.start(setup, redis.uri(), log);
        try {
            HandlerCheck.verify(setup, server::get, redis);
            List<String> warmups = new ArrayList<>();
            for (Scenario scenario : scenarios) {
                warmups.add(scenario + " " + inSeconds(warmUp(server.url(scenario.path()))) + " s");
            }
            log("started, checked and warmed up " + setup.label() + " (pid " + server.pid() + "; "
                    + String.join(", ", warmups) + ")");
            return server;
        }
        catch (Exception | Error ex) {
            server.close();
            throw ex;
        }
    }

    /**
     * Warms a freshly started server up (JIT) at 64 connections, in slices of {@code initialWarmup}: at least two, and
     * more until two slices in a row agree within 5 %, at most five.
     *
     * @return how long it took
     */
    private Duration warmUp(String url) throws Exception {
        double previous = driver.run(url, 64, options.initialWarmup()).requestsPerSecond();
        int slices = 1;
        while (slices < 5) {
            double current = driver.run(url, 64, options.initialWarmup()).requestsPerSecond();
            slices++;
            if (Math.abs(current - previous) <= 0.05 * Math.max(current, previous)) {
                break;
            }
            previous = current;
        }
        return options.initialWarmup().multipliedBy(slices);
    }

    /** Measures {@code scenarios} on {@code server} at each concurrency, keeping every cell as soon as measured. */
    private void measure(ChildServer server, int round, List<Scenario> scenarios) throws Exception {
        for (Scenario scenario : scenarios) {
            for (int c : options.connections()) {
                driver.run(server.url(scenario.path()), c, options.warmup());
                drainErrors(server); // the warm-up's errors are not the measurement's
                Cell cell = measureOne(server, round, scenario, c);
                cells.add(cell);
                log(String.format(Locale.ROOT, "  %-28s %-4s c=%-3d %9.0f req/s  p50 %6.2f  p99 %6.2f  p99.9 %7.2f ms"
                        + "  cpu %5.1f ms/1k  redis reads/cmd %s  connects %d%s", server.setup().label(), scenario, c,
                        cell.requestsPerSecond(), cell.p50(), cell.p99(), cell.p999(), cell.appCpuPer1k(),
                        Double.isNaN(cell.readsPerCommand()) ? "-" : String.format(Locale.ROOT, "%.2f",
                                cell.readsPerCommand()), cell.redisConnects(),
                        cell.errors() == 0 ? "" : "  ERRORS " + cell.errors() + " (" + cell.errorSample() + ")"));
            }
        }
    }

    private Cell measureOne(ChildServer server, int round, Scenario scenario, int connections) throws Exception {
        Map<String, String> statsBefore = redis.info("stats");
        long redisCpuBefore = ProcessCpu.millis(redis.pid());
        long cpuBefore = server.cpuMillis();
        LoadResult result = driver.run(server.url(scenario.path()), connections, options.measure());
        long cpu = server.cpuMillis() - cpuBefore;
        long redisCpu = ProcessCpu.millis(redis.pid()) - redisCpuBefore;
        Map<String, String> statsAfter = redis.info("stats");
        long commands = delta(statsBefore, statsAfter, "total_commands_processed");
        long reads = delta(statsBefore, statsAfter, "total_reads_processed");
        // the connection that asked for the second INFO is one of them
        long connects = delta(statsBefore, statsAfter, "total_connections_received") - 1;
        boolean redisUsed = server.setup().usesRedis();
        String errorSample = drainErrors(server).map(LoadBenchmark::mostFrequent)
                .orElse("unknown: the server did not answer GET /errors");
        long requests = Math.max(1, result.requests());
        return new Cell(round, server.setup(), scenario, connections, result.requests(), result.errors(),
                result.requestsPerSecond(), result.latencyMillis(50), result.latencyMillis(90),
                result.latencyMillis(99), result.latencyMillis(99.9), cpu * 1000.0 / requests,
                redisUsed ? redisCpu * 1000.0 / requests : Double.NaN,
                redisUsed && commands > 0 ? (double) reads / commands : Double.NaN, connects,
                result.errors() == 0 ? "" : errorSample);
    }

    /**
     * Reads and resets the server's error counts ({@code GET /errors}). Right after a run at 256 connections the server
     * may still be working off the load generator's last requests and answer late (a pool too small for the load), so
     * a failed read is retried, and in the end given up: the counts only give the error message of the cell, and are
     * not worth the cells measured so far.
     *
     * @return the server's answer, or empty when it did not give one in {@value #ERRORS_ATTEMPTS} attempts
     */
    private static Optional<String> drainErrors(ChildServer server) throws InterruptedException {
        for (int attempt = 1; attempt <= ERRORS_ATTEMPTS; attempt++) {
            try {
                return Optional.of(server.get("/errors"));
            }
            catch (UncheckedIOException ex) {
                log("  " + server.setup().label() + ": GET /errors failed (attempt " + attempt + "/" + ERRORS_ATTEMPTS
                        + "): " + ex.getCause());
                if (attempt < ERRORS_ATTEMPTS) {
                    Thread.sleep(1000);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * @param errors a server's {@code GET /errors} answer: one line per distinct error, its count, a tab, its message
     * @return the message of the most frequent error, empty without errors
     */
    static String mostFrequent(String errors) {
        return errors.lines().map(line -> line.split("\t", 2)).filter(fields -> fields.length == 2)
                .max(Comparator.comparingLong(fields -> Long.parseLong(fields[0]))).map(fields -> fields[1]).orElse("");
    }

    /** @return {@code length} as a number of seconds, e.g. {@code 0.5} or {@code 2} */
    static String inSeconds(Duration length) {
        return BigDecimal.valueOf(length.toMillis(), 3).stripTrailingZeros().toPlainString();
    }

    private static long delta(Map<String, String> before, Map<String, String> after, String key) {
        return Long.parseLong(after.getOrDefault(key, "0")) - Long.parseLong(before.getOrDefault(key, "0"));
    }

    static void log(String line) {
        System.out.println("[load] " + line);
        System.out.flush();
    }

    /** Writes {@code cells} as tab-separated lines. */
    static void write(List<Cell> cells, Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add(Cell.HEADER);
        cells.forEach(cell -> lines.add(cell.toLine()));
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, lines);
    }

    /** Reads cells written by {@link #write}. */
    static List<Cell> read(Path file) throws IOException {
        return Files.readAllLines(file).stream().skip(1).filter(line -> !line.isBlank()).map(Cell::parse).toList();
    }
}
