package io.github.affinitypool.redis;

import java.util.concurrent.RejectedExecutionException;

import io.netty.channel.EventLoop;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.WorkerLoops;

/**
 * Running a task, or signalling an error, on a given event loop: for the classes whose state is confined to one loop,
 * and for the callers who must hear of a failure on their own loop.
 */
final class EventLoopTasks {

    private EventLoopTasks() {
    }

    /** Runs {@code task} on {@code loop}: inline when already there, or here when the loop has shut down. */
    static void runOn(EventLoop loop, Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        }
        catch (RejectedExecutionException shutDown) {
            task.run();
        }
    }

    /**
     * An error for a caller that subscribed on {@code worker}'s loop, signalled there. Lettuce fails a timed-out
     * command on its computation thread, which all workers share: what the caller chains on the error (a fallback,
     * the HTTP response, another {@code commands()} call, which would otherwise count as off-loop) must run where its
     * replies would have, and nothing of the caller's may run on the thread that times out every worker's commands.
     *
     * @param loops the worker loops
     * @param worker the caller's worker
     * @param error the failure
     * @return {@code error}, signalled on the worker's loop (at once when already there)
     */
    static <T> Mono<T> errorOn(WorkerLoops loops, int worker, Throwable error) {
        Mono<T> failed = Mono.error(error);
        return loops.currentWorker() == worker ? failed : failed.publishOn(loops.scheduler(worker));
    }

    /** Like {@link #errorOn}, for a caller of a {@link Flux}. */
    static <T> Flux<T> errorManyOn(WorkerLoops loops, int worker, Throwable error) {
        Flux<T> failed = Flux.error(error);
        return loops.currentWorker() == worker ? failed : failed.publishOn(loops.scheduler(worker));
    }
}
