package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.RedisCodec;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.PoolClosedException;
import io.github.affinitypool.core.WorkerLoops;

/**
 * The Pub/Sub side of a {@link RedisAffinityPool}: at most one Pub/Sub connection per worker, pinned to the worker's
 * loop, at most {@code maxOpen} in all, separate from the command connections (it never serves commands and never
 * enters a command pool).
 * <p>
 * Each worker's {@link PubSubWorker} multiplexes every subscription made on that worker over its connection: a channel
 * or pattern is SUBSCRIBEd once per worker however many local subscribers ({@link PubSubSubscriber}) it has (reference
 * counted, UNSUBSCRIBEd when the last one leaves), and each message is handed to every local subscriber on the
 * worker's loop. All of a worker's Pub/Sub state is touched only on its loop, so it needs no locks. This hub holds only
 * what spans the workers: the permits of the cap, whether the pool is closed, and the health checks' schedule.
 * <ul>
 *     <li>The connection is opened on the first subscribe, and again on the next subscribe after it died. A subscriber
 *     whose worker cannot open one because the cap is reached shares another worker's connection; its messages are
 *     handed over to its own loop.</li>
 *     <li>Each subscriber has a bounded buffer ({@code bufferSize}) for messages it has not requested yet; when it is
 *     full the <em>oldest</em> message is dropped and counted, so a slow subscriber never holds up the others.</li>
 *     <li>When the connection dies every subscriber on it fails with a {@link RedisPoolConnectionException} naming the
 *     pool, the worker and the server (after the messages it already buffered); subscribing again opens a new one.
 *     When the pool closes, subscribers complete.</li>
 *     <li>A connection that received no message for a whole check interval is PINGed; no answer within the command
 *     timeout counts as a lost connection. A peer that vanished without closing the TCP connection (a frozen server,
 *     a dropped NAT entry, a network partition) would otherwise leave its subscribers waiting in silence.</li>
 * </ul>
 */
final class PubSubHub<K, V> {

    private final String poolName;

    private final WorkerLoops loops;

    private final int maxOpen;

    private final int bufferSize;

    private final Disposable.Composite healthChecks = Disposables.composite();

    /** Pub/Sub connections open or being opened, all workers; never above {@link #maxOpen}. */
    private final AtomicInteger permits = new AtomicInteger();

    /** Per worker, in worker order. */
    private final List<PubSubWorker<K, V>> workers;

    private volatile boolean closed;

    /** Why later subscribes are refused, set by the latest close. */
    private volatile String closedBecause;

    /**
     * @param poolName the pool's name, for messages
     * @param loops the worker loops
     * @param clients the per-worker clients (a Pub/Sub connection of worker w is opened on w's client)
     * @param codec the codec
     * @param uris per worker, the URI of its Pub/Sub connection (client name set)
     * @param maxOpen the cap on open Pub/Sub connections
     * @param bufferSize the per-subscriber buffer
     * @param listener receives opened/closed connection events and subscriber acquire events
     * @param checkInterval how often each worker checks that its quiet connection still answers
     * @param commandTimeout the timeout of the check's PING (the pool's command timeout), for messages
     */
    PubSubHub(String poolName, WorkerLoops loops, WorkerClients clients, RedisCodec<K, V> codec, List<RedisURI> uris,
            int maxOpen, int bufferSize, AffinityPoolListener listener, Duration checkInterval,
            Duration commandTimeout) {
        this.poolName = poolName;
        this.loops = loops;
        this.maxOpen = maxOpen;
        this.bufferSize = bufferSize;
        List<PubSubWorker<K, V>> perWorker = new ArrayList<>(loops.size());
        for (int worker = 0; worker < loops.size(); worker++) {
            perWorker.add(new PubSubWorker<>(this, worker, loops.loop(worker), uris.get(worker), poolName, clients,
                    codec, listener, commandTimeout));
        }
        this.workers = List.copyOf(perWorker);
        for (int worker = 0; worker < workers.size(); worker++) {
            healthChecks.add(loops.scheduler(worker).schedulePeriodically(workers.get(worker)::check,
                    checkInterval.toNanos(), checkInterval.toNanos(), TimeUnit.NANOSECONDS));
        }
    }

    /**
     * @param pattern {@code true} for PSUBSCRIBE, {@code false} for SUBSCRIBE
     * @param keys the channels or patterns, not empty, duplicates already removed
     * @return the messages; each subscription is one local subscriber
     */
    Flux<PubSubMessage<K, V>> subscribe(boolean pattern, List<K> keys) {
        return new PubSubFlux(pattern, keys);
    }

    /**
     * @param pattern {@code true} for PSUBSCRIBE, {@code false} for SUBSCRIBE
     * @param keys the channels or patterns, not empty, duplicates already removed
     * @return the messages, emitted once Redis has confirmed every key; each subscription is one local subscriber
     */
    Mono<Flux<PubSubMessage<K, V>>> subscribeLater(boolean pattern, List<K> keys) {
        return Mono.defer(() -> {
            AtomicReference<PubSubSubscriber<K, V>> started = new AtomicReference<>();
            return Mono.<Flux<PubSubMessage<K, V>>>create(sink -> {
                PubSubSubscriber<K, V> subscriber = newSubscriber(null, sink, pattern, keys);
                started.set(subscriber);
                sink.onCancel(subscriber::cancel);
                start(subscriber);
            }).doOnCancel(() -> {
                // A cancel after the messages were handed out, before anyone subscribed to them: a flatMapMany whose
                // inner chain never got to them (a startWith cancelled while its first element was written), whose
                // cancel still reaches here. The sink ignores it, having emitted; nothing else would end the
                // subscription, which would stay on the connection for good.
                PubSubSubscriber<K, V> subscriber = started.get();
                if (subscriber != null) {
                    subscriber.cancelUnlessSubscribed();
                }
            });
        });
    }

    /**
     * @param actual the downstream, or {@code null} when {@code confirmation} hands out the messages
     * @param confirmation receives the messages once Redis confirmed every key, or {@code null}
     * @param pattern whether {@code keys} are patterns
     * @param keys the channels or patterns
     * @return a local subscriber of the caller's worker (the next worker for an off-loop caller)
     */
    private PubSubSubscriber<K, V> newSubscriber(CoreSubscriber<? super PubSubMessage<K, V>> actual,
            MonoSink<Flux<PubSubMessage<K, V>>> confirmation, boolean pattern, List<K> keys) {
        return new PubSubSubscriber<>(loops, poolName, bufferSize, actual, confirmation, pattern, keys);
    }

    private void start(PubSubSubscriber<K, V> subscriber) {
        if (closed) {
            subscriber.fail(closedError(subscriber.worker));
            return;
        }
        PubSubWorker<K, V> own = workers.get(subscriber.worker);
        own.execute(() -> own.join(subscriber, 0));
    }

    /** @return the cap on open Pub/Sub connections */
    int maxOpen() {
        return maxOpen;
    }

    /**
     * Takes a permit of the cap for a connection about to be opened; the worker returns it with
     * {@link #releasePermit()} once that connection is closed, lost or failed to open.
     *
     * @return {@code false} when the cap is reached (nothing taken)
     */
    boolean takePermit() {
        if (permits.incrementAndGet() <= maxOpen) {
            return true;
        }
        permits.decrementAndGet();
        return false;
    }

    /** Returns the permit of a connection that is closed, lost or failed to open. */
    void releasePermit() {
        permits.decrementAndGet();
    }

    /** @return Pub/Sub connections open or being opened, all workers, for messages */
    int openConnections() {
        return permits.get();
    }

    /**
     * The cap is reached: hands a subscriber to the first worker after {@code fromWorker} whose connection is open (or
     * being opened), to share it. {@code hops} bounds the hand-overs, so a subscriber does not circle the workers while
     * their connections come and go.
     *
     * @param subscriber the subscriber that found no connection on {@code fromWorker}
     * @param fromWorker the worker it tried
     * @param hops how many times it was handed over already
     * @return whether a worker took it
     */
    boolean shareConnection(PubSubSubscriber<K, V> subscriber, int fromWorker, int hops) {
        if (hops < workers.size()) {
            for (int i = 1; i < workers.size(); i++) {
                PubSubWorker<K, V> other = workers.get((fromWorker + i) % workers.size());
                if (other.available()) {
                    other.execute(() -> other.join(subscriber, hops + 1));
                    return true;
                }
            }
        }
        return false;
    }

    /** @return whether {@link #closeAsync} ran: later subscribes are refused with {@link #closedError} */
    boolean isClosed() {
        return closed;
    }

    /** @return a snapshot of every worker's Pub/Sub side */
    PubSubStats stats() {
        List<PubSubStats.Worker> perWorker = new ArrayList<>(workers.size());
        for (PubSubWorker<K, V> worker : workers) {
            perWorker.add(worker.stats());
        }
        return new PubSubStats(maxOpen, bufferSize, perWorker);
    }

    /**
     * Completes every subscriber and closes every Pub/Sub connection; connects still running close theirs when they
     * end, and the close completes after them. Idempotent.
     *
     * @param because why later subscribes are refused
     * @return completion of the closes
     */
    CompletableFuture<Void> closeAsync(String because) {
        closedBecause = because;
        closed = true;
        healthChecks.dispose();
        List<CompletableFuture<Void>> closes = new ArrayList<>(workers.size());
        for (PubSubWorker<K, V> worker : workers) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            worker.execute(() -> worker.shutdown(done));
            closes.add(done);
        }
        return CompletableFuture.allOf(closes.toArray(new CompletableFuture<?>[0]));
    }

    /**
     * @param worker the worker of the refused subscriber
     * @return the error of a subscribe after the pool closed, saying why
     */
    PoolClosedException closedError(int worker) {
        return new PoolClosedException("Redis pool '" + poolName + "' " + closedBecause, poolName, worker);
    }

    @Override
    public String toString() {
        return "PubSubHub{pool='" + poolName + "', maxOpen=" + maxOpen + ", open=" + permits.get() + "}";
    }

    /**
     * The {@code Flux} of {@code subscribe}/{@code psubscribe}: each subscription becomes a {@link PubSubSubscriber}.
     */
    private final class PubSubFlux extends Flux<PubSubMessage<K, V>> {

        private final boolean pattern;

        private final List<K> keys;

        PubSubFlux(boolean pattern, List<K> keys) {
            this.pattern = pattern;
            this.keys = keys;
        }

        @Override
        public void subscribe(CoreSubscriber<? super PubSubMessage<K, V>> actual) {
            PubSubSubscriber<K, V> subscriber = newSubscriber(actual, null, pattern, keys);
            actual.onSubscribe(subscriber);
            start(subscriber);
        }
    }
}
