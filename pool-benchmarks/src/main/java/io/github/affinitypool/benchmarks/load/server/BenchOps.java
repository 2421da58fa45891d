package io.github.affinitypool.benchmarks.load.server;

import java.util.function.Supplier;

import reactor.core.publisher.Mono;

/**
 * The Redis work behind the benchmark's three endpoints, built once per setup with that setup's idiomatic API. Every
 * setup runs the same commands on the same keys, so that only the client stack differs.
 *
 * @param get one GET of {@link #GET_KEY}; emits its value
 * @param set {@code SET bench:set <value>}; emits {@code OK}
 * @param mix three commands one after the other, as a read-modify-write handler issues them: GET bench:get, then SET
 *            bench:set, then INCR bench:counter; emits the value read by the GET
 */
public record BenchOps(Supplier<Mono<String>> get, Supplier<Mono<String>> set, Supplier<Mono<String>> mix) {

    /** The key {@code GET /get} reads; the harness stores {@link #VALUE_SIZE} bytes under it before timing. */
    public static final String GET_KEY = "bench:get";

    /** The key {@code GET /set} writes. */
    public static final String SET_KEY = "bench:set";

    /** The counter the mix increments. */
    public static final String COUNTER_KEY = "bench:counter";

    /** Size of the value read and written. */
    public static final int VALUE_SIZE = 100;

    /** The 100-byte value, the same in the server and the harness. */
    public static final String VALUE = value();

    private static String value() {
        StringBuilder value = new StringBuilder(VALUE_SIZE);
        for (int i = 0; value.length() < VALUE_SIZE; i++) {
            value.append((char) ('a' + i % 26));
        }
        return value.toString();
    }
}
