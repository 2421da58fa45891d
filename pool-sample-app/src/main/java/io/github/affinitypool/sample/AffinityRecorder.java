package io.github.affinitypool.sample;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

import io.github.affinitypool.core.WorkerLoops;
import reactor.core.publisher.Mono;

/**
 * Counts, per worker, the requests that went to Redis and how many of their replies were delivered on the
 * request's own event loop thread: the product's point, made visible by {@code GET /affinity}. Only calls that got a
 * reply count: a failed call says nothing about where replies are decoded.
 */
public final class AffinityRecorder {

    private final WorkerLoops loops;

    /** Index {@code loops.size()} counts requests that did not run on a worker loop. */
    private final AtomicLongArray requests;

    private final AtomicLongArray sameLoop;

    public AffinityRecorder(WorkerLoops loops) {
        this.loops = loops;
        this.requests = new AtomicLongArray(loops.size() + 1);
        this.sameLoop = new AtomicLongArray(loops.size() + 1);
    }

    /**
     * Wraps a Redis call: remembers the subscribing (request) thread and compares it with the thread that delivers
     * the reply.
     */
    public <T> Mono<T> track(Mono<T> redisCall) {
        return Mono.defer(() -> {
            Thread requestThread = Thread.currentThread();
            int worker = loops.currentWorker();
            int slot = (worker >= 0) ? worker : loops.size();
            return redisCall.doOnSuccess(reply -> {
                requests.incrementAndGet(slot);
                if (Thread.currentThread() == requestThread) {
                    sameLoop.incrementAndGet(slot);
                }
            });
        });
    }

    /** @return the counts per worker and in total */
    public Report report() {
        List<WorkerAffinity> workers = new ArrayList<>();
        long totalRequests = 0;
        long totalSame = 0;
        for (int slot = 0; slot <= loops.size(); slot++) {
            // Same-loop replies first: a reply counted between the two reads then raises only the requests, and
            // the ratio never goes above 1 (each reply counts its request before its same-loop mark).
            long s = sameLoop.get(slot);
            long r = requests.get(slot);
            totalRequests += r;
            totalSame += s;
            if (slot < loops.size() || r > 0) {
                workers.add(new WorkerAffinity((slot < loops.size()) ? Integer.toString(slot) : "off-loop", r, s,
                        ratio(s, r)));
            }
        }
        return new Report(workers,
                new WorkerAffinity("total", totalRequests, totalSame, ratio(totalSame, totalRequests)));
    }

    private static double ratio(long same, long requests) {
        return (requests == 0) ? 0.0 : (double) same / requests;
    }

    /**
     * @param worker worker index, {@code off-loop} or {@code total}
     * @param requests Redis calls made by requests on that worker
     * @param sameLoop replies delivered on the request's own loop thread
     * @param ratio {@code sameLoop / requests}
     */
    public record WorkerAffinity(String worker, long requests, long sameLoop, double ratio) {
    }

    /**
     * @param workers per worker
     * @param total over all workers
     */
    public record Report(List<WorkerAffinity> workers, WorkerAffinity total) {
    }
}
