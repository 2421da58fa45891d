package io.github.affinitypool.benchmarks.load;

/** The request shapes, each an endpoint of {@code BenchServer}. */
enum Scenario {

    /** GET of one 100-byte key. */
    GET("/get", "GET one 100-byte key"),
    /** SET of one 100-byte value. */
    SET("/set", "SET one 100-byte value"),
    /** GET, then SET, then INCR, one after the other. */
    MIX("/mix", "3-command mix: GET, then SET, then INCR");

    private final String path;

    private final String description;

    Scenario(String path, String description) {
        this.path = path;
        this.description = description;
    }

    String path() {
        return path;
    }

    String description() {
        return description;
    }
}
