package io.github.affinitypool.benchmarks.load;

import java.util.Locale;

/**
 * One measurement: a setup under one scenario at one concurrency, in one round.
 *
 * @param round             0-based round; even rounds ran the setups forward, odd rounds backward
 * @param setup             the setup
 * @param scenario          the request shape
 * @param connections       concurrent HTTP connections of the load generator
 * @param requests          completed requests, errors included
 * @param errors            failed requests
 * @param requestsPerSecond successful requests per second
 * @param p50               median latency, ms
 * @param p90               90th percentile latency, ms
 * @param p99               99th percentile latency, ms
 * @param p999              99.9th percentile latency, ms
 * @param appCpuPer1k       CPU time of the application JVM per 1,000 requests, ms
 * @param redisCpuPer1k     CPU time of redis-server per 1,000 requests, ms ({@code NaN} without Redis)
 * @param readsPerCommand   Redis reads ({@code total_reads_processed}) per command processed ({@code NaN} without
 *                          Redis)
 * @param redisConnects     connections Redis accepted during the measurement (a pool opening connections)
 * @param errorSample       the most frequent error message, empty without errors
 */
record Cell(int round, Setup setup, Scenario scenario, int connections, long requests, long errors,
        double requestsPerSecond, double p50, double p90, double p99, double p999, double appCpuPer1k,
        double redisCpuPer1k, double readsPerCommand, long redisConnects, String errorSample) {

    static final String HEADER = String.join("\t", "round", "setup", "scenario", "connections", "requests", "errors",
            "req_per_s", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "app_cpu_ms_per_1k", "redis_cpu_ms_per_1k",
            "redis_reads_per_cmd", "redis_connects", "error_sample");

    /** @return this cell as one tab-separated line under {@link #HEADER} */
    String toLine() {
        return String.join("\t", Integer.toString(round), setup.name(), scenario.name(), Integer.toString(connections),
                Long.toString(requests), Long.toString(errors), number(requestsPerSecond), number(p50), number(p90),
                number(p99), number(p999), number(appCpuPer1k), number(redisCpuPer1k), number(readsPerCommand),
                Long.toString(redisConnects), errorSample.replace('\t', ' ').replace('\n', ' '));
    }

    /** @param line a line written by {@link #toLine()} */
    static Cell parse(String line) {
        String[] f = line.split("\t", -1);
        return new Cell(Integer.parseInt(f[0]), Setup.valueOf(f[1]), Scenario.valueOf(f[2]), Integer.parseInt(f[3]),
                Long.parseLong(f[4]), Long.parseLong(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7]),
                Double.parseDouble(f[8]), Double.parseDouble(f[9]), Double.parseDouble(f[10]),
                Double.parseDouble(f[11]), Double.parseDouble(f[12]), Double.parseDouble(f[13]), Long.parseLong(f[14]),
                f.length > 15 ? f[15] : "");
    }

    private static String number(double value) {
        return Double.isNaN(value) ? "NaN" : String.format(Locale.ROOT, "%.4f", value);
    }
}
