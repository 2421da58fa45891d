package io.github.affinitypool.benchmarks;

/** A resource with no I/O, so that a benchmark measures only the pool's own overhead. */
final class StubResource {

    private final int id;

    StubResource(int id) {
        this.id = id;
    }

    int id() {
        return id;
    }
}
