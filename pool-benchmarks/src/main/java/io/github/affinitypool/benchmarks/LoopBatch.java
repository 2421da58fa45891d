package io.github.affinitypool.benchmarks;

import java.util.concurrent.CompletableFuture;

import io.netty.channel.EventLoop;

/**
 * Runs a batch of acquire/release operations one after another on one event loop.
 * <p>
 * Operations that complete synchronously are run in a plain loop (no recursion, so a synchronous pool cannot blow
 * the stack); an operation that completes later resumes the batch on the loop.
 */
final class LoopBatch {

    private final EventLoop loop;
    private final PoolUnderTest pool;
    private final int worker;
    private final CompletableFuture<Void> finished = new CompletableFuture<>();
    private int remaining;
    private boolean inline;
    private boolean operationDone;

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
                inline = true;
                operationDone = false;
                pool.acquireRelease(worker, this::onOperationDone);
                inline = false;
                if (!operationDone) {
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
        operationDone = true;
        if (!inline) {
            loop.execute(this::resume);
        }
    }
}
