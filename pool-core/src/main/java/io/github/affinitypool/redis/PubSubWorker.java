package io.github.affinitypool.redis;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;

import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.netty.channel.EventLoop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.github.affinitypool.core.AcquireOutcome;
import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.core.Locality;

/**
 * One worker's Pub/Sub connection and the subscriptions multiplexed on it: a channel or pattern is SUBSCRIBEd once
 * however many local subscribers it has (reference counted, UNSUBSCRIBEd when the last one leaves), and each message
 * is handed to every local subscriber of its channel or pattern.
 * <p>
 * Confined to the worker's loop: the connection, the subscriptions and their subscribers, the pending subscribers and
 * the health-check state are touched only there, so they need no locks. Other threads touch only what is volatile or
 * an adder: {@link #available()} (read by a worker at the cap looking for a connection to share), the counts behind
 * {@link #stats()}, and {@link #countDropped()} (from the loop of a subscriber that shares this connection).
 * <p>
 * What spans the workers stays with the {@link PubSubHub}: the connection takes a permit of the pool-wide cap before it
 * is opened, a subscribe after the pool closed is refused with the hub's reason, and at the cap the hub hands a
 * subscriber over to another worker's connection.
 */
final class PubSubWorker<K, V> {

    /** Logs under {@link PubSubHub}, as all of Pub/Sub does: one category to configure for the whole feature. */
    private static final Logger logger = LoggerFactory.getLogger(PubSubHub.class);

    private final PubSubHub<K, V> hub;

    private final int worker;

    private final EventLoop loop;

    private final RedisURI uri;

    private final String poolName;

    private final WorkerClients clients;

    private final RedisCodec<K, V> codec;

    private final AffinityPoolListener listener;

    private final Duration commandTimeout;

    private StatefulRedisPubSubConnection<K, V> connection;

    private boolean connecting;

    /**
     * Completes when the latest connect has ended: its connection kept, its failure told, or, when the pool closed
     * meanwhile, its connection closed. A shutdown waits for it, so that the close of the pool is not reported done
     * while a connection it will close is still arriving.
     */
    private CompletableFuture<Void> connectEnded = CompletableFuture.completedFuture(null);

    /** Channel to its local subscribers, an immutable list replaced on change (messages iterate it). */
    private final Map<Object, List<PubSubSubscriber<K, V>>> channels = new HashMap<>();

    /** Pattern to its local subscribers, an immutable list replaced on change. */
    private final Map<Object, List<PubSubSubscriber<K, V>>> patterns = new HashMap<>();

    /** Channel whose SUBSCRIBE Redis has not confirmed yet, to that SUBSCRIBE. */
    private final Map<Object, RedisFuture<Void>> unconfirmedChannels = new HashMap<>();

    /** Pattern whose PSUBSCRIBE Redis has not confirmed yet, to that PSUBSCRIBE. */
    private final Map<Object, RedisFuture<Void>> unconfirmedPatterns = new HashMap<>();

    private final Set<PubSubSubscriber<K, V>> attached = new LinkedHashSet<>();

    private final List<PubSubSubscriber<K, V>> pending = new ArrayList<>();

    /** The last I/O error of the connection, to explain its loss. */
    private volatile Throwable lastError;

    /** {@link #received} at the previous health check: unchanged means the connection has been quiet since. */
    private long receivedAtLastCheck = -1;

    /** Whether a health-check PING is on its way. */
    private boolean checking;

    /** Open or being opened: another worker's subscriber may share it. */
    private volatile boolean available;

    private volatile int openCount;

    private volatile int channelCount;

    private volatile int patternCount;

    private volatile int subscriberCount;

    private volatile int pendingCount;

    private final LongAdder received = new LongAdder();

    private final LongAdder dropped = new LongAdder();

    /**
     * @param hub the pool's Pub/Sub side: the cap's permits, whether it is closed, the other workers
     * @param worker the worker index
     * @param loop the worker's loop, to which this worker's state is confined
     * @param uri the URI of the worker's Pub/Sub connection (client name set)
     * @param poolName the pool's name, for messages
     * @param clients the per-worker clients (the connection is opened on this worker's client)
     * @param codec the codec
     * @param listener receives opened/closed connection events and subscriber acquire events
     * @param commandTimeout the timeout of the health check's PING (the pool's command timeout), for messages
     */
    PubSubWorker(PubSubHub<K, V> hub, int worker, EventLoop loop, RedisURI uri, String poolName, WorkerClients clients,
            RedisCodec<K, V> codec, AffinityPoolListener listener, Duration commandTimeout) {
        this.hub = hub;
        this.worker = worker;
        this.loop = loop;
        this.uri = uri;
        this.poolName = poolName;
        this.clients = clients;
        this.codec = codec;
        this.listener = listener;
        this.commandTimeout = commandTimeout;
    }

    void execute(Runnable task) {
        EventLoopTasks.runOn(loop, task);
    }

    /** @return whether the connection is open or being opened, so that another worker's subscriber may share it */
    boolean available() {
        return available;
    }

    /** Counts a message a subscriber attached here dropped because its buffer was full; from any thread. */
    void countDropped() {
        dropped.increment();
    }

    /** @return a snapshot of this worker's Pub/Sub side; from any thread */
    PubSubStats.Worker stats() {
        return new PubSubStats.Worker(worker, openCount, channelCount, patternCount, subscriberCount, pendingCount,
                received.sum(), dropped.sum());
    }

    /** A subscriber arrives (on this loop): attach it, let it wait for the connection, or open one. */
    void join(PubSubSubscriber<K, V> subscriber, int hops) {
        subscriber.joined(this);
        if (subscriber.isCancelled()) {
            return; // its cancel saw this worker, or will find nothing here: either way nothing to undo
        }
        if (hub.isClosed()) {
            subscriber.fail(hub.closedError(worker));
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
        if (hub.takePermit()) {
            pending.add(subscriber);
            connect();
            return;
        }
        // The cap is reached: share a connection another worker has open (or is opening).
        if (hub.shareConnection(subscriber, worker, hops)) {
            return;
        }
        failAcquire(subscriber, new RedisPoolConnectionException(poolName, subscriber.worker, "Redis pool '"
                + poolName + "' (worker " + subscriber.worker + "): no Pub/Sub connection available (open "
                + hub.openConnections() + "/" + hub.maxOpen() + ")", null));
    }

    private void connect() {
        connecting = true;
        connectEnded = new CompletableFuture<>();
        available = true;
        updateCounts();
        RedisConnectionFactory.connect(() -> clients.client(worker).connectPubSubAsync(codec, uri)).subscribe(
                opened -> execute(() -> connected(opened)),
                error -> execute(() -> connectFailed(error)));
    }

    private void connected(StatefulRedisPubSubConnection<K, V> opened) {
        connecting = false;
        if (hub.isClosed()) {
            hub.releasePermit();
            available = false;
            updateCounts();
            CompletableFuture<Void> ended = connectEnded;
            opened.closeAsync().whenComplete((ignored, error) -> ended.complete(null));
            return;
        }
        connectEnded.complete(null); // nobody waits: a shutdown comes after the close, which this found not started
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
            for (PubSubSubscriber<K, V> subscriber : pending) {
                if (!subscriber.isCancelled()) {
                    countAcquireFailed(subscriber);
                    attached.add(subscriber);
                }
            }
            pending.clear();
            died(opened, lastError);
            return;
        }
        List<PubSubSubscriber<K, V>> waiting = new ArrayList<>(pending);
        pending.clear();
        attach(waiting);
    }

    private void connectFailed(Throwable error) {
        connecting = false;
        available = false;
        hub.releasePermit();
        Throwable cause = RedisUris.unwrap(error);
        RedisPoolConnectionException failure = cause instanceof RedisPoolConnectionException
                ? (RedisPoolConnectionException) cause
                : new RedisPoolConnectionException(poolName, worker, "Redis pool '" + poolName + "' (worker " + worker
                        + "): cannot open a Pub/Sub connection to " + RedisUris.describe(uri) + ": "
                        + RedisUris.reason(cause, uri), RedisUris.withoutSecrets(cause, uri));
        List<PubSubSubscriber<K, V>> waiting = new ArrayList<>(pending);
        pending.clear();
        updateCounts();
        for (PubSubSubscriber<K, V> subscriber : waiting) {
            failAcquire(subscriber, failure);
        }
        connectEnded.complete(null); // last: a shutdown waiting for it completes the pool's close inline
    }

    /** Subscribers attach to the open connection; channels and patterns new on this worker are subscribed. */
    private void attach(List<PubSubSubscriber<K, V>> subscribers) {
        List<K> newChannels = new ArrayList<>();
        List<K> newPatterns = new ArrayList<>();
        for (PubSubSubscriber<K, V> subscriber : subscribers) {
            if (subscriber.isCancelled()) {
                continue;
            }
            attached.add(subscriber);
            Map<Object, List<PubSubSubscriber<K, V>>> map = subscriber.pattern ? patterns : channels;
            for (K key : subscriber.keys) {
                Object mapKey = mapKey(key);
                List<PubSubSubscriber<K, V>> current = map.get(mapKey);
                if (current == null) {
                    map.put(mapKey, List.of(subscriber));
                    (subscriber.pattern ? newPatterns : newChannels).add(key);
                }
                else {
                    List<PubSubSubscriber<K, V>> grown = new ArrayList<>(current.size() + 1);
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
        for (PubSubSubscriber<K, V> subscriber : subscribers) {
            confirmIfReady(subscriber);
        }
    }

    /** SUBSCRIBEs (or PSUBSCRIBEs) keys new on this worker; they stay unconfirmed until Redis answers. */
    private void send(StatefulRedisPubSubConnection<K, V> sentOn, List<K> keys, boolean pattern) {
        for (K key : keys) {
            send(sentOn, key, pattern);
        }
    }

    /**
     * One key per command, as with every (P)SUBSCRIBE and (P)UNSUBSCRIBE here. Redis answers a command of n keys with
     * n confirmations, and Lettuce completes the command at the head of its queue with each one: the second
     * confirmation of {@code SUBSCRIBE a b} would complete the next SUBSCRIBE, before Redis had even read it, and that
     * command's own answer (a NOPERM, say) would then reach no one. With one key per command, each answer is its own.
     * They leave in one write all the same (flushes are coalesced per loop tick); Redis refuses a command whole, so a
     * refused key also no longer takes down the other keys sent with it.
     */
    private void send(StatefulRedisPubSubConnection<K, V> sentOn, K key, boolean pattern) {
        RedisFuture<Void> subscribed = pattern ? sentOn.async().psubscribe(array(List.of(key)))
                : sentOn.async().subscribe(array(List.of(key)));
        unconfirmed(pattern).put(mapKey(key), subscribed);
        subscribed.whenComplete((ignored, error) -> execute(() -> {
            if (error == null) {
                confirmed(sentOn, subscribed, key, pattern);
            }
            else {
                subscribeFailed(sentOn, subscribed, key, pattern, RedisUris.unwrap(error));
            }
        }));
    }

    private Map<Object, RedisFuture<Void>> unconfirmed(boolean pattern) {
        return pattern ? unconfirmedPatterns : unconfirmedChannels;
    }

    /**
     * Redis confirmed a SUBSCRIBE: its key receives messages from now on. A key unsubscribed and subscribed again
     * since waits for its newer SUBSCRIBE.
     */
    private void confirmed(StatefulRedisPubSubConnection<K, V> sentOn, RedisFuture<Void> subscribed, K key,
            boolean pattern) {
        Object mapKey = mapKey(key);
        if (connection != sentOn || unconfirmed(pattern).get(mapKey) != subscribed) {
            return;
        }
        unconfirmed(pattern).remove(mapKey);
        for (PubSubSubscriber<K, V> subscriber : (pattern ? patterns : channels).getOrDefault(mapKey, List.of())) {
            confirmIfReady(subscriber);
        }
    }

    /** Tells a subscriber that waits for it that Redis has confirmed all its keys on this worker. */
    private void confirmIfReady(PubSubSubscriber<K, V> subscriber) {
        if (!subscriber.awaitsConfirmation() || !attached.contains(subscriber)) {
            return;
        }
        Map<Object, RedisFuture<Void>> unconfirmed = unconfirmed(subscriber.pattern);
        for (K key : subscriber.keys) {
            if (unconfirmed.containsKey(mapKey(key))) {
                return;
            }
        }
        subscriber.confirm();
    }

    private void subscribeFailed(StatefulRedisPubSubConnection<K, V> sentOn, RedisFuture<Void> subscribed, K key,
            boolean pattern, Throwable error) {
        if (connection != sentOn) {
            return; // already replaced: its subscribers have been told
        }
        if (!(error instanceof RedisCommandExecutionException)) {
            sentOn.closeAsync();
            died(sentOn, error);
            return;
        }
        Object mapKey = mapKey(key);
        if (unconfirmed(pattern).get(mapKey) != subscribed) {
            return; // unsubscribed since, perhaps subscribed again: a newer SUBSCRIBE speaks for the key now
        }
        for (PubSubSubscriber<K, V> subscriber : (pattern ? patterns : channels).getOrDefault(mapKey, List.of())) {
            leave(subscriber);
            subscriber.fail(error);
        }
    }

    /** A subscriber leaves (cancelled or refused): the last subscriber of a channel or pattern unsubscribes it. */
    void leave(PubSubSubscriber<K, V> subscriber) {
        if (pending.remove(subscriber)) {
            updateCounts();
            return;
        }
        if (!attached.remove(subscriber)) {
            return;
        }
        Map<Object, List<PubSubSubscriber<K, V>>> map = subscriber.pattern ? patterns : channels;
        List<K> unused = new ArrayList<>();
        for (K key : subscriber.keys) {
            Object mapKey = mapKey(key);
            List<PubSubSubscriber<K, V>> current = map.get(mapKey);
            if (current == null) {
                continue;
            }
            List<PubSubSubscriber<K, V>> shrunk = new ArrayList<>(current);
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
        if (current == null || !current.isOpen()) {
            return;
        }
        for (K key : unused) {
            // One key per command, for the reason given at send(..).
            RedisFuture<Void> unsubscribed = subscriber.pattern ? current.async().punsubscribe(array(List.of(key)))
                    : current.async().unsubscribe(array(List.of(key)));
            unsubscribed.whenComplete((ignored, error) -> {
                if (error != null) {
                    logger.debug("Redis pool '{}' (worker {}): UNSUBSCRIBE failed: {}", poolName, worker,
                            error.toString());
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
        hub.releasePermit();
        List<PubSubSubscriber<K, V>> subscribers = new ArrayList<>(attached);
        clearSubscriptions();
        updateCounts();
        listener.closed(worker, CloseReason.UNUSABLE);
        RedisPoolConnectionException failure = new RedisPoolConnectionException(poolName, worker, "Redis pool '"
                + poolName + "' (worker " + worker + "): Pub/Sub connection to " + RedisUris.describe(uri) + " lost"
                + ": " + (cause != null ? RedisUris.reason(cause, uri) : "the connection was closed")
                + "; subscribe again to resubscribe", cause != null ? RedisUris.withoutSecrets(cause, uri) : null);
        if (!subscribers.isEmpty()) {
            logger.warn("{} ({} subscriber(s) failed)", failure.getMessage(), subscribers.size());
        }
        dead.closeAsync();
        for (PubSubSubscriber<K, V> subscriber : subscribers) {
            subscriber.fail(failure);
        }
    }

    /**
     * The pool closes: every subscriber completes and the connection, if any, is closed; {@code done} says when (with a
     * connect still running, once it has ended and its connection is closed).
     */
    void shutdown(CompletableFuture<Void> done) {
        List<PubSubSubscriber<K, V>> subscribers = new ArrayList<>(attached);
        subscribers.addAll(pending);
        clearSubscriptions();
        pending.clear();
        StatefulRedisPubSubConnection<K, V> open = connection;
        connection = null;
        available = false;
        if (open != null) {
            hub.releasePermit();
        }
        updateCounts();
        for (PubSubSubscriber<K, V> subscriber : subscribers) {
            subscriber.complete();
        }
        if (open == null) {
            connectEnded.whenComplete((ignored, error) -> done.complete(null));
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

    private void failAcquire(PubSubSubscriber<K, V> subscriber, RuntimeException failure) {
        countAcquireFailed(subscriber);
        subscriber.fail(failure);
    }

    private void countAcquireFailed(PubSubSubscriber<K, V> subscriber) {
        listener.acquireFailed(subscriber.offLoop ? -1 : subscriber.worker, AcquireOutcome.ERROR,
                System.nanoTime() - subscriber.start);
    }

    private void updateCounts() {
        openCount = connection != null || connecting ? 1 : 0;
        channelCount = channels.size();
        patternCount = patterns.size();
        subscriberCount = attached.size();
        pendingCount = pending.size();
    }

    /** Map key of a channel or pattern: {@code byte[]} keys compare by content. */
    private static Object mapKey(Object key) {
        return key instanceof byte[] bytes ? ByteBuffer.wrap(bytes) : key;
    }

    @SuppressWarnings("unchecked")
    private static <K> K[] array(List<K> keys) {
        return (K[]) keys.toArray();
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

        private void deliver(List<PubSubSubscriber<K, V>> subscribers, PubSubMessage<K, V> message) {
            if (subscribers != null) {
                for (int i = 0; i < subscribers.size(); i++) {
                    subscribers.get(i).offer(message);
                }
            }
        }
    }
}
