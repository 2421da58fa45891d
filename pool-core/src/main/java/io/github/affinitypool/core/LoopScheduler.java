package io.github.affinitypool.core;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.scheduler.Scheduler;

/**
 * A Reactor {@link Scheduler} over one worker's Netty {@link EventLoop}.
 * <p>
 * A task scheduled while already on the loop runs inline, so hopping "back" to the current loop costs nothing.
 * Unlike {@code Schedulers.fromExecutor(loop)}, it never shuts the loop down, because the loop belongs to the server or
 * to {@link WorkerLoops}. One instance per worker is shared by everything that schedules on that worker (the pools
 * included), so, like Reactor's shared {@code Schedulers.parallel()}, disposing it does nothing: it stops accepting
 * tasks when its loop shuts down. Disposing one of its workers cancels that worker's tasks only.
 */
public final class LoopScheduler implements Scheduler {

    private final EventLoop loop;
    private final int worker;

    LoopScheduler(EventLoop loop, int worker) {
        this.loop = loop;
        this.worker = worker;
    }

    /** @return the event loop tasks run on */
    public EventLoop loop() {
        return loop;
    }

    /** @return the worker index of the loop */
    public int worker() {
        return worker;
    }

    @Override
    public Disposable schedule(Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
            return Disposables.disposed();
        }
        return cancelling(submit(task));
    }

    @Override
    public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
        return cancelling(submit(task, delay, unit));
    }

    @Override
    public Disposable schedulePeriodically(Runnable task, long initialDelay, long period, TimeUnit unit) {
        return cancelling(submitPeriodically(task, initialDelay, period, unit));
    }

    private Future<?> submit(Runnable task) {
        checkAccepting();
        return loop.submit(task);
    }

    private Future<?> submit(Runnable task, long delay, TimeUnit unit) {
        checkAccepting();
        return loop.schedule(task, delay, unit);
    }

    private Future<?> submitPeriodically(Runnable task, long initialDelay, long period, TimeUnit unit) {
        checkAccepting();
        return loop.scheduleAtFixedRate(task, initialDelay, period, unit);
    }

    private void checkAccepting() {
        if (loop.isShuttingDown()) {
            throw new RejectedExecutionException("Scheduler of worker " + worker + " is disposed: its loop shuts down");
        }
    }

    private static Disposable cancelling(Future<?> future) {
        return () -> future.cancel(false);
    }

    @Override
    public Worker createWorker() {
        return new LoopWorker();
    }

    /** Does nothing: the scheduler is shared, and lives as long as its loop (which this never shuts down). */
    @Override
    public void dispose() {
    }

    /** @return whether the loop shuts down, so that the scheduler accepts no more tasks */
    @Override
    public boolean isDisposed() {
        return loop.isShuttingDown();
    }

    @Override
    public String toString() {
        return "LoopScheduler{worker=" + worker + ", loop=" + loop + "}";
    }

    /**
     * A worker whose dispose cancels only the tasks it scheduled. A task leaves the worker's set once it has run or was
     * cancelled, so a long-lived worker does not accumulate finished tasks.
     */
    final class LoopWorker implements Worker {

        private final Disposable.Composite tasks = Disposables.composite();

        @Override
        public Disposable schedule(Runnable task) {
            if (tasks.isDisposed()) {
                throw new RejectedExecutionException("Worker is disposed");
            }
            if (loop.inEventLoop()) {
                task.run();
                return Disposables.disposed();
            }
            return track(() -> submit(task));
        }

        @Override
        public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
            return track(() -> submit(task, delay, unit));
        }

        @Override
        public Disposable schedulePeriodically(Runnable task, long initialDelay, long period, TimeUnit unit) {
            return track(() -> submitPeriodically(task, initialDelay, period, unit));
        }

        /**
         * Registers the task before submitting it: a task may run, and its completion dispose this worker, before
         * {@code submit} even returns, which must not turn into a rejection of a task that was accepted.
         */
        private Disposable track(Supplier<Future<?>> submit) {
            Disposable.Swap tracked = Disposables.swap();
            if (!tasks.add(tracked)) {
                throw new RejectedExecutionException("Worker is disposed");
            }
            Future<?> future;
            try {
                future = submit.get();
            }
            catch (RejectedExecutionException rejected) {
                tasks.remove(tracked);
                throw rejected;
            }
            // Cancels the task at once if the worker was disposed in the meantime.
            tracked.update(cancelling(future));
            // A periodic task's future completes only when it is cancelled.
            future.addListener(done -> tasks.remove(tracked));
            return tracked;
        }

        @Override
        public void dispose() {
            tasks.dispose();
        }

        @Override
        public boolean isDisposed() {
            return tasks.isDisposed();
        }

        /** @return tasks scheduled and neither run nor cancelled yet */
        int pendingTasks() {
            return tasks.size();
        }
    }
}
