package io.github.affinitypool.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import reactor.core.publisher.Mono;
import reactor.netty.resources.LoopResources;

/**
 * The ordered worker event loops of a Reactor Netty {@link LoopResources} group.
 * <p>
 * Worker {@code i} is the {@code i}-th child of the group. Each loop thread is tagged with its index in a Netty
 * {@link FastThreadLocal} when the instance is created, so {@link #currentWorker()} answers in O(1) instead of
 * scanning {@code inEventLoop()} over every loop.
 * <ul>
 *     <li><em>Integrated</em> ({@link #integrated(LoopResources, boolean)}): the loops of an existing group, for
 *     example the WebFlux server's; they are never shut down by this class.</li>
 *     <li><em>Standalone</em> ({@link #standalone(String, int)}): a small {@link LoopResources} created and owned by
 *     this instance, disposed by {@link #close()}.</li>
 * </ul>
 */
public final class WorkerLoops implements AutoCloseable {

    /** Upper bound for tagging the loop threads at start-up; a healthy loop runs the task in microseconds. */
    private static final Duration TAGGING_TIMEOUT = Duration.ofSeconds(10);

    private final LoopResources loopResources;
    private final boolean preferNative;
    private final boolean owned;
    private final EventLoopGroup group;
    private final List<EventLoop> loops;
    private final List<LoopScheduler> schedulers;
    private final FastThreadLocal<Integer> workerIndex = new FastThreadLocal<>() {
        @Override
        protected Integer initialValue() {
            return -1;
        }
    };
    private final AtomicInteger roundRobin = new AtomicInteger();

    private WorkerLoops(LoopResources loopResources, boolean preferNative, boolean owned) {
        this.loopResources = loopResources;
        this.preferNative = preferNative;
        this.owned = owned;
        this.group = loopResources.onServer(preferNative);
        List<EventLoop> children = new ArrayList<>();
        for (EventExecutor executor : group) {
            children.add((EventLoop) executor);
        }
        if (children.isEmpty()) {
            throw new IllegalArgumentException("LoopResources group " + group + " has no event loops");
        }
        this.loops = Collections.unmodifiableList(children);
        List<LoopScheduler> loopSchedulers = new ArrayList<>(children.size());
        for (int i = 0; i < children.size(); i++) {
            loopSchedulers.add(new LoopScheduler(children.get(i), i));
        }
        this.schedulers = Collections.unmodifiableList(loopSchedulers);
        tagLoopThreads();
    }

    /**
     * Workers on the loops of an existing group (for example the WebFlux server's), which stay owned by the caller.
     *
     * @param loopResources the loop resources whose {@code onServer(preferNative)} group provides the workers
     * @param preferNative the native flag the server uses (usually {@link LoopResources#DEFAULT_NATIVE})
     * @return the worker loops, never shutting the group down
     */
    public static WorkerLoops integrated(LoopResources loopResources, boolean preferNative) {
        return new WorkerLoops(loopResources, preferNative, false);
    }

    /**
     * Workers on a new, owned group of {@code workers} daemon loops, disposed by {@link #close()}.
     *
     * @param threadPrefix prefix of the loop thread names
     * @param workers number of loops, at least 1
     * @return the worker loops
     */
    public static WorkerLoops standalone(String threadPrefix, int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, was " + workers);
        }
        LoopResources owned = LoopResources.create(threadPrefix, 1, workers, true);
        return new WorkerLoops(owned, LoopResources.DEFAULT_NATIVE, true);
    }

    private void tagLoopThreads() {
        CountDownLatch tagged = new CountDownLatch(loops.size());
        boolean onOneOfTheLoops = false;
        for (int i = 0; i < loops.size(); i++) {
            int index = i;
            EventLoop loop = loops.get(i);
            onOneOfTheLoops |= loop.inEventLoop();
            Runnable tag = () -> {
                workerIndex.set(index);
                tagged.countDown();
            };
            if (loop.inEventLoop()) {
                tag.run();
            }
            else {
                loop.execute(tag);
            }
        }
        // Waiting on a loop thread could stall that loop; the other loops' tags land within a tick anyway.
        if (!onOneOfTheLoops) {
            awaitTagging(tagged);
        }
    }

    private void awaitTagging(CountDownLatch tagged) {
        try {
            if (!tagged.await(TAGGING_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("Event loops of " + group
                        + " did not run the worker tagging task within " + TAGGING_TIMEOUT.toSeconds() + " s");
            }
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while tagging the worker loop threads", ex);
        }
    }

    /** @return number of workers */
    public int size() {
        return loops.size();
    }

    /**
     * @param worker worker index, {@code 0 .. size()-1}
     * @return the worker's event loop
     */
    public EventLoop loop(int worker) {
        return loops.get(worker);
    }

    /**
     * @param worker worker index, {@code 0 .. size()-1}
     * @return a Reactor scheduler that runs tasks on the worker's loop, inline when already there
     */
    public LoopScheduler scheduler(int worker) {
        return schedulers.get(worker);
    }

    /** @return the worker index of the calling thread, or {@code -1} when it is not one of these loops */
    public int currentWorker() {
        return workerIndex.get();
    }

    /** @return a worker index in round-robin order, for callers that are not on one of the loops */
    public int nextWorker() {
        return Math.floorMod(roundRobin.getAndIncrement(), loops.size());
    }

    /** @return the calling thread's worker, or the next round-robin worker when called off-loop */
    public int currentOrNextWorker() {
        int current = currentWorker();
        return current >= 0 ? current : nextWorker();
    }

    /** Subscribes to {@code call}'s Mono on a worker's loop, without a hop when the subscriber is on it already. */
    <R> Mono<R> onLoop(int worker, Supplier<Mono<R>> call) {
        return Mono.defer(() -> currentWorker() == worker
                ? call.get()
                : Mono.defer(call).subscribeOn(scheduler(worker)));
    }

    /** @return the event loop group the workers belong to */
    public EventLoopGroup group() {
        return group;
    }

    /** @return the loop resources the workers come from */
    public LoopResources loopResources() {
        return loopResources;
    }

    /** @return whether the group was taken with the native transport preferred */
    public boolean preferNative() {
        return preferNative;
    }

    /** @return whether this instance created the loops and shuts them down on {@link #close()} */
    public boolean isOwned() {
        return owned;
    }

    /** Disposes the loops when this instance owns them (standalone); does nothing for integrated loops. */
    @Override
    public void close() {
        if (owned) {
            loopResources.dispose();
        }
    }

    @Override
    public String toString() {
        return "WorkerLoops{workers=" + loops.size() + ", " + (owned ? "standalone" : "integrated") + "}";
    }
}
