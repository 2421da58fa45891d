package io.github.affinitypool.core;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class LoopSchedulerTest {

    private final WorkerLoops loops = WorkerLoops.standalone("scheduler-test", 2);

    @AfterEach
    void close() {
        loops.close();
    }

    @Test
    void runsInlineOnItsLoopAndHopsOtherwise() throws InterruptedException {
        LoopScheduler scheduler = loops.scheduler(1);
        Thread loopThread = Mono.fromCallable(Thread::currentThread).subscribeOn(scheduler)
                .block(Duration.ofSeconds(5));
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        CountDownLatch ran = new CountDownLatch(1);

        loops.loop(1).execute(() -> {
            AtomicReference<Thread> inline = new AtomicReference<>();
            scheduler.schedule(() -> inline.set(Thread.currentThread()));
            ranOn.set(inline.get()); // set synchronously only when the task ran inline
            ran.countDown();
        });

        assertThat(ran.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(ranOn.get()).isSameAs(loopThread);
        assertThat(Thread.currentThread()).isNotSameAs(loopThread);
    }

    @Test
    void disposingTheSharedSchedulerNeitherStopsItNorShutsTheLoopDown() {
        // A user disposing the scheduler handed out for worker 0 must not stop the pools that schedule on it.
        loops.scheduler(0).dispose();

        assertThat(loops.scheduler(0).isDisposed()).isFalse();
        assertThat(loops.loop(0).isShuttingDown()).isFalse();
        assertThat(Mono.just(1).subscribeOn(loops.scheduler(0)).block(Duration.ofSeconds(5))).isEqualTo(1);
        assertThat(Mono.delay(Duration.ofMillis(1), loops.scheduler(0)).block(Duration.ofSeconds(5))).isZero();
    }

    @Test
    void aWorkerForgetsTasksThatRanOrWereCancelled() {
        LoopScheduler.LoopWorker worker = (LoopScheduler.LoopWorker) loops.scheduler(0).createWorker();
        AtomicInteger runs = new AtomicInteger();

        for (int i = 0; i < 100; i++) {
            worker.schedule(runs::incrementAndGet);
        }
        Disposable later = worker.schedule(runs::incrementAndGet, 1, TimeUnit.HOURS);
        await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() == 100 && worker.pendingTasks() == 1);
        later.dispose();

        await().atMost(Duration.ofSeconds(5)).until(() -> worker.pendingTasks() == 0);
        assertThat(worker.isDisposed()).isFalse();
    }

    @Test
    void disposingAWorkerCancelsOnlyItsOwnTasks() {
        Scheduler scheduler = loops.scheduler(0);
        Scheduler.Worker first = scheduler.createWorker();
        Scheduler.Worker second = scheduler.createWorker();
        AtomicInteger runs = new AtomicInteger();
        first.schedule(runs::incrementAndGet, 50, TimeUnit.MILLISECONDS);
        second.schedule(runs::incrementAndGet, 50, TimeUnit.MILLISECONDS);

        first.dispose();

        await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() == 1);
        assertThatThrownBy(() -> first.schedule(runs::incrementAndGet)).isInstanceOf(RejectedExecutionException.class);
        assertThat(second.isDisposed()).isFalse();
    }

    @Test
    void aTaskThatDisposesItsWorkerBeforeSubmissionReturnsIsNotRejected() {
        // What subscribeOn does: the scheduled task completes the subscription, which disposes the worker, possibly
        // before schedule(..) has returned on the submitting thread. That task was accepted and ran.
        for (int i = 0; i < 2000; i++) {
            Scheduler.Worker worker = loops.scheduler(i % 2).createWorker();
            assertThatCode(() -> worker.schedule(worker::dispose)).doesNotThrowAnyException();
        }
    }
}
