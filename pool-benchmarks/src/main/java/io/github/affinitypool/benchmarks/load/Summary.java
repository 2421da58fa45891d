package io.github.affinitypool.benchmarks.load;

import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * The median over the rounds of one setup, scenario and concurrency.
 *
 * @param perRound    the requests per second of each round, in round order (shows drift)
 * @param errors      errors summed over the rounds
 * @param errorSample the most frequent error message of the round with the most errors, empty without errors
 */
record Summary(Setup setup, Scenario scenario, int connections, double requestsPerSecond, List<Double> perRound,
        double p50, double p90, double p99, double p999, double appCpuPer1k, double redisCpuPer1k,
        double readsPerCommand, double redisConnects, long errors, long requests, String errorSample) {

    /** @return the summaries of {@code cells}, keyed by {@link #key} */
    static Map<String, Summary> of(List<Cell> cells) {
        Map<String, List<Cell>> groups = cells.stream().collect(Collectors.groupingBy(
                cell -> key(cell.setup(), cell.scenario(), cell.connections()), LinkedHashMap::new,
                Collectors.toList()));
        Map<String, Summary> summaries = new LinkedHashMap<>();
        groups.forEach((key, group) -> {
            List<Cell> rounds = group.stream().sorted(Comparator.comparingInt(Cell::round)).toList();
            Cell first = rounds.get(0);
            summaries.put(key, new Summary(first.setup(), first.scenario(), first.connections(),
                    median(rounds, Cell::requestsPerSecond), rounds.stream().map(Cell::requestsPerSecond).toList(),
                    median(rounds, Cell::p50), median(rounds, Cell::p90), median(rounds, Cell::p99),
                    median(rounds, Cell::p999), median(rounds, Cell::appCpuPer1k), median(rounds, Cell::redisCpuPer1k),
                    median(rounds, Cell::readsPerCommand), median(rounds, Cell::redisConnects),
                    rounds.stream().mapToLong(Cell::errors).sum(), rounds.stream().mapToLong(Cell::requests).sum(),
                    rounds.stream().filter(cell -> !cell.errorSample().isEmpty())
                            .max(Comparator.comparingLong(Cell::errors)).map(Cell::errorSample).orElse("")));
        });
        return summaries;
    }

    static String key(Setup setup, Scenario scenario, int connections) {
        return setup + "/" + scenario + "/" + connections;
    }

    private static double median(List<Cell> cells, ToDoubleFunction<Cell> metric) {
        double[] values = cells.stream().mapToDouble(metric).filter(value -> !Double.isNaN(value)).sorted().toArray();
        if (values.length == 0) {
            return Double.NaN;
        }
        int middle = values.length / 2;
        return values.length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }

    /** @return the error rate over all rounds, 0–1 */
    double errorRate() {
        return requests == 0 ? 0 : (double) errors / requests;
    }

    @Override
    public String toString() {
        return key(setup, scenario, connections) + " " + requestsPerSecond + " req/s "
                + Arrays.toString(perRound.toArray());
    }
}
