package io.github.affinitypool.redis;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.netty.channel.EventLoop;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Operators;

import io.github.affinitypool.core.WorkerLoops;

/**
 * One local subscriber: a bounded buffer of the messages it has not requested yet (full: the oldest is dropped and
 * counted), drained on its own worker's loop. Buffer and terminal state are confined to that loop.
 * <p>
 * A subscriber of {@code subscribeLater} has no downstream at first: its {@link #confirmation} receives the
 * {@code Flux} once Redis confirmed its keys, and whoever subscribes to that becomes the downstream. Messages and a
 * termination that come before wait in the buffer.
 * <p>
 * It is attached to the {@link PubSubWorker} it joined: its own worker's, or at the cap another worker's whose
 * connection it shares; that worker's loop offers it the messages and confirms it. Messages offered from another
 * worker's loop wait in an inbox, bounded like the buffer, for one task on the subscriber's loop that moves them all
 * to the buffer.
 */
final class PubSubSubscriber<K, V> implements Subscription {

    /** Logs under {@link PubSubHub}, as all of Pub/Sub does: one category to configure for the whole feature. */
    private static final Logger logger = LoggerFactory.getLogger(PubSubHub.class);

    /** The downstream of messages whose hand-out was cancelled before anyone subscribed to them: ignores all. */
    private static final CoreSubscriber<Object> NO_DOWNSTREAM = new CoreSubscriber<>() {
        @Override
        public void onSubscribe(Subscription subscription) {
        }

        @Override
        public void onNext(Object message) {
        }

        @Override
        public void onError(Throwable error) {
        }

        @Override
        public void onComplete() {
        }
    };

    private final String poolName;

    private final int bufferSize;

    private final AtomicReference<CoreSubscriber<? super PubSubMessage<K, V>>> actual;

    /**
     * Whether {@link #actual} may be signalled: it has received {@code onSubscribe}. The messages of
     * {@code subscribeLater} set their downstream first, to refuse a second one, and signal it only once this is set.
     */
    private volatile boolean downstreamReady;

    /** Receives the messages' {@code Flux} once Redis confirmed every key; {@code null} for a plain subscribe. */
    private final MonoSink<Flux<PubSubMessage<K, V>>> confirmation;

    /**
     * Whether the worker it joined saw every key confirmed (and told {@link #confirmation}); touched on that worker's
     * loop only.
     */
    private boolean confirmed;

    /** Its own worker: the caller's, or the next one for a caller off the worker loops. */
    final int worker;

    final boolean offLoop;

    private final EventLoop loop;

    final boolean pattern;

    final List<K> keys;

    /** When it subscribed ({@link System#nanoTime()}), for the acquire time. */
    final long start = System.nanoTime();

    private final AtomicLong requested = new AtomicLong();

    /** The worker it joined: where its cancel leaves and its drops are counted. */
    private volatile PubSubWorker<K, V> joinedWorker;

    private volatile boolean cancelled;

    private final ArrayDeque<PubSubMessage<K, V>> buffer = new ArrayDeque<>();

    /** Messages offered from another worker's loop, not yet moved to {@link #buffer} on this subscriber's loop. */
    private final Queue<PubSubMessage<K, V>> inbox = new ConcurrentLinkedQueue<>();

    private final AtomicInteger inboxSize = new AtomicInteger();

    /** Whether a task that moves the inbox to the buffer is queued on this subscriber's loop and has not started. */
    private final AtomicBoolean transferQueued = new AtomicBoolean();

    private boolean draining;

    private boolean missed;

    private boolean done;

    /** Whether {@link #confirmation} received the {@code Flux}. */
    private boolean handedOut;

    private boolean terminated;

    private final AtomicBoolean warned = new AtomicBoolean();

    private Throwable error;

    /**
     * @param loops the worker loops, to find the caller's worker
     * @param poolName the pool's name, for messages
     * @param bufferSize the bound of the buffer of messages not requested yet
     * @param actual the downstream, or {@code null} when {@code confirmation} hands out the messages
     * @param confirmation receives the messages once Redis confirmed every key, or {@code null}
     * @param pattern whether {@code keys} are patterns
     * @param keys the channels or patterns
     */
    PubSubSubscriber(WorkerLoops loops, String poolName, int bufferSize,
            CoreSubscriber<? super PubSubMessage<K, V>> actual, MonoSink<Flux<PubSubMessage<K, V>>> confirmation,
            boolean pattern, List<K> keys) {
        this.poolName = poolName;
        this.bufferSize = bufferSize;
        int current = loops.currentWorker();
        this.worker = current >= 0 ? current : loops.nextWorker();
        this.offLoop = current < 0;
        this.loop = loops.loop(worker);
        this.actual = new AtomicReference<>(actual);
        // A plain subscribe's downstream gets onSubscribe before the subscriber starts, so before anything is drained.
        this.downstreamReady = actual != null;
        this.confirmation = confirmation;
        this.pattern = pattern;
        this.keys = keys;
    }

    /** Records the worker it joined, on that worker's loop: its cancel leaves there, its drops are counted there. */
    void joined(PubSubWorker<K, V> worker) {
        this.joinedWorker = worker;
    }

    /** @return whether it was cancelled: a worker no longer attaches it */
    boolean isCancelled() {
        return cancelled;
    }

    /**
     * @return whether it waits to be told that Redis confirmed its keys: a subscriber of {@code subscribeLater} not
     *         confirmed yet; asked on the loop of the worker it joined only
     */
    boolean awaitsConfirmation() {
        return confirmation != null && !confirmed;
    }

    /** Hands out the messages: Redis confirmed every key. Called on the loop of the worker it joined. */
    void confirm() {
        confirmed = true;
        onLoop(() -> {
            if (!done && !cancelled) {
                handedOut = true;
                confirmation.success(new ConfirmedMessages());
            }
        });
    }

    /** Called on the loop of the worker it is attached to. */
    void offer(PubSubMessage<K, V> message) {
        if (cancelled) {
            return;
        }
        if (loop.inEventLoop()) {
            enqueue(message);
            return;
        }
        // Not a task per message: while this subscriber's loop is busy or stalled, its task queue would grow by one
        // per message published, without bound. The inbox keeps the newest, like the buffer, and one task empties it.
        inbox.offer(message);
        if (inboxSize.incrementAndGet() > bufferSize && inbox.poll() != null) {
            inboxSize.decrementAndGet();
            countDropped();
        }
        if (transferQueued.compareAndSet(false, true)) {
            onLoop(this::transferInbox);
        }
    }

    /** On this subscriber's loop: moves the messages offered from another loop to the buffer, oldest first. */
    private void transferInbox() {
        // Cleared first: a message offered from now on is either polled below or queues the next transfer.
        transferQueued.set(false);
        PubSubMessage<K, V> message;
        while ((message = inbox.poll()) != null) {
            inboxSize.decrementAndGet();
            enqueue(message);
        }
    }

    private void enqueue(PubSubMessage<K, V> message) {
        if (cancelled || done) {
            return;
        }
        if (buffer.size() >= bufferSize) {
            buffer.poll();
            countDropped();
        }
        buffer.add(message);
        drain();
    }

    /** Counts a message dropped from the buffer or the inbox, and says so the first time; on either loop. */
    private void countDropped() {
        PubSubWorker<K, V> attachedTo = joinedWorker;
        if (attachedTo != null) {
            attachedTo.countDropped();
        }
        if (!warned.get() && warned.compareAndSet(false, true)) {
            logger.warn("Redis pool '{}' (worker {}): a subscriber of {} {} does not keep up; its buffer of {} "
                    + "messages is full, so the oldest are dropped (see pubSubStats().dropped())", poolName,
                    worker, pattern ? "patterns" : "channels", keys, bufferSize);
        }
    }

    void fail(Throwable failure) {
        onLoop(() -> terminate(failure));
    }

    void complete() {
        onLoop(() -> terminate(null));
    }

    private void terminate(Throwable failure) {
        if (done) {
            return;
        }
        // Offered before the termination by the worker that ends it: delivered before it.
        transferInbox();
        done = true;
        error = failure;
        if (confirmation != null && !handedOut) {
            // Never confirmed: the Mono fails (or, the pool closing, completes empty) and no Flux is handed out.
            terminated = true;
            if (failure != null) {
                confirmation.error(failure);
            }
            else {
                confirmation.success();
            }
            return;
        }
        drain();
    }

    private void drain() {
        CoreSubscriber<? super PubSubMessage<K, V>> downstream = actual.get();
        if (downstream == null || !downstreamReady) {
            return; // confirmed, but nobody subscribed to the messages yet (or is being subscribed): they wait
        }
        if (draining) {
            missed = true;
            return;
        }
        draining = true;
        try {
            do {
                missed = false;
                long demand = requested.get();
                long emitted = 0;
                while (emitted != demand && !buffer.isEmpty()) {
                    if (cancelled) {
                        buffer.clear();
                        return;
                    }
                    PubSubMessage<K, V> next = buffer.poll();
                    try {
                        downstream.onNext(next);
                    }
                    catch (Throwable failure) {
                        cancel();
                        terminated = true;
                        downstream.onError(
                                Operators.onOperatorError(this, failure, next, downstream.currentContext()));
                        return;
                    }
                    emitted++;
                }
                if (cancelled) {
                    buffer.clear();
                    return;
                }
                if (done && buffer.isEmpty() && !terminated) {
                    terminated = true;
                    if (error != null) {
                        downstream.onError(error);
                    }
                    else {
                        downstream.onComplete();
                    }
                    return;
                }
                if (emitted != 0 && demand != Long.MAX_VALUE) {
                    requested.addAndGet(-emitted);
                }
            }
            while (missed);
        }
        finally {
            draining = false;
        }
    }

    private void onLoop(Runnable task) {
        EventLoopTasks.runOn(loop, task);
    }

    @Override
    public void request(long n) {
        if (Operators.validate(n)) {
            requested.getAndUpdate(current -> Operators.addCap(current, n));
            onLoop(this::drain);
        }
    }

    @Override
    public void cancel() {
        if (cancelled) {
            return;
        }
        cancelled = true;
        PubSubWorker<K, V> attachedTo = joinedWorker;
        if (attachedTo != null) {
            attachedTo.execute(() -> attachedTo.leave(this));
        }
    }

    /**
     * Ends a subscriber of {@code subscribeLater} whose messages have no downstream yet: the {@code Mono} that hands
     * them out was cancelled. A later subscriber of those messages gets an error.
     */
    void cancelUnlessSubscribed() {
        if (actual.compareAndSet(null, NO_DOWNSTREAM)) {
            downstreamReady = true;
            cancel();
        }
    }

    @Override
    public String toString() {
        return "PubSubSubscriber{worker=" + worker + ", " + (pattern ? "patterns=" : "channels=") + keys + "}";
    }

    /** The messages a confirmation hands out: the first subscriber becomes the downstream; there is no second. */
    private final class ConfirmedMessages extends Flux<PubSubMessage<K, V>> {

        @Override
        public void subscribe(CoreSubscriber<? super PubSubMessage<K, V>> downstream) {
            if (!actual.compareAndSet(null, downstream)) {
                Operators.error(downstream, new IllegalStateException("The messages of " + PubSubSubscriber.this
                        + (cancelled ? " were cancelled with the Mono that handed them out"
                                : " allow only one subscriber; it is already subscribed")));
                return;
            }
            downstream.onSubscribe(PubSubSubscriber.this);
            // Only now: a failure of the connection meanwhile must not reach the downstream before its onSubscribe.
            downstreamReady = true;
            onLoop(PubSubSubscriber.this::drain);
        }
    }
}
