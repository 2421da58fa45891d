package io.github.affinitypool.benchmarks.load;

import java.time.Duration;
import java.util.Optional;

/** A closed-loop HTTP load generator: each connection sends its next request as soon as the previous one answered. */
interface LoadDriver extends AutoCloseable {

    /** @return a short description for the report, e.g. {@code wrk 4.1.0} */
    String describe();

    /**
     * Drives {@code url} over {@code connections} keep-alive connections for {@code duration}.
     *
     * @return what was measured
     */
    LoadResult run(String url, int connections, Duration duration) throws Exception;

    /**
     * @param duration a length of load the options ask for
     * @return why this driver cannot drive load for exactly {@code duration}, or empty when it can
     */
    default Optional<String> refusal(Duration duration) {
        return Optional.empty();
    }

    @Override
    default void close() {
    }

    /**
     * @param choice {@code wrk}, {@code builtin} or {@code auto} (wrk when it is on {@code PATH}, else builtin)
     * @return the driver
     */
    static LoadDriver create(String choice) {
        return switch (choice) {
            case "wrk" -> WrkDriver.create().orElseThrow(() -> new IllegalStateException("wrk is not on PATH"));
            case "builtin" -> new ReactorNettyDriver();
            case "auto" -> WrkDriver.create().<LoadDriver>map(wrk -> wrk).orElseGet(ReactorNettyDriver::new);
            default -> throw new IllegalArgumentException("Unknown driver '" + choice + "': use wrk, builtin or auto");
        };
    }
}
