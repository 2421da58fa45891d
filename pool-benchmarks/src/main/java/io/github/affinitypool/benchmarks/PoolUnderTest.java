package io.github.affinitypool.benchmarks;

/**
 * One pool implementation driven by {@link AcquireReleaseBenchmark}: a single acquire of an idle stub resource
 * followed by its release, always called on the event loop of {@code worker}.
 */
interface PoolUnderTest extends AutoCloseable {

    /**
     * Acquires a resource and releases it again, then runs {@code done} (possibly later, from the pool's thread).
     *
     * @param worker the worker whose loop the call runs on
     * @param done run once the release finished
     */
    void acquireRelease(int worker, Runnable done);

    @Override
    void close() throws Exception;
}
