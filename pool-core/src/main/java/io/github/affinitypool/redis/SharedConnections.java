package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.RedisCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.core.PoolClosedException;
import io.github.affinitypool.core.WorkerLoops;

/**
 * The multiplexed connections behind {@link RedisAffinityPool#commands()}: {@code perWorker} per worker, each pinned
 * to its worker's loop.
 * <p>
 * A broken connection (Redis restarted, network error) is replaced on the same worker by the next call that needs it;
 * only one connect per slot runs at a time and concurrent callers wait for it. When a connect fails, callers fail
 * fast with a {@link RedisPoolConnectionException} naming the cause until a short, growing back-off has passed, so a
 * Redis outage produces quick errors instead of hangs or a connect storm. Any successful connect of the pool (a shared
 * or an exclusive connection) ends the back-off of every slot: Redis is back, and waiting out up to a second of
 * back-off would only prolong the outage for the callers of {@code commands()}.
 * <p>
 * A command that times out makes its connection prove itself: a PING must be answered (any answer will do) within the
 * command timeout, else the connection is closed and replaced like a broken one. A peer that vanished without a reset
 * (power loss, a dropped NAT entry, a partition) leaves the socket open with unacknowledged data; TCP keep-alive does
 * not apply then and the kernel gives up only after some 15 minutes of retransmissions, during which every command on
 * the connection would time out. A Redis that is merely slow answers the PING once it is done and keeps the connection.
 */
final class SharedConnections<K, V> {

    private static final Logger logger = LoggerFactory.getLogger(SharedConnections.class);

    static final long MIN_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final String poolName;

    private final WorkerLoops loops;

    private final WorkerClients clients;

    private final RedisCodec<K, V> codec;

    private final List<RedisURI> uris;

    private final Duration commandTimeout;

    private final AffinityPoolListener listener;

    private final Slot[][] slots;

    /** Round-robin position within each worker's slots; races only skew the spread. */
    private final int[] nextSlot;

    private volatile boolean closed;

    @SuppressWarnings("unchecked")
    SharedConnections(String poolName, WorkerLoops loops, WorkerClients clients, RedisCodec<K, V> codec,
            List<RedisURI> uris, int perWorker, Duration commandTimeout, AffinityPoolListener listener) {
        this.poolName = poolName;
        this.loops = loops;
        this.clients = clients;
        this.codec = codec;
        this.uris = uris;
        this.commandTimeout = commandTimeout;
        this.listener = listener;
        this.slots = new SharedConnections.Slot[loops.size()][perWorker];
        this.nextSlot = new int[loops.size()];
        for (int worker = 0; worker < loops.size(); worker++) {
            for (int index = 0; index < perWorker; index++) {
                slots[worker][index] = new Slot(worker);
            }
        }
    }

    /** Opens every shared connection in the background; failures are left for the first call to report. */
    void warmUp() {
        for (Slot[] workerSlots : slots) {
            for (Slot slot : workerSlots) {
                slot.connection().subscribe(connection -> {
                }, error -> logger.debug("Redis pool '{}': shared connection warm-up failed: {}", poolName,
                        error.toString()));
            }
        }
    }

    /**
     * @return a slot of the calling thread's worker (round robin among its slots), or of the next round-robin worker
     *         when called off-loop
     */
    Slot pick() {
        int worker = loops.currentOrNextWorker();
        Slot[] workerSlots = slots[worker];
        if (workerSlots.length == 1) {
            return workerSlots[0];
        }
        int index = nextSlot[worker];
        nextSlot[worker] = index + 1 == workerSlots.length ? 0 : index + 1;
        return workerSlots[Math.min(index, workerSlots.length - 1)];
    }

    /** @return the open shared connections, for tests and diagnostics */
    List<StatefulRedisConnection<K, V>> openConnections() {
        List<StatefulRedisConnection<K, V>> open = new ArrayList<>();
        for (Slot[] workerSlots : slots) {
            for (Slot slot : workerSlots) {
                StatefulRedisConnection<K, V> connection = slot.openConnection();
                if (connection != null) {
                    open.add(connection);
                }
            }
        }
        return open;
    }

    /**
     * Redis answered a connect of this pool: the slots backing off after a failed connect try again on their next call
     * instead of failing it. Each still connects at most once at a time, so this cannot start a connect storm.
     */
    void serverReachable() {
        for (Slot[] workerSlots : slots) {
            for (Slot slot : workerSlots) {
                slot.retryNow();
            }
        }
    }

    /** @return a snapshot of every worker's shared connections */
    SharedStats stats() {
        List<SharedStats.Worker> workers = new ArrayList<>(slots.length);
        for (int worker = 0; worker < slots.length; worker++) {
            int open = 0;
            int connecting = 0;
            int unavailable = 0;
            for (Slot slot : slots[worker]) {
                synchronized (slot) {
                    if (slot.openConnection() != null) {
                        open++;
                    }
                    else if (slot.connecting != null) {
                        connecting++;
                    }
                    else if (slot.lastFailure != null) {
                        unavailable++;
                    }
                }
            }
            workers.add(new SharedStats.Worker(worker, open, connecting, unavailable));
        }
        return new SharedStats(slots[0].length, workers);
    }

    /** @return the number of shared connections */
    int size() {
        return slots.length * slots[0].length;
    }

    /**
     * Closes every shared connection; connects still running close theirs when they complete.
     *
     * @param connectWait how long to wait for the connects under way (a host that answers no SYN keeps one going for
     *        the whole connect timeout); the pool's close timeout
     * @return completion of the closes, and of the connects under way or of the wait for them
     */
    CompletableFuture<Void> closeAsync(Duration connectWait) {
        closed = true;
        List<CompletableFuture<Void>> closes = new ArrayList<>();
        for (Slot[] workerSlots : slots) {
            for (Slot slot : workerSlots) {
                closes.add(slot.close(connectWait));
            }
        }
        return CompletableFuture.allOf(closes.toArray(new CompletableFuture<?>[0]));
    }

    /** One shared connection of a worker and its reconnect state. */
    final class Slot {

        private final int worker;

        private volatile StatefulRedisConnection<K, V> connection;

        /** The connect in progress, {@code null} when none; guarded by {@code this}. */
        private CompletableFuture<StatefulRedisConnection<K, V>> connecting;

        private Throwable lastFailure;

        private long retryAt;

        private long backoff = MIN_BACKOFF_NANOS;

        /** Whether a health-check PING, started by a command timeout, is on its way: one at a time is enough. */
        private final AtomicBoolean checking = new AtomicBoolean();

        /**
         * Why the pool closed the last connection itself, until a new one is open: the commands that were in flight on
         * it fail with Lettuce's bare "Connection closed", and their callers should learn the reason instead.
         */
        private volatile String closedBecause;

        Slot(int worker) {
            this.worker = worker;
        }

        int worker() {
            return worker;
        }

        /**
         * A command's failure, as {@link #failure} makes it, signalled on this slot's loop when the caller subscribed
         * there (see {@link EventLoopTasks#errorOn}). The caller is asked for only here, on the error path, so that a
         * command that succeeds pays nothing for it.
         *
         * @param caller the thread that subscribed to the command
         */
        <T> Mono<T> failed(Thread caller, Throwable error) {
            Throwable failure = failure(error);
            return loops.loop(worker).inEventLoop(caller) ? EventLoopTasks.errorOn(loops, worker, failure)
                    : Mono.error(failure);
        }

        /** Like {@link #failed}, for a command whose reply is a stream. */
        <T> Flux<T> failedMany(Thread caller, Throwable error) {
            Throwable failure = failure(error);
            return loops.loop(worker).inEventLoop(caller) ? EventLoopTasks.errorManyOn(loops, worker, failure)
                    : Flux.error(failure);
        }

        /** Ends the back-off, if any: the next call connects. */
        synchronized void retryNow() {
            if (lastFailure != null && System.nanoTime() - retryAt < 0) {
                retryAt = System.nanoTime();
            }
        }

        /** @return the connection when it is open, else {@code null}; the fast path, no allocation */
        StatefulRedisConnection<K, V> openConnection() {
            StatefulRedisConnection<K, V> current = connection;
            return current != null && current.isOpen() ? current : null;
        }

        /**
         * @return the open connection, the connect in progress, a new connect, or a fast error while backing off after
         *         a failed connect
         */
        Mono<StatefulRedisConnection<K, V>> connection() {
            CompletableFuture<StatefulRedisConnection<K, V>> pending;
            StatefulRedisConnection<K, V> broken;
            synchronized (this) {
                StatefulRedisConnection<K, V> current = connection;
                if (current != null && current.isOpen()) {
                    return Mono.just(current);
                }
                if (closed) {
                    return Mono.error(closedError());
                }
                if (connecting != null) {
                    return Mono.fromFuture(connecting, true);
                }
                if (lastFailure != null && System.nanoTime() - retryAt < 0) {
                    return Mono.error(unavailable(lastFailure));
                }
                broken = current;
                connection = null;
                pending = new CompletableFuture<>();
                connecting = pending;
            }
            if (broken != null) {
                discard(broken);
            }
            connect(pending);
            return Mono.fromFuture(pending, true);
        }

        /**
         * @param closed a connection that refused a write because its socket has closed, though it may still say it is
         *        open: Lettuce learns of the close only in a later task of the loop
         * @return a connection other than {@code closed}: the open one, the connect in progress or a new connect
         */
        Mono<StatefulRedisConnection<K, V>> replace(StatefulRedisConnection<K, V> closed) {
            boolean current;
            synchronized (this) {
                current = connection == closed;
                if (current) {
                    connection = null;
                }
            }
            if (current) {
                discard(closed);
            }
            return connection();
        }

        private void discard(StatefulRedisConnection<K, V> broken) {
            logger.info("Redis pool '{}' (worker {}): shared connection closed, reconnecting", poolName, worker);
            listener.closed(worker, CloseReason.UNUSABLE);
            broken.closeAsync();
        }

        /**
         * Starts the connect on the worker's own loop. Started from another thread (the warm-up in {@code build()}, an
         * off-loop caller), Lettuce adds its connect listener after {@code connect()} returns; if that thread stalls
         * while the loop connects and a failed handshake (WRONGPASS) closes the channel, the listener finds the
         * handshake handler gone and reports "RedisHandshakeHandler not registered" instead of Redis's reason.
         */
        private void connect(CompletableFuture<StatefulRedisConnection<K, V>> pending) {
            EventLoopTasks.runOn(loops.loop(worker), () -> startConnect(pending));
        }

        private void startConnect(CompletableFuture<StatefulRedisConnection<K, V>> pending) {
            CompletableFuture<StatefulRedisConnection<K, V>> attempt;
            try {
                attempt = clients.client(worker).connectAsync(codec, uris.get(worker)).toCompletableFuture();
            }
            catch (RuntimeException ex) {
                attempt = CompletableFuture.failedFuture(ex);
            }
            attempt.whenComplete((opened, error) -> {
                boolean poolClosed;
                Throwable failure = null;
                boolean firstFailure = false;
                boolean recovered = false;
                synchronized (this) {
                    connecting = null;
                    poolClosed = closed;
                    if (!poolClosed && error != null) {
                        firstFailure = lastFailure == null;
                        lastFailure = RedisUris.unwrap(error);
                        retryAt = System.nanoTime() + backoff;
                        backoff = Math.min(backoff * 2, MAX_BACKOFF_NANOS);
                        failure = unavailable(lastFailure);
                    }
                    else if (!poolClosed) {
                        recovered = lastFailure != null || closedBecause != null;
                        connection = opened;
                        closedBecause = null;
                        lastFailure = null;
                        backoff = MIN_BACKOFF_NANOS;
                    }
                }
                // Complete outside the lock: waiting callers dispatch their commands from here.
                if (failure != null) {
                    if (firstFailure) {
                        logger.warn("{}", failure.getMessage());
                    }
                    pending.completeExceptionally(failure);
                }
                else if (poolClosed) {
                    // Completed once closed, since the pool's close waits for it.
                    CompletableFuture<Void> closing = opened != null ? opened.closeAsync()
                            : CompletableFuture.completedFuture(null);
                    closing.whenComplete((ignored, closeError) -> pending.completeExceptionally(closedError()));
                }
                else {
                    if (recovered) {
                        logger.info("Redis pool '{}' (worker {}): shared connection re-established", poolName, worker);
                    }
                    listener.opened(worker);
                    pending.complete(opened);
                    // Also when this slot had no failure of its own: no call came to it during the outage, while the
                    // other slots' callers made theirs back off.
                    serverReachable();
                }
            });
        }

        /**
         * @param error the error a command on this slot failed with
         * @return the error its caller sees: a clear {@link RedisPoolConnectionException} for a lost connection, else
         *         {@code error} itself; a timeout also starts a health check of the connection
         */
        Throwable failure(Throwable error) {
            if (RedisUris.isConnectionLoss(error)) {
                String because = closedBecause;
                return because != null ? RedisUris.connectionLost(poolName, worker, uris.get(worker), because, error)
                        : RedisUris.connectionLost(poolName, worker, uris.get(worker), error);
            }
            if (error instanceof RedisCommandTimeoutException) {
                check();
            }
            return error;
        }

        /** PINGs the current connection, unless a check is already on its way, and closes it if no answer comes. */
        private void check() {
            StatefulRedisConnection<K, V> current = connection;
            if (current == null || !current.isOpen() || !checking.compareAndSet(false, true)) {
                return;
            }
            current.async().ping().whenComplete((pong, error) -> {
                checking.set(false);
                if (RedisUris.unwrap(error) instanceof RedisCommandTimeoutException) {
                    stoppedAnswering(current);
                }
            });
        }

        /** Closes a connection that did not answer its health check; the next call opens a new one. */
        private void stoppedAnswering(StatefulRedisConnection<K, V> silent) {
            String reason = "no answer to a health-check PING within " + commandTimeout.toMillis()
                    + " ms after a command timed out";
            synchronized (this) {
                if (connection != silent) {
                    return;
                }
                connection = null;
                closedBecause = reason;
            }
            logger.warn("Redis pool '{}' (worker {}): shared connection to {} closed: {}; the next call reconnects",
                    poolName, worker, RedisUris.describe(uris.get(worker)), reason);
            listener.closed(worker, CloseReason.VALIDATION_FAILED);
            silent.closeAsync();
        }

        private PoolClosedException closedError() {
            return new PoolClosedException("Redis pool '" + poolName + "' is closed", poolName, worker);
        }

        private RedisPoolConnectionException unavailable(Throwable cause) {
            long retryInMillis;
            synchronized (this) {
                retryInMillis = Math.max(0, TimeUnit.NANOSECONDS.toMillis(retryAt - System.nanoTime()));
            }
            RedisURI uri = uris.get(worker);
            return new RedisPoolConnectionException(poolName, worker, "Redis pool '" + poolName + "' (worker " + worker
                    + "): shared connection to " + RedisUris.describe(uri) + " is unavailable: "
                    + RedisUris.reason(cause, uri) + " (next reconnect attempt in " + retryInMillis + " ms)",
                    RedisUris.withoutSecrets(cause, uri));
        }

        /**
         * @param connectWait how long to wait for a connect under way
         * @return completion of the close of the slot's connection, or of the connect under way, which closes what it
         *         opens once it sees the pool closed: a close that returned before would have the pool's client
         *         resources shut down under it
         */
        CompletableFuture<Void> close(Duration connectWait) {
            StatefulRedisConnection<K, V> current;
            CompletableFuture<StatefulRedisConnection<K, V>> inProgress;
            synchronized (this) {
                current = connection;
                connection = null;
                inProgress = connecting;
                // The commands still in flight fail with the close: a shutdown, not an outage.
                closedBecause = "the pool was closed";
            }
            if (current == null) {
                return inProgress == null ? CompletableFuture.completedFuture(null)
                        : inProgress.<Void>handle((ignored, error) -> null)
                                .completeOnTimeout(null, connectWait.toNanos(), TimeUnit.NANOSECONDS);
            }
            listener.closed(worker, CloseReason.POOL_CLOSED);
            return current.closeAsync().exceptionally(ignored -> null);
        }

        @Override
        public String toString() {
            return "Slot{worker=" + worker + ", connection=" + connection + "}";
        }
    }
}
