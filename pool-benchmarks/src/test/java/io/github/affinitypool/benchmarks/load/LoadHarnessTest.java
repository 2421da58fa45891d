package io.github.affinitypool.benchmarks.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** The load harness's own arithmetic, without a server or a load generator. */
class LoadHarnessTest {

    @Test
    void builtInLatenciesAreCorrectedForCoordinatedOmissionLikeWrk() {
        Histogram raw = LoadResult.newHistogram();
        raw.recordValueWithCount(1000, 99);
        raw.recordValue(10_000);
        // 100 requests on 1 connection in 109.9 ms: wrk's interval is 109,900 / 100 = 1,099 µs, and the 10 ms answer
        // stands in for the 8 requests the connection would have sent meanwhile (waiting about 8.9 ms down to 1.2 ms)
        Histogram corrected = ReactorNettyDriver.correctedLikeWrk(raw, 100, 109_900_000L, 1);
        assertEquals(108, corrected.getTotalCount());
        assertEquals(1000, raw.getValueAtPercentile(99));
        assertTrue(corrected.getValueAtPercentile(99) > 8_000, "p99 " + corrected.getValueAtPercentile(99));
    }

    @Test
    void runWithoutARequestPerConnectionIsNotCorrected() {
        Histogram raw = LoadResult.newHistogram();
        raw.recordValueWithCount(10_000, 5);
        assertEquals(5, ReactorNettyDriver.correctedLikeWrk(raw, 5, 50_000_000L, 8).getTotalCount());
    }

    @Test
    void errorSampleIsTheMostFrequentError() {
        assertEquals("B: frequent", LoadBenchmark.mostFrequent("2\tA: rare\n5\tB: frequent\n1\tC: once\n"));
        assertEquals("", LoadBenchmark.mostFrequent(""));
    }

    @Test
    void lengthsAreShownInSecondsWithoutRounding() {
        assertEquals("0.5", LoadBenchmark.inSeconds(Duration.ofMillis(500)));
        assertEquals("2", LoadBenchmark.inSeconds(Duration.ofSeconds(2)));
        assertEquals("10", LoadBenchmark.inSeconds(Duration.ofSeconds(10)));
    }
}
