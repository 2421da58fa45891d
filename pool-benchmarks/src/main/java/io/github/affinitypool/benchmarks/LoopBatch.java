package io.github.affinitypool.benchmarks;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import io.netty.channel.EventLoop;

/**
 * Runs a batch of acquire/release operations one after another on one event loop.
 * <p>
 * Operations that complete synchronously are run in a plain loop (no recursion, so a synchronous pool cannot blow
 * the stack); an operation that completes later — possibly on another thread, as a pool shared by several loops
 * delivers a resource on whichever thread released it — resumes the batch on the loop. Whether an operation completed
 * before its caller returned is settled by one compare-and-set on {@link #state}, so that a completion racing with the
 * caller's return neither loses the batch nor runs it twice.
 */
final class LoopBatch {

    /** The current operation is running, started by {@link #resume()}. */
    private static final int RUNNING = 0;

    /** The current operation completed before {@link #resume()} returned from it: resume continues the loop. */
    private static final int DONE_INLINE = 1;

    /** {@link #resume()} returned before the operation completed: the completion resumes the batch on the loop. */
    private static final int LEFT = 2;

    private final EventLoop loop;
    private final PoolUnderTest pool;
    private final int worker;
    private final CompletableFuture<Void> finished = new CompletableFuture<>();
    private final AtomicInteger state = new AtomicInteger();
    /** Written by the completing thread before its compare-and-set, read by the loop after it: no race. */
    private int remaining;

    private LoopBatch(EventLoop loop, PoolUnderTest pool, int worker, int operations) {
        this.loop = loop;
        this.pool = pool;
        this.worker = worker;
        this.remaining = operations;
    }

    /** Runs {@code operations} acquire/release pairs on {@code loop} and returns when all finished. */
    static void run(EventLoop loop, PoolUnderTest pool, int worker, int operations) {
        LoopBatch batch = new LoopBatch(loop, pool, worker, operations);
        loop.execute(batch::resume);
        batch.finished.join();
    }

    private void resume() {
        try {
            while (remaining > 0) {
                state.set(RUNNING);
                pool.acquireRelease(worker, this::onOperationDone);
                if (state.compareAndSet(RUNNING, LEFT)) {
                    return;
                }
            }
            finished.complete(null);
        }
        catch (Throwable ex) {
            finished.completeExceptionally(ex);
        }
    }

    private void onOperationDone() {
        remaining--;
        if (!state.compareAndSet(RUNNING, DONE_INLINE)) {
            loop.execute(this::resume);
        }
    }
}
