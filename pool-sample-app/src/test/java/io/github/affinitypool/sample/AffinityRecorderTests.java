package io.github.affinitypool.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import io.github.affinitypool.core.WorkerLoops;

/** The counts behind {@code GET /affinity}, without Redis: a reply on the caller's thread or on another one. */
class AffinityRecorderTests {

    private final WorkerLoops loops = WorkerLoops.standalone("recorder", 1);

    private final AffinityRecorder recorder = new AffinityRecorder(loops);

    @AfterEach
    void closeLoops() {
        loops.close();
    }

    @Test
    void aReplyOnTheCallersLoopCountsAsSameLoopAndOneFromElsewhereDoesNot() {
        Mono.defer(() -> recorder.track(Mono.just("same")))
                .subscribeOn(loops.scheduler(0)).block(Duration.ofSeconds(5));
        Mono.defer(() -> recorder.track(Mono.just("hop").publishOn(Schedulers.single())))
                .subscribeOn(loops.scheduler(0)).block(Duration.ofSeconds(5));

        AffinityRecorder.WorkerAffinity worker = recorder.report().workers().get(0);
        assertThat(worker.worker()).isEqualTo("0");
        assertThat(worker.requests()).isEqualTo(2);
        assertThat(worker.sameLoop()).isEqualTo(1);
        assertThat(worker.ratio()).isEqualTo(0.5);
    }

    /** A report read while replies are being counted never shows more same-loop replies than requests. */
    @Test
    void aReportReadUnderLoadNeverShowsARatioAboveOne() throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> callers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Thread caller = new Thread(() -> {
                while (!stop.get()) {
                    recorder.track(Mono.just("reply")).block(); // off-loop, the reply on the calling thread
                }
            });
            caller.start();
            callers.add(caller);
        }
        List<AffinityRecorder.WorkerAffinity> aboveOne = new ArrayList<>();
        try {
            for (int reads = 0; reads < 200_000 && aboveOne.isEmpty(); reads++) {
                for (AffinityRecorder.WorkerAffinity row : recorder.report().workers()) {
                    if (row.sameLoop() > row.requests()) {
                        aboveOne.add(row);
                    }
                }
            }
        }
        finally {
            stop.set(true);
            for (Thread caller : callers) {
                caller.join();
            }
        }
        assertThat(aboveOne).isEmpty();
        assertThat(recorder.report().total().ratio()).isEqualTo(1.0);
    }
}
