package io.github.affinitypool.redis;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.netty.channel.EventLoop;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Operators;

import io.github.affinitypool.core.AcquireOutcome;
import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.core.Locality;
import io.github.affinitypool.core.WorkerLoops;

/**
 * The Pub/Sub side of a {@link RedisAffinityPool}: at most one Pub/Sub connection per worker, pinned to the worker's
 * loop, at most {@code maxOpen} in all, separate from the command connections (it never serves commands and never
 * enters a command pool).
 * <p>
 * Each worker's hub multiplexes every subscription made on that worker over its connection: a channel or pattern is
 * SUBSCRIBEd once per worker however many local subscribers it has (reference counted, UNSUBSCRIBEd when the last one
 * leaves), and each message is handed to every local subscriber on the worker's loop. All of a hub's state is touched
 * only on its loop, so it needs no locks.
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

    private static final Logger logger = LoggerFactory.getLogger(PubSubHub.class);

    private final String poolName;

    private final WorkerLoops loops;

    private final WorkerClients clients;

    private final RedisCodec<K, V> codec;

    private final int maxOpen;

    private final int bufferSize;

    private final AffinityPoolListener listener;

    private final Duration commandTimeout;

    private final Disposable.Composite healthChecks = Disposables.composite();

    /** Pub/Sub connections open or being opened, all workers; never above {@link #maxOpen}. */
    private final AtomicInteger permits = new AtomicInteger();

    private final List<WorkerHub> hubs;

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
            int maxOpen, int bufferSize, AffinityPoolListener listener, Duration checkInterval, Duration commandTimeout) {
        this.poolName = poolName;
        this.loops = loops;
        this.clients = clients;
        this.codec = codec;
        this.maxOpen = maxOpen;
        this.bufferSize = bufferSize;
        this.listener = listener;
        List<WorkerHub> perWorker = new ArrayList<>(loops.size());
        for (int worker = 0; worker < loops.size(); worker++) {
            perWorker.add(new WorkerHub(worker, loops.loop(worker), uris.get(worker)));
        }
        this.hubs = List.copyOf(perWorker);
        this.commandTimeout = commandTimeout;
        for (WorkerHub hub : hubs) {
            healthChecks.add(loops.scheduler(hub.worker).schedulePeriodically(hub::check, checkInterval.toNanos(),
                    checkInterval.toNanos(), TimeUnit.NANOSECONDS));
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
        return Mono.create(sink -> {
            Subscriber subscriber = new Subscriber(null, sink, pattern, keys);
            sink.onCancel(subscriber::cancel);
            start(subscriber);
        });
    }

    private void start(Subscriber subscriber) {
        if (closed) {
            subscriber.fail(closedError(subscriber.worker));
            return;
        }
        WorkerHub hub = hubs.get(subscriber.worker);
        hub.execute(() -> hub.join(subscriber, 0));
    }

    /** @return the cap on open Pub/Sub connections */
    int maxOpen() {
        return maxOpen;
    }

    /** @return a snapshot of every worker's Pub/Sub side */
    PubSubStats stats() {
        List<PubSubStats.Worker> workers = new ArrayList<>(hubs.size());
        for (WorkerHub hub : hubs) {
            workers.add(new PubSubStats.Worker(hub.worker, hub.openCount, hub.channelCount, hub.patternCount,
                    hub.subscriberCount, hub.pendingCount, hub.received.sum(), hub.dropped.sum()));
        }
        return new PubSubStats(maxOpen, bufferSize, workers);
    }

    /**
     * Completes every subscriber and closes every Pub/Sub connection; connects still running close theirs when they
     * complete. Idempotent.
     *
     * @param because why later subscribes are refused
     * @return completion of the closes
     */
    CompletableFuture<Void> closeAsync(String because) {
        closedBecause = because;
        closed = true;
        healthChecks.dispose();
        List<CompletableFuture<Void>> closes = new ArrayList<>(hubs.size());
        for (WorkerHub hub : hubs) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            hub.execute(() -> hub.shutdown(done));
            closes.add(done);
        }
        return CompletableFuture.allOf(closes.toArray(new CompletableFuture<?>[0]));
    }

    private RedisPoolConnectionException closedError(int worker) {
        return new RedisPoolConnectionException(poolName, worker, "Redis pool '" + poolName + "' " + closedBecause,
                null);
    }

    /** Map key of a channel or pattern: {@code byte[]} keys compare by content. */
    private static Object mapKey(Object key) {
        return key instanceof byte[] bytes ? ByteBuffer.wrap(bytes) : key;
    }

    /** The {@code Flux} of {@code subscribe}/{@code psubscribe}: each subscription becomes a {@link Subscriber}. */
    private final class PubSubFlux extends Flux<PubSubMessage<K, V>> {

        private final boolean pattern;

        private final List<K> keys;

        PubSubFlux(boolean pattern, List<K> keys) {
            this.pattern = pattern;
            this.keys = keys;
        }

        @Override
        public void subscribe(CoreSubscriber<? super PubSubMessage<K, V>> actual) {
            Subscriber subscriber = new Subscriber(actual, null, pattern, keys);
            actual.onSubscribe(subscriber);
            start(subscriber);
        }
    }

    /** One worker's Pub/Sub connection and the subscriptions multiplexed on it. Confined to the worker's loop. */
    private final class WorkerHub {

        final int worker;

        final EventLoop loop;

        final RedisURI uri;

        private StatefulRedisPubSubConnection<K, V> connection;

        private boolean connecting;

        /** Channel to its local subscribers, an immutable list replaced on change (messages iterate it). */
        private final Map<Object, List<Subscriber>> channels = new HashMap<>();

        /** Pattern to its local subscribers, an immutable list replaced on change. */
        private final Map<Object, List<Subscriber>> patterns = new HashMap<>();

        /** Channel whose SUBSCRIBE Redis has not confirmed yet, to that SUBSCRIBE. */
        private final Map<Object, RedisFuture<Void>> unconfirmedChannels = new HashMap<>();

        /** Pattern whose PSUBSCRIBE Redis has not confirmed yet, to that PSUBSCRIBE. */
        private final Map<Object, RedisFuture<Void>> unconfirmedPatterns = new HashMap<>();

        private final Set<Subscriber> attached = new LinkedHashSet<>();

        private final List<Subscriber> pending = new ArrayList<>();

        /** The last I/O error of the connection, to explain its loss. */
        private volatile Throwable lastError;

        /** {@link #received} at the previous health check: unchanged means the connection has been quiet since. */
        private long receivedAtLastCheck = -1;

        /** Whether a health-check PING is on its way. */
        private boolean checking;

        /** Open or being opened: another worker's subscriber may share it. */
        volatile boolean available;

        volatile int openCount;

        volatile int channelCount;

        volatile int patternCount;

        volatile int subscriberCount;

        volatile int pendingCount;

        final LongAdder received = new LongAdder();

        final LongAdder dropped = new LongAdder();

        WorkerHub(int worker, EventLoop loop, RedisURI uri) {
            this.worker = worker;
            this.loop = loop;
            this.uri = uri;
        }

        void execute(Runnable task) {
            runOn(loop, task);
        }

        /** A subscriber arrives (on this loop): attach it, let it wait for the connection, or open one. */
        void join(Subscriber subscriber, int hops) {
            subscriber.hub = this;
            if (subscriber.cancelled) {
                return; // its cancel saw this hub, or will find nothing here: either way nothing to undo
            }
            if (closed) {
                subscriber.fail(closedError(worker));
                return;
            }
            if (connection != null) {
                attach(List.of(subscriber));
                return;
            }
            if (connecting) {
                pending.add(subscriber);
                updateCounts();
                return;
            }
            if (permits.incrementAndGet() <= maxOpen) {
                pending.add(subscriber);
                connect();
                return;
            }
            permits.decrementAndGet();
            // The cap is reached: share a connection another worker has open (or is opening).
            if (hops < hubs.size()) {
                for (int i = 1; i < hubs.size(); i++) {
                    WorkerHub other = hubs.get((worker + i) % hubs.size());
                    if (other.available) {
                        other.execute(() -> other.join(subscriber, hops + 1));
                        return;
                    }
                }
            }
            failAcquire(subscriber, new RedisPoolConnectionException(poolName, subscriber.worker, "Redis pool '" + poolName
                    + "' (worker " + subscriber.worker + "): no Pub/Sub connection available (open " + permits.get() + "/"
                    + maxOpen + ")", null));
        }

        private void connect() {
            connecting = true;
            available = true;
            updateCounts();
            RedisConnectionFactory.connect(() -> clients.client(worker).connectPubSubAsync(codec, uri)).subscribe(
                    opened -> execute(() -> connected(opened)),
                    error -> execute(() -> connectFailed(error)));
        }

        private void connected(StatefulRedisPubSubConnection<K, V> opened) {
            connecting = false;
            if (closed) {
                opened.closeAsync();
                permits.decrementAndGet();
                available = false;
                updateCounts();
                return;
            }
            connection = opened;
            lastError = null;
            opened.addListener(new Messages());
            opened.addListener(new RedisConnectionStateListener() {
                @Override
                public void onRedisDisconnected(RedisChannelHandler<?, ?> handler) {
                    execute(() -> died(opened, lastError));
                }

                @Override
                public void onRedisExceptionCaught(RedisChannelHandler<?, ?> handler, Throwable cause) {
                    lastError = cause;
                }
            });
            listener.opened(worker);
            if (!opened.isOpen()) {
                // Lost before this task ran: the subscribers waiting for the connection must hear so as well as the
                // attached ones, or they would wait for the next subscribe on this worker to connect again.
                for (Subscriber subscriber : pending) {
                    if (!subscriber.cancelled) {
                        attached.add(subscriber);
                    }
                }
                pending.clear();
                died(opened, lastError);
                return;
            }
            List<Subscriber> waiting = new ArrayList<>(pending);
            pending.clear();
            attach(waiting);
        }

        private void connectFailed(Throwable error) {
            connecting = false;
            available = false;
            permits.decrementAndGet();
            Throwable cause = RedisUris.unwrap(error);
            RedisPoolConnectionException failure = cause instanceof RedisPoolConnectionException ? (RedisPoolConnectionException) cause
                    : new RedisPoolConnectionException(poolName, worker, "Redis pool '" + poolName + "' (worker " + worker
                            + "): cannot open a Pub/Sub connection to " + RedisUris.describe(uri) + ": "
                            + RedisUris.reason(cause), cause);
            List<Subscriber> waiting = new ArrayList<>(pending);
            pending.clear();
            updateCounts();
            for (Subscriber subscriber : waiting) {
                failAcquire(subscriber, failure);
            }
        }

        /** Subscribers attach to the open connection; channels and patterns new on this worker are subscribed. */
        private void attach(List<Subscriber> subscribers) {
            List<K> newChannels = new ArrayList<>();
            List<K> newPatterns = new ArrayList<>();
            for (Subscriber subscriber : subscribers) {
                if (subscriber.cancelled) {
                    continue;
                }
                attached.add(subscriber);
                Map<Object, List<Subscriber>> map = subscriber.pattern ? patterns : channels;
                for (K key : subscriber.keys) {
                    Object mapKey = mapKey(key);
                    List<Subscriber> current = map.get(mapKey);
                    if (current == null) {
                        map.put(mapKey, List.of(subscriber));
                        (subscriber.pattern ? newPatterns : newChannels).add(key);
                    }
                    else {
                        List<Subscriber> grown = new ArrayList<>(current.size() + 1);
                        grown.addAll(current);
                        grown.add(subscriber);
                        map.put(mapKey, List.copyOf(grown));
                    }
                }
                Locality locality = subscriber.offLoop ? Locality.OFF_LOOP
                        : subscriber.worker == worker ? Locality.LOCAL : Locality.STOLEN;
                listener.acquired(subscriber.offLoop ? -1 : subscriber.worker, locality,
                        System.nanoTime() - subscriber.start);
            }
            updateCounts();
            StatefulRedisPubSubConnection<K, V> current = connection;
            if (!newChannels.isEmpty()) {
                send(current, newChannels, false);
            }
            if (!newPatterns.isEmpty()) {
                send(current, newPatterns, true);
            }
            for (Subscriber subscriber : subscribers) {
                confirmIfReady(subscriber);
            }
        }

        /** SUBSCRIBEs (or PSUBSCRIBEs) keys new on this worker; they stay unconfirmed until Redis answers. */
        private void send(StatefulRedisPubSubConnection<K, V> sentOn, List<K> keys, boolean pattern) {
            RedisFuture<Void> subscribed = pattern ? sentOn.async().psubscribe(array(keys))
                    : sentOn.async().subscribe(array(keys));
            Map<Object, RedisFuture<Void>> unconfirmed = unconfirmed(pattern);
            for (K key : keys) {
                unconfirmed.put(mapKey(key), subscribed);
            }
            subscribed.whenComplete((ignored, error) -> execute(() -> {
                if (error == null) {
                    confirmed(sentOn, subscribed, keys, pattern);
                }
                else {
                    subscribeFailed(sentOn, keys, pattern, RedisUris.unwrap(error));
                }
            }));
        }

        private Map<Object, RedisFuture<Void>> unconfirmed(boolean pattern) {
            return pattern ? unconfirmedPatterns : unconfirmedChannels;
        }

        /**
         * Redis confirmed a SUBSCRIBE: its keys receive messages from now on. Lettuce completes a SUBSCRIBE of several
         * channels on the first confirmation, but Redis has registered all of them by then (it runs the command whole
         * before it replies). A key unsubscribed and subscribed again since waits for its newer SUBSCRIBE.
         */
        private void confirmed(StatefulRedisPubSubConnection<K, V> sentOn, RedisFuture<Void> subscribed, List<K> keys,
                boolean pattern) {
            if (connection != sentOn) {
                return;
            }
            Map<Object, RedisFuture<Void>> unconfirmed = unconfirmed(pattern);
            Map<Object, List<Subscriber>> map = pattern ? patterns : channels;
            Set<Subscriber> waiting = new LinkedHashSet<>();
            for (K key : keys) {
                Object mapKey = mapKey(key);
                if (unconfirmed.get(mapKey) == subscribed) {
                    unconfirmed.remove(mapKey);
                    waiting.addAll(map.getOrDefault(mapKey, List.of()));
                }
            }
            for (Subscriber subscriber : waiting) {
                confirmIfReady(subscriber);
            }
        }

        /** Tells a subscriber that waits for it that Redis has confirmed all its keys on this worker. */
        private void confirmIfReady(Subscriber subscriber) {
            if (subscriber.confirmation == null || subscriber.confirmed || !attached.contains(subscriber)) {
                return;
            }
            Map<Object, RedisFuture<Void>> unconfirmed = unconfirmed(subscriber.pattern);
            for (K key : subscriber.keys) {
                if (unconfirmed.containsKey(mapKey(key))) {
                    return;
                }
            }
            subscriber.confirmed = true;
            subscriber.confirm();
        }

        private void subscribeFailed(StatefulRedisPubSubConnection<K, V> sentOn, List<K> keys, boolean pattern,
                Throwable error) {
            if (connection != sentOn) {
                return; // already replaced: its subscribers have been told
            }
            if (!(error instanceof RedisCommandExecutionException)) {
                sentOn.closeAsync();
                died(sentOn, error);
                return;
            }
            Map<Object, List<Subscriber>> map = pattern ? patterns : channels;
            Set<Subscriber> refused = new LinkedHashSet<>();
            for (K key : keys) {
                List<Subscriber> subscribers = map.get(mapKey(key));
                if (subscribers != null) {
                    refused.addAll(subscribers);
                }
            }
            for (Subscriber subscriber : refused) {
                leave(subscriber);
                subscriber.fail(error);
            }
        }

        /** A subscriber leaves (cancelled or refused): the last subscriber of a channel or pattern unsubscribes it. */
        void leave(Subscriber subscriber) {
            if (pending.remove(subscriber)) {
                updateCounts();
                return;
            }
            if (!attached.remove(subscriber)) {
                return;
            }
            Map<Object, List<Subscriber>> map = subscriber.pattern ? patterns : channels;
            List<K> unused = new ArrayList<>();
            for (K key : subscriber.keys) {
                Object mapKey = mapKey(key);
                List<Subscriber> current = map.get(mapKey);
                if (current == null) {
                    continue;
                }
                List<Subscriber> shrunk = new ArrayList<>(current);
                shrunk.remove(subscriber);
                if (shrunk.isEmpty()) {
                    map.remove(mapKey);
                    unconfirmed(subscriber.pattern).remove(mapKey);
                    unused.add(key);
                }
                else {
                    map.put(mapKey, List.copyOf(shrunk));
                }
            }
            updateCounts();
            StatefulRedisPubSubConnection<K, V> current = connection;
            if (!unused.isEmpty() && current != null && current.isOpen()) {
                RedisFuture<Void> unsubscribed = subscriber.pattern ? current.async().punsubscribe(array(unused))
                        : current.async().unsubscribe(array(unused));
                unsubscribed.whenComplete((ignored, error) -> {
                    if (error != null) {
                        logger.debug("Redis pool '{}' (worker {}): UNSUBSCRIBE failed: {}", poolName, worker, error.toString());
                    }
                });
            }
        }

        /**
         * The periodic health check, on this loop: a connection that received no message since the previous check must
         * answer a PING (any answer will do; Redis answers PING in subscribed mode) within the command timeout, else it
         * is closed as lost. A busy connection proves itself with its messages and is left alone.
         */
        void check() {
            long receivedNow = received.sum();
            boolean quiet = receivedNow == receivedAtLastCheck;
            receivedAtLastCheck = receivedNow;
            StatefulRedisPubSubConnection<K, V> current = connection;
            if (!quiet || checking || current == null || !current.isOpen()) {
                return;
            }
            checking = true;
            current.async().ping().whenComplete((pong, error) -> execute(() -> {
                checking = false;
                if (RedisUris.unwrap(error) instanceof RedisCommandTimeoutException && connection == current) {
                    died(current, new RedisCommandTimeoutException("no answer to a health-check PING within "
                            + commandTimeout.toMillis() + " ms"));
                }
            }));
        }

        /** The connection is gone: every subscriber on it fails, clearly; the next subscribe opens a new one. */
        private void died(StatefulRedisPubSubConnection<K, V> dead, Throwable cause) {
            if (connection != dead) {
                return;
            }
            connection = null;
            available = false;
            permits.decrementAndGet();
            List<Subscriber> subscribers = new ArrayList<>(attached);
            clearSubscriptions();
            updateCounts();
            listener.closed(worker, CloseReason.UNUSABLE);
            RedisPoolConnectionException failure = new RedisPoolConnectionException(poolName, worker, "Redis pool '"
                    + poolName + "' (worker " + worker + "): Pub/Sub connection to " + RedisUris.describe(uri) + " lost"
                    + ": " + (cause != null ? RedisUris.reason(cause) : "the connection was closed")
                    + "; subscribe again to resubscribe", cause);
            if (!subscribers.isEmpty()) {
                logger.warn("{} ({} subscriber(s) failed)", failure.getMessage(), subscribers.size());
            }
            dead.closeAsync();
            for (Subscriber subscriber : subscribers) {
                subscriber.fail(failure);
            }
        }

        void shutdown(CompletableFuture<Void> done) {
            List<Subscriber> subscribers = new ArrayList<>(attached);
            subscribers.addAll(pending);
            clearSubscriptions();
            pending.clear();
            StatefulRedisPubSubConnection<K, V> open = connection;
            connection = null;
            available = false;
            if (open != null) {
                permits.decrementAndGet();
            }
            updateCounts();
            for (Subscriber subscriber : subscribers) {
                subscriber.complete();
            }
            if (open == null) {
                done.complete(null);
                return;
            }
            listener.closed(worker, CloseReason.POOL_CLOSED);
            open.closeAsync().whenComplete((ignored, error) -> done.complete(null));
        }

        private void clearSubscriptions() {
            attached.clear();
            channels.clear();
            patterns.clear();
            unconfirmedChannels.clear();
            unconfirmedPatterns.clear();
        }

        private void failAcquire(Subscriber subscriber, RuntimeException failure) {
            listener.acquireFailed(subscriber.offLoop ? -1 : subscriber.worker, AcquireOutcome.ERROR,
                    System.nanoTime() - subscriber.start);
            subscriber.fail(failure);
        }

        private void updateCounts() {
            openCount = connection != null || connecting ? 1 : 0;
            channelCount = channels.size();
            patternCount = patterns.size();
            subscriberCount = attached.size();
            pendingCount = pending.size();
        }

        /** Messages of the connection, on this loop: handed to every local subscriber of the channel or pattern. */
        private final class Messages extends RedisPubSubAdapter<K, V> {

            @Override
            public void message(K channel, V message) {
                received.increment();
                deliver(channels.get(mapKey(channel)), new PubSubMessage<>(channel, null, message));
            }

            @Override
            public void message(K pattern, K channel, V message) {
                received.increment();
                deliver(patterns.get(mapKey(pattern)), new PubSubMessage<>(channel, pattern, message));
            }

            private void deliver(List<Subscriber> subscribers, PubSubMessage<K, V> message) {
                if (subscribers != null) {
                    for (int i = 0; i < subscribers.size(); i++) {
                        subscribers.get(i).offer(message);
                    }
                }
            }
        }
    }

    /**
     * One local subscriber: a bounded buffer of the messages it has not requested yet (full: the oldest is dropped and
     * counted), drained on its own worker's loop. Buffer and terminal state are confined to that loop.
     * <p>
     * A subscriber of {@code subscribeLater} has no downstream at first: its {@link #confirmation} receives the
     * {@code Flux} once Redis confirmed its keys, and whoever subscribes to that becomes the downstream. Messages and a
     * termination that come before wait in the buffer.
     */
    private final class Subscriber implements Subscription {

        private final AtomicReference<CoreSubscriber<? super PubSubMessage<K, V>>> actual;

        /** Receives the messages' {@code Flux} once Redis confirmed every key; {@code null} for a plain subscribe. */
        final MonoSink<Flux<PubSubMessage<K, V>>> confirmation;

        /** Whether the hub saw every key confirmed (and told {@link #confirmation}); touched on the hub's loop only. */
        boolean confirmed;

        final int worker;

        final boolean offLoop;

        final EventLoop loop;

        final boolean pattern;

        final List<K> keys;

        final long start = System.nanoTime();

        final AtomicLong requested = new AtomicLong();

        volatile WorkerHub hub;

        volatile boolean cancelled;

        private final ArrayDeque<PubSubMessage<K, V>> buffer = new ArrayDeque<>();

        private boolean draining;

        private boolean missed;

        private boolean done;

        /** Whether {@link #confirmation} received the {@code Flux}. */
        private boolean handedOut;

        private boolean terminated;

        private boolean warned;

        private Throwable error;

        /**
         * @param actual the downstream, or {@code null} when {@code confirmation} hands out the messages
         * @param confirmation receives the messages once Redis confirmed every key, or {@code null}
         * @param pattern whether {@code keys} are patterns
         * @param keys the channels or patterns
         */
        Subscriber(CoreSubscriber<? super PubSubMessage<K, V>> actual,
                MonoSink<Flux<PubSubMessage<K, V>>> confirmation, boolean pattern, List<K> keys) {
            int current = loops.currentWorker();
            this.worker = current >= 0 ? current : loops.nextWorker();
            this.offLoop = current < 0;
            this.loop = loops.loop(worker);
            this.actual = new AtomicReference<>(actual);
            this.confirmation = confirmation;
            this.pattern = pattern;
            this.keys = keys;
        }

        /** Hands out the messages: Redis confirmed every key. */
        void confirm() {
            onLoop(() -> {
                if (!done && !cancelled) {
                    handedOut = true;
                    confirmation.success(new ConfirmedMessages());
                }
            });
        }

        /** Called on the loop of the hub it is attached to. */
        void offer(PubSubMessage<K, V> message) {
            if (cancelled) {
                return;
            }
            if (loop.inEventLoop()) {
                enqueue(message);
            }
            else {
                onLoop(() -> enqueue(message));
            }
        }

        private void enqueue(PubSubMessage<K, V> message) {
            if (cancelled || done) {
                return;
            }
            if (buffer.size() >= bufferSize) {
                buffer.poll();
                WorkerHub attachedTo = hub;
                if (attachedTo != null) {
                    attachedTo.dropped.increment();
                }
                if (!warned) {
                    warned = true;
                    logger.warn("Redis pool '{}' (worker {}): a subscriber of {} {} does not keep up; its buffer of {} "
                            + "messages is full, so the oldest are dropped (see pubSubStats().dropped())", poolName, worker,
                            pattern ? "patterns" : "channels", keys, bufferSize);
                }
            }
            buffer.add(message);
            drain();
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
            if (downstream == null) {
                return; // confirmed, but nobody subscribed to the messages yet: they wait
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
            runOn(loop, task);
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
            WorkerHub attachedTo = hub;
            if (attachedTo != null) {
                attachedTo.execute(() -> attachedTo.leave(this));
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
                    Operators.error(downstream, new IllegalStateException("The messages of " + Subscriber.this
                            + " allow only one subscriber; it is already subscribed"));
                    return;
                }
                downstream.onSubscribe(Subscriber.this);
                onLoop(Subscriber.this::drain);
            }
        }
    }

    /** Runs {@code task} on {@code loop}: inline when already there, or here when the loop has shut down. */
    private static void runOn(EventLoop loop, Runnable task) {
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

    @SuppressWarnings("unchecked")
    private static <K> K[] array(List<K> keys) {
        return (K[]) keys.toArray();
    }

    @Override
    public String toString() {
        return "PubSubHub{pool='" + poolName + "', maxOpen=" + maxOpen + ", open=" + permits.get() + "}";
    }
}
