package io.github.affinitypool.benchmarks.load;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import io.netty.buffer.ByteBuf;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;

/**
 * The built-in load generator for machines without wrk: a Reactor Netty {@link HttpClient} on two event loops of its
 * own, {@code connections} virtual users each sending its next request when the previous response has been read,
 * over exactly {@code connections} keep-alive connections. Latency goes into an HdrHistogram {@link Recorder}, and is
 * then corrected for coordinated omission the way wrk corrects its own ({@link #correctedLikeWrk}).
 */
final class ReactorNettyDriver implements LoadDriver {

    private final LoopResources loops = LoopResources.create("bench-load", 2, true);

    @Override
    public String describe() {
        return "built-in Reactor Netty HTTP client (2 event loops, HdrHistogram; "
                + "wrk's coordinated-omission correction)";
    }

    @Override
    public LoadResult run(String url, int connections, Duration duration) {
        ConnectionProvider provider = ConnectionProvider.builder("bench-load")
                .maxConnections(connections)
                .pendingAcquireMaxCount(-1)
                .build();
        try {
            HttpClient client = HttpClient.create(provider).runOn(loops);
            Recorder recorder = new Recorder(LoadResult.MAX_LATENCY_MICROS, 3);
            AtomicLong requests = new AtomicLong();
            AtomicLong errors = new AtomicLong();
            long start = System.nanoTime();
            long deadline = start + duration.toNanos();
            Mono<Void> oneRequest = Mono.defer(() -> {
                long sent = System.nanoTime();
                return client.get().uri(url)
                        .responseSingle((response, body) -> body.map(ByteBuf::readableBytes).defaultIfEmpty(0)
                                .thenReturn(response.status().code()))
                        .doOnNext(status -> {
                            if (status / 100 != 2) {
                                errors.incrementAndGet();
                            }
                        })
                        .onErrorResume(error -> {
                            errors.incrementAndGet();
                            return Mono.empty();
                        })
                        .doFinally(signal -> {
                            recorder.recordValue(
                                    Math.min((System.nanoTime() - sent) / 1000, LoadResult.MAX_LATENCY_MICROS));
                            requests.incrementAndGet();
                        })
                        .then();
            });
            Flux.range(0, connections)
                    .flatMap(user -> oneRequest.repeat(() -> System.nanoTime() < deadline), connections)
                    .blockLast(duration.plusSeconds(30));
            long elapsed = System.nanoTime() - start;
            return new LoadResult(requests.get(), errors.get(), elapsed,
                    correctedLikeWrk(recorder.getIntervalHistogram(), requests.get(), elapsed, connections));
        }
        finally {
            provider.disposeLater().block(Duration.ofSeconds(10));
        }
    }

    /**
     * Corrects {@code raw} for coordinated omission as wrk 4.1 does before its {@code done} script reads the latencies
     * ({@code src/wrk.c}, {@code src/stats.c}), so that both drivers report the same kind of percentile. A connection
     * waiting on a slow answer does not send the requests it would otherwise have sent meanwhile. wrk takes the mean
     * interval between two requests of one connection, {@code runtime_us / (complete / connections)} in integer
     * arithmetic, and for every latency L of at least twice that interval adds the samples those requests would have
     * measured: L - interval, L - 2 interval, ... down to the interval. HdrHistogram's correction is the same loop,
     * except that it also counts a sample exactly at the interval.
     */
    static Histogram correctedLikeWrk(Histogram raw, long requests, long durationNanos, int connections) {
        long perConnection = requests / connections;
        if (perConnection == 0) {
            return raw; // wrk leaves a run without a request per connection uncorrected
        }
        return raw.copyCorrectedForCoordinatedOmission(durationNanos / 1000 / perConnection);
    }

    @Override
    public void close() {
        loops.disposeLater().block(Duration.ofSeconds(10));
    }
}
