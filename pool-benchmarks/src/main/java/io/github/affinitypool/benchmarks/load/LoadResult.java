package io.github.affinitypool.benchmarks.load;

import org.HdrHistogram.Histogram;

/**
 * What one load-generator run measured.
 *
 * @param requests      requests sent, errors included (wrk: completed ones plus those that met a socket error)
 * @param errors        requests that failed: non-2xx answers, timeouts, socket errors
 * @param durationNanos how long the run generated load
 * @param latencyMicros latency of every completed request, in microseconds, corrected for coordinated omission the
 *                      way wrk corrects it (see {@link ReactorNettyDriver#correctedLikeWrk})
 */
record LoadResult(long requests, long errors, long durationNanos, Histogram latencyMicros) {

    /** Highest latency the histograms track: 60 s. */
    static final long MAX_LATENCY_MICROS = 60_000_000L;

    static Histogram newHistogram() {
        return new Histogram(MAX_LATENCY_MICROS, 3);
    }

    /** @return successful requests per second */
    double requestsPerSecond() {
        return (requests - errors) * 1e9 / durationNanos;
    }

    /** @return the latency at {@code percentile} (0–100), in milliseconds */
    double latencyMillis(double percentile) {
        return latencyMicros.getValueAtPercentile(percentile) / 1000.0;
    }
}
