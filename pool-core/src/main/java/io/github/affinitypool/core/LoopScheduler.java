package io.github.affinitypool.core;

import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import io.netty.channel.EventLoop;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.scheduler.Scheduler;

/**
 * A Reactor {@link Scheduler} over one worker's Netty {@link EventLoop}.
 * <p>
 * A task scheduled while already on the loop runs inline, so hopping "back" to the current loop costs nothing.
 * Unlike {@code Schedulers.fromExecutor(loop)}, disposing this scheduler (or its workers) only stops accepting
 * tasks; the loop itself is never shut down, because it belongs to the server or to {@link WorkerLoops}.
 */
public final class LoopScheduler implements Scheduler {

    private final EventLoop loop;
    private final int worker;
    private volatile boolean disposed;

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
        return submit(task);
    }

    @Override
    public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
        checkAccepting();
        return cancelling(loop.schedule(task, delay, unit));
    }

    @Override
    public Disposable schedulePeriodically(Runnable task, long initialDelay, long period, TimeUnit unit) {
        checkAccepting();
        return cancelling(loop.scheduleAtFixedRate(task, initialDelay, period, unit));
    }

    private Disposable submit(Runnable task) {
        checkAccepting();
        return cancelling(loop.submit(task));
    }

    private void checkAccepting() {
        if (disposed || loop.isShuttingDown()) {
            throw new RejectedExecutionException("Scheduler of worker " + worker + " is disposed");
        }
    }

    private static Disposable cancelling(Future<?> future) {
        return () -> future.cancel(false);
    }

    @Override
    public Worker createWorker() {
        return new LoopWorker();
    }

    /** Stops accepting tasks; never shuts the event loop down. */
    @Override
    public void dispose() {
        disposed = true;
    }

    @Override
    public boolean isDisposed() {
        return disposed;
    }

    @Override
    public String toString() {
        return "LoopScheduler{worker=" + worker + ", loop=" + loop + "}";
    }

    /** A worker whose dispose cancels only the tasks it scheduled. */
    private final class LoopWorker implements Worker {

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
            return track(LoopScheduler.this.submit(task));
        }

        @Override
        public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
            return track(LoopScheduler.this.schedule(task, delay, unit));
        }

        @Override
        public Disposable schedulePeriodically(Runnable task, long initialDelay, long period, TimeUnit unit) {
            return track(LoopScheduler.this.schedulePeriodically(task, initialDelay, period, unit));
        }

        private Disposable track(Disposable task) {
            if (!tasks.add(task)) {
                task.dispose();
                throw new RejectedExecutionException("Worker is disposed");
            }
            return task;
        }

        @Override
        public void dispose() {
            tasks.dispose();
        }

        @Override
        public boolean isDisposed() {
            return tasks.isDisposed();
        }
    }
}
