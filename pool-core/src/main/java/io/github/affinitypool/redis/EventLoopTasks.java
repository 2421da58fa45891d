package io.github.affinitypool.redis;

import java.util.concurrent.RejectedExecutionException;

import io.netty.channel.EventLoop;

/** Running a task on a given event loop, for the classes whose state is confined to one loop. */
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
}
