package io.github.affinitypool.redis;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.NettyCustomizer;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.resources.LoopResources;

import io.github.affinitypool.core.AffinityPool;
import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.AffinityPoolListener;
import io.github.affinitypool.core.AffinityPoolStats;
import io.github.affinitypool.core.WorkerLoops;

/**
 * A Redis connection pool whose connections are pinned to event-loop workers: a command issued on worker N's loop is
 * written, and its reply decoded and emitted, on loop N, with no thread hop.
 * <p>
 * Two ways to run commands, both on the caller's loop:
 * <ol>
 *     <li>{@link #commands()}: plain commands (GET, SET, HGETALL, EVALSHA, ...) on a few multiplexed connections per
 *     worker, shared by every caller on that worker, with the flushes of one loop tick coalesced into one write. The
 *     fast path. Refuses what would change a shared connection's state (MULTI, WATCH, SELECT, SUBSCRIBE, WAIT, ...)
 *     with a {@link RefusedCommandException} naming the API to use; blocking commands (BLPOP, XREAD with BLOCK, ...)
 *     run on an exclusive lease by themselves.</li>
 *     <li>{@link #acquire()} / {@link #withConnection(Function)}: an exclusive connection from the worker's
 *     {@link AffinityPool}, for transactions, blocking commands and explicit pipelines; cleaned (DISCARD, UNWATCH,
 *     SELECT back, auto-flush on) or closed on release. {@link #transaction(Function)} and
 *     {@link #pipelined(Function)} run MULTI/EXEC and pipelines on such a lease for you; blocking commands called on
 *     {@link #commands()} (BLPOP, XREAD BLOCK, ...) take one transparently.</li>
 * </ol>
 * Pub/Sub runs on separate connections, at most one per worker ({@link Builder#pubSubMaxOpen(int)}):
 * {@link #subscribe(Object[])} and {@link #psubscribe(Object[])} multiplex every subscription of a worker over its
 * connection and deliver messages on the subscriber's loop.
 * Every connection is opened with {@code connectAsync} on its worker's own lightweight Lettuce {@code RedisClient},
 * with the handshake from the Redis URI (AUTH/HELLO with password or ACL user, SELECT, CLIENT SETNAME), auto-reconnect
 * off (the pool replaces broken connections) and a command timeout.
 *
 * @param <K> key type
 * @param <V> value type
 */
public final class RedisAffinityPool<K, V> implements AutoCloseable {

    private final String name;

    private final String uri;

    private final WorkerLoops loops;

    private final boolean ownsLoops;

    private final WorkerClients clients;

    private final SharedConnections<K, V> shared;

    private final RedisReactiveCommands<K, V> commands;

    private final AffinityPool<StatefulRedisConnection<K, V>> pool;

    private final PubSubHub<K, V> pubSub;

    private final Duration commandTimeout;

    private final Duration closeTimeout;

    private final AtomicReference<Mono<Void>> closing = new AtomicReference<>();

    private final Sinks.Empty<Void> closed = Sinks.empty();

    private RedisAffinityPool(String name, String uri, WorkerLoops loops, boolean ownsLoops, WorkerClients clients,
            SharedConnections<K, V> shared, AffinityPool<StatefulRedisConnection<K, V>> pool, PubSubHub<K, V> pubSub,
            Duration commandTimeout, Duration closeTimeout) {
        this.name = name;
        this.uri = uri;
        this.loops = loops;
        this.ownsLoops = ownsLoops;
        this.clients = clients;
        this.shared = shared;
        this.commands = SharedCommands.create(shared, this::withConnection, clients.client(0).getOptions(),
                "RedisAffinityPool('" + name + "').commands()");
        this.pool = pool;
        this.pubSub = pubSub;
        this.commandTimeout = commandTimeout;
        this.closeTimeout = closeTimeout;
    }

    /**
     * @param redisUri for example {@code redis://localhost:6379}, {@code redis://:secret@host:6379/2},
     *        {@code redis://user:secret@host:6379?clientName=orders}, {@code rediss://host:6380}
     * @return a builder for a pool of {@code String} keys and values (change with {@link Builder#codec(RedisCodec)})
     * @throws IllegalArgumentException for a malformed URI (the message never contains the password), also for a user
     *         name or password with a {@code /}, {@code ?}, {@code #} or {@code @} not percent-encoded ({@code %2F},
     *         {@code %3F}, {@code %23}, {@code %40}; the encoded forms are decoded)
     */
    public static Builder<String, String> builder(String redisUri) {
        Objects.requireNonNull(redisUri, "redisUri must not be null");
        return new Builder<>(RedisUris.parse(redisUri), StringCodec.UTF8);
    }

    /**
     * @param redisUri the Redis URI, copied (later changes to it do not affect the pool)
     * @return a builder for a pool of {@code String} keys and values (change with {@link Builder#codec(RedisCodec)})
     */
    public static Builder<String, String> builder(RedisURI redisUri) {
        Objects.requireNonNull(redisUri, "redisUri must not be null");
        // Before the copy: Lettuce's copy keeps neither sentinels nor socket, and then fails for want of a host.
        requireHostUri(redisUri);
        return new Builder<>(RedisUris.withImmediateCredentials(RedisURI.builder(redisUri).build()), StringCodec.UTF8);
    }

    private static void requireHostUri(RedisURI uri) {
        if (uri.getSocket() != null) {
            throw new IllegalArgumentException("Only redis:// and rediss:// host URIs are supported, not a Unix "
                    + "domain socket (" + uri.getSocket() + ")");
        }
        if (uri.getSentinels() != null && !uri.getSentinels().isEmpty()) {
            throw new IllegalArgumentException("Only redis:// and rediss:// host URIs are supported, not Redis "
                    + "Sentinel (master '" + uri.getSentinelMasterId() + "')");
        }
    }

    /**
     * Commands on the shared, multiplexed connections of the caller's worker: the fast path for plain commands.
     * <p>
     * Each call is routed when it is subscribed: on worker N's loop to a connection pinned to N (round robin among
     * {@link Builder#sharedConnectionsPerWorker(int)}), off-loop to the next worker in round robin. The reply is
     * emitted on that connection's loop.
     * <p>
     * Blocking commands — BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, BLMPOP, BZMPOP, XREAD/XREADGROUP with
     * BLOCK — run transparently on an exclusive lease of the caller's worker (as with {@link #withConnection}),
     * released when the reply arrives; cancelling one closes that connection (a late reply must not reach the next
     * borrower). Their command timeout is the pool's plus the time they may block (none when they may block forever).
     * <p>
     * Refused, as an error of the returned publisher ({@link RefusedCommandException}):
     * MULTI/EXEC/DISCARD/WATCH/UNWATCH (use {@link #transaction(Function)}), SELECT, SWAPDB, AUTH, HELLO, RESET, QUIT,
     * READONLY/READWRITE, CLIENT TRACKING/REPLY/CACHING/SETNAME/SETINFO/NO-EVICT/NO-TOUCH, the SUBSCRIBE family (use
     * {@link #subscribe(Object[])}), MONITOR and SYNC/PSYNC/REPLCONF, WAIT/WAITAOF (they count the acknowledgements of
     * the connection's own writes); and, thrown, {@code setTimeout}
     * and {@code getStatefulConnection} (there is no single connection to flush or time out: flushes are coalesced
     * per loop tick, the timeout is {@link Builder#commandTimeout(Duration)}).
     *
     * @return the shared commands; one instance, safe to keep and use from any thread
     */
    public RedisReactiveCommands<K, V> commands() {
        return commands;
    }

    /**
     * Borrows an exclusive connection, preferably one living on the caller's loop (see {@link RedisLease#locality()}).
     * Waits at most the pool's acquire timeout.
     *
     * @return the lease; release it with {@link RedisLease#release()}
     */
    public Mono<RedisLease<K, V>> acquire() {
        return pool.acquire().map(RedisLease::new);
    }

    /**
     * Runs {@code work} on an exclusive connection and releases it when the returned {@link Flux} completes, fails or
     * is cancelled (radix's {@code Cmd}, go-redis's single-connection use).
     *
     * @param work builds the commands to run from the connection's reactive API
     * @param <R> element type
     * @return the elements {@code work} emits
     */
    public <R> Flux<R> withConnection(Function<? super RedisReactiveCommands<K, V>, ? extends Publisher<R>> work) {
        Objects.requireNonNull(work, "work must not be null");
        // Detached on termination for the reason given in SharedCommands: a finished command stays referenced from
        // Lettuce's timeout timer for a while, and must not keep the caller's whole request reachable with it.
        return errorsOnCallersLoop(Flux.usingWhen(acquire(), lease -> work.apply(lease.reactive()),
                RedisLease::release, (lease, error) -> lease.release(), RedisLease::release).onTerminateDetach());
    }

    /**
     * Signals the errors of a lease's work on the loop its caller subscribed on, as its replies are (a timed-out
     * command fails on Lettuce's computation thread: {@link EventLoopTasks#errorOn}); off-loop callers are left alone.
     */
    private <R> Flux<R> errorsOnCallersLoop(Flux<R> work) {
        return Flux.defer(() -> {
            int worker = loops.currentWorker();
            return worker < 0 ? work : work.onErrorResume(error -> EventLoopTasks.errorManyOn(loops, worker, error));
        });
    }

    /** Like {@link #errorsOnCallersLoop(Flux)}, for a {@link Mono}. */
    private <R> Mono<R> errorsOnCallersLoop(Mono<R> work) {
        return Mono.defer(() -> {
            int worker = loops.currentWorker();
            return worker < 0 ? work : work.onErrorResume(error -> EventLoopTasks.errorOn(loops, worker, error));
        });
    }

    /**
     * A transaction: MULTI, the commands {@code commands} issues, EXEC, on one exclusive connection.
     * <p>
     * In a transaction Redis answers each command with QUEUED and the results all arrive with EXEC's reply, so
     * {@code commands} must issue every command <em>without waiting for another one's result</em>: return them
     * together, for example {@code Flux.merge(c.incr(k), c.expire(k, 60))} or {@code Mono.when(...)}. The pool
     * subscribes to the returned publisher (which dispatches the commands), sends EXEC, and completes once EXEC has
     * answered and the publisher has completed. A command issued after EXEC (in reaction to a result) fails with an
     * {@link IllegalStateException} and is never sent; so do MULTI, EXEC and DISCARD (the pool sends them).
     * <pre>{@code
     * redis.transaction(c -> Flux.merge(c.incr("visits"), c.expire("visits", 60)))
     *      .map(result -> (Long) result.get(0));   // INCR's reply
     * }</pre>
     * An error reply to a queued command (WRONGTYPE, ...) is an element of the result, as in Redis. If the publisher
     * fails before EXEC is sent, or the returned Mono is cancelled, the transaction is discarded (DISCARD on release);
     * when the connection's state is unknown (EXEC in flight) it is closed instead of returned to the pool.
     *
     * @param commands issues the transaction's commands on the leased connection
     * @return EXEC's result
     */
    public Mono<TransactionResult> transaction(
            Function<? super RedisReactiveCommands<K, V>, ? extends Publisher<?>> commands) {
        Objects.requireNonNull(commands, "commands must not be null");
        return transaction(List.of(), null, (c, ignored) -> commands.apply(c));
    }

    /**
     * A transaction with optimistic locking: WATCH {@code watchKeys}, MULTI, the commands, EXEC. If another client
     * changed a watched key in between, Redis discards the transaction: the result's
     * {@link TransactionResult#wasDiscarded() wasDiscarded()} is {@code true}. See {@link #transaction(Function)} for
     * how {@code commands} issues the commands.
     *
     * @param watchKeys keys to WATCH before MULTI
     * @param commands issues the transaction's commands on the leased connection
     * @return EXEC's result, discarded when a watched key changed
     */
    public Mono<TransactionResult> transaction(Collection<? extends K> watchKeys,
            Function<? super RedisReactiveCommands<K, V>, ? extends Publisher<?>> commands) {
        Objects.requireNonNull(commands, "commands must not be null");
        return transaction(watchKeys, null, (c, ignored) -> commands.apply(c));
    }

    /**
     * Check-and-set: WATCH {@code watchKeys}, {@code read} (plain commands, before MULTI, their results available),
     * then MULTI, the commands {@code commands} issues from what was read, EXEC.
     * <pre>{@code
     * redis.transaction(List.of("balance"),
     *         c -> c.get("balance").map(Long::parseLong),                           // read, watched
     *         (c, balance) -> c.set("balance", Long.toString(balance - 10)))        // queued
     *      .filter(result -> !result.wasDiscarded())
     *      .repeatWhenEmpty(...)                                                    // retry on a conflict, as you like
     * }</pre>
     * An empty {@code read} aborts: nothing is queued, no MULTI is sent, and the returned Mono completes empty.
     *
     * @param watchKeys keys to WATCH first, may be empty
     * @param read reads before MULTI; its value is handed to {@code commands}
     * @param commands issues the transaction's commands (see {@link #transaction(Function)})
     * @param <T> the value read
     * @return EXEC's result (discarded when a watched key changed), or empty when {@code read} was empty
     */
    public <T> Mono<TransactionResult> transaction(Collection<? extends K> watchKeys,
            Function<? super RedisReactiveCommands<K, V>, ? extends Mono<? extends T>> read,
            BiFunction<? super RedisReactiveCommands<K, V>, ? super T, ? extends Publisher<?>> commands) {
        Objects.requireNonNull(watchKeys, "watchKeys must not be null");
        Objects.requireNonNull(commands, "commands must not be null");
        List<K> keys = List.copyOf(watchKeys);
        return errorsOnCallersLoop(Mono.usingWhen(
                acquire().map(lease -> new LeaseWork.Scope<>(lease, ScopedConnection.Kind.TRANSACTION)),
                scope -> LeaseWork.transaction(scope, keys, read, commands), LeaseWork.Scope::release,
                (scope, error) -> scope.release(), LeaseWork.Scope::release).onTerminateDetach());
    }

    /**
     * An explicit pipeline on one exclusive connection: auto-flush off, the commands {@code commands} issues while the
     * pool subscribes to its publisher, one flush, auto-flush back on. Issue the commands together so that they all
     * go out in that one write, for example
     * <pre>{@code
     * redis.pipelined(c -> Flux.fromIterable(keys).flatMapSequential(c::get, keys.size()))   // values in key order
     * }</pre>
     * Commands issued later (in reaction to a result) are still sent, flushed as usual. Auto-flush is on again and the
     * connection clean before it is released, also when {@code commands} fails or the {@code Flux} is cancelled
     * (a command still in flight then closes the connection).
     *
     * @param commands issues the pipeline's commands on the leased connection
     * @param <R> element type
     * @return the elements of the publisher {@code commands} returns
     */
    public <R> Flux<R> pipelined(Function<? super RedisReactiveCommands<K, V>, ? extends Publisher<R>> commands) {
        Objects.requireNonNull(commands, "commands must not be null");
        return errorsOnCallersLoop(Flux.usingWhen(
                acquire().map(lease -> new LeaseWork.Scope<>(lease, ScopedConnection.Kind.PIPELINE)),
                scope -> LeaseWork.pipelined(scope, commands), LeaseWork.Scope::release,
                (scope, error) -> scope.release(), LeaseWork.Scope::release).onTerminateDetach());
    }

    /**
     * Subscribes to channels. The subscription runs on the Pub/Sub connection of the subscriber's worker (opened on
     * first use, pinned to that worker's loop), which SUBSCRIBEs each channel once however many local subscribers it
     * has and UNSUBSCRIBEs it when the last one cancels. Messages are delivered on the subscriber's loop (off-loop
     * subscribers: a round-robin worker's loop), in the order they arrive.
     * <p>
     * Messages published before Redis confirmed the SUBSCRIBE are not received ({@link #subscribeLater(Object[])} tells
     * when it has). A subscriber that requests less than
     * arrives keeps up to {@link Builder#pubSubBufferSize(int)} undelivered messages; beyond that the <em>oldest</em>
     * is dropped and counted ({@link PubSubStats#dropped()}), so a slow subscriber never holds up the others. When the
     * Pub/Sub connection is lost the {@code Flux} fails with a {@link RedisPoolConnectionException} naming the pool,
     * the worker and the server (after the messages already buffered); subscribe again (for example with
     * {@code retryWhen}) to resubscribe. When the pool closes, the {@code Flux} completes.
     *
     * @param channels one or more channels
     * @return the messages, {@link PubSubMessage#pattern()} {@code null}
     */
    @SafeVarargs
    public final Flux<PubSubMessage<K, V>> subscribe(K... channels) {
        return pubSub.subscribe(false, distinct(channels, "channels"));
    }

    /**
     * Subscribes to patterns, like {@link #subscribe(Object[])} with PSUBSCRIBE / PUNSUBSCRIBE.
     *
     * @param patterns one or more glob-style patterns, for example {@code news.*}
     * @return the messages, with the matching {@link PubSubMessage#pattern()}
     */
    @SafeVarargs
    public final Flux<PubSubMessage<K, V>> psubscribe(K... patterns) {
        return pubSub.subscribe(true, distinct(patterns, "patterns"));
    }

    /**
     * Subscribes to channels like {@link #subscribe(Object[])}, but hands out the messages only once Redis has
     * confirmed the SUBSCRIBE of every channel (on this worker's Pub/Sub connection), like Spring Data Redis's
     * {@code ReactiveRedisMessageListenerContainer.receiveLater}. Everything published from then on is received, so a
     * caller can publish, or tell a client that it is listening, without missing a message, for example:
     * <pre>{@code
     * pool.subscribeLater("orders")
     *         .flatMapMany(messages -> messages.startWith(...)) // subscribes to the messages at once
     * }</pre>
     * The {@code Mono} fails as {@link #subscribe(Object[])} would (Redis refuses the channels, the connection is lost
     * or cannot be opened, the pool is closed) and completes empty when the pool closes first; cancelling it
     * unsubscribes, also after it emitted while nobody has subscribed to the {@code Flux} (which then fails a late
     * subscriber). The emitted {@code Flux} allows one subscriber: subscribe to it promptly, because until then its
     * messages wait in the buffer and its subscription holds (cancelling that subscriber unsubscribes).
     *
     * @param channels one or more channels
     * @return the messages of the confirmed subscription, {@link PubSubMessage#pattern()} {@code null}
     */
    @SafeVarargs
    public final Mono<Flux<PubSubMessage<K, V>>> subscribeLater(K... channels) {
        return pubSub.subscribeLater(false, distinct(channels, "channels"));
    }

    /**
     * Subscribes to patterns like {@link #psubscribe(Object[])}, handing out the messages once Redis has confirmed
     * every PSUBSCRIBE, as {@link #subscribeLater(Object[])} does for channels.
     *
     * @param patterns one or more glob-style patterns, for example {@code news.*}
     * @return the messages of the confirmed subscription, with the matching {@link PubSubMessage#pattern()}
     */
    @SafeVarargs
    public final Mono<Flux<PubSubMessage<K, V>>> psubscribeLater(K... patterns) {
        return pubSub.subscribeLater(true, distinct(patterns, "patterns"));
    }

    private static <K> List<K> distinct(K[] keys, String what) {
        Objects.requireNonNull(keys, what + " must not be null");
        if (keys.length == 0) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        Map<Object, K> unique = new LinkedHashMap<>();
        for (K key : keys) {
            Objects.requireNonNull(key, what + " must not contain null");
            unique.putIfAbsent(key instanceof byte[] bytes ? ByteBuffer.wrap(bytes) : key, key);
        }
        return List.copyOf(unique.values());
    }

    /** @return a snapshot of the exclusive connections' statistics (totals, per worker, overflow) */
    public AffinityPoolStats stats() {
        return pool.stats();
    }

    /** @return a snapshot of the Pub/Sub side: open connections, subscriptions, subscribers, drops, per worker */
    public PubSubStats pubSubStats() {
        return pubSub.stats();
    }

    /**
     * @return a snapshot of the shared connections behind {@link #commands()}: open, connecting, unavailable, per
     *         worker
     */
    public SharedStats sharedStats() {
        return shared.stats();
    }

    /** @return the pool's name */
    public String name() {
        return name;
    }

    /**
     * @return the Redis server the pool connects to, for display: scheme, ACL user name, host, port and database, for
     *         example {@code redis://app@cache.internal:6379/2}; never the password
     */
    public String uri() {
        return uri;
    }

    /** @return the worker loops the connections are pinned to */
    public WorkerLoops loops() {
        return loops;
    }

    /** @return the resolved configuration of the exclusive-connection pool */
    public AffinityPoolConfig poolConfig() {
        return pool.config();
    }

    /** @return the number of shared connections behind {@link #commands()} (workers × per-worker count) */
    public int sharedConnections() {
        return shared.size();
    }

    /** @return the command timeout of every connection */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /**
     * @return the Lettuce client options every connection is opened with: those of the builder's
     *         {@link Builder#clientOptions(UnaryOperator) customizers} and {@link Builder#connectTimeout(Duration)
     *         connect timeout}, with what the pool enforces
     */
    public ClientOptions clientOptions() {
        return clients.client(0).getOptions();
    }

    /** Package-private for tests: the shared connections currently open. */
    List<StatefulRedisConnection<K, V>> openSharedConnections() {
        return shared.openConnections();
    }

    /**
     * Ends every Pub/Sub subscription: its subscribers complete, as when the pool closes, and the Pub/Sub connections
     * close; a later subscribe fails with {@code Redis pool '<name>' takes no more subscriptions: it is shutting down}.
     * Commands, leases, transactions and pipelines keep working. The starter calls it when a graceful shutdown begins,
     * so that long-lived responses built on subscriptions (server-sent events, WebSocket feeds) end rather than hold
     * the shutdown up until its timeout; {@link #closeAsync()} does it first too. Starts at once, idempotent.
     *
     * @return completion of the Pub/Sub connections' close
     */
    public Mono<Void> closeSubscriptions() {
        if (closing.get() != null) {
            return closeAsync(); // closed or closing already: its subscriptions end with it, and it says "is closed"
        }
        return Mono.fromCompletionStage(pubSub.closeAsync("takes no more subscriptions: it is shutting down"));
    }

    /**
     * Closes, in order: the Pub/Sub connections (their subscribers complete), the exclusive-connection pool (waiting up
     * to its close timeout for outstanding leases), the shared connections, the per-worker Lettuce clients and
     * resources, the shared computation executor and timer and, in standalone mode, the loops. Starts at once
     * (subscribing is not needed to trigger it), idempotent, never blocks the calling thread.
     *
     * @return completion of the close
     */
    public Mono<Void> closeAsync() {
        Mono<Void> existing = closing.get();
        if (existing != null) {
            return existing;
        }
        Mono<Void> sequence = Mono.fromCompletionStage(() -> pubSub.closeAsync("is closed"))
                .onErrorResume(ignored -> Mono.empty())
                .then(pool.closeAsync()).onErrorResume(ignored -> Mono.empty())
                .then(Mono.fromCompletionStage(() -> shared.closeAsync(closeTimeout)))
                .onErrorResume(ignored -> Mono.empty())
                .then(Mono.fromCompletionStage(() -> clients.shutdownAsync(closeTimeout)))
                .onErrorResume(ignored -> Mono.empty())
                .then(ownsLoops ? loops.loopResources().disposeLater(Duration.ZERO, closeTimeout) : Mono.<Void>empty())
                .doOnTerminate(closed::tryEmitEmpty)
                .cache();
        if (closing.compareAndSet(null, sequence)) {
            sequence.subscribe(ignored -> {
            }, ignored -> {
            });
            return sequence;
        }
        return closing.get();
    }

    /**
     * @return completes once the pool has closed, however the close was started: for what lives as long as the pool,
     *         such as its meters
     */
    public Mono<Void> onClose() {
        return closed.asMono();
    }

    /**
     * Closes like {@link #closeAsync()} and waits for it.
     *
     * @throws IllegalStateException when called on one of the pool's event loops, where waiting would deadlock
     */
    @Override
    public void close() {
        if (loops.currentWorker() >= 0) {
            throw new IllegalStateException("RedisAffinityPool.close() would block event loop "
                    + Thread.currentThread().getName() + "; use closeAsync()");
        }
        Duration wait = closeTimeout.multipliedBy(3).plusSeconds(5);
        if (wait.compareTo(AffinityPoolConfig.MAX_DURATION) > 0) {
            // block() counts in nanoseconds, which the longest close timeout the configuration takes would overflow.
            wait = AffinityPoolConfig.MAX_DURATION;
        }
        closeAsync().block(wait);
    }

    @Override
    public String toString() {
        return "RedisAffinityPool{name='" + name + "', workers=" + loops.size() + ", "
                + (ownsLoops ? "standalone" : "integrated") + "}";
    }

    /**
     * Builder of a {@link RedisAffinityPool}. Defaults:
     * <ul>
     *     <li>{@link #codec(RedisCodec) codec}: {@link StringCodec#UTF8};</li>
     *     <li>{@link #name(String) name}: {@code "default"};</li>
     *     <li>loops: standalone with one worker per available processor, unless {@link #workers(int)},
     *     {@link #loopResources(LoopResources, boolean)} or {@link #workerLoops(WorkerLoops)} says otherwise;</li>
     *     <li>{@link #poolConfig(AffinityPoolConfig) poolConfig}: {@code AffinityPoolConfig.builder().build()}
     *     (max-open workers × 4, max-idle-per-worker 2, min-idle 0, max-lifetime 30 min, max-idle-time 5 min,
     *     acquire-timeout 2 s, max-pending 1000, validate-after-idle 30 s, eviction-interval 30 s, LIFO,
     *     max-concurrent-connects = workers, close-timeout 10 s);</li>
     *     <li>{@link #sharedConnectionsPerWorker(int) sharedConnectionsPerWorker}: 1;</li>
     *     <li>{@link #commandTimeout(Duration) commandTimeout}: 5 s (also the handshake timeout);</li>
     *     <li>{@link #connectTimeout(Duration) connectTimeout}: unset, so the socket options' (Lettuce's 10 s);</li>
     *     <li>{@link #clientOptions(UnaryOperator) clientOptions}: Lettuce's defaults (each call adds a
     *     customizer);</li>
     *     <li>{@link #clientResources(Consumer) clientResources}: none (Lettuce's command latency recorder off);</li>
     *     <li>{@link #listener(AffinityPoolListener) listener}: none (each call adds one);</li>
     *     <li>{@link #pubSubMaxOpen(int) pubSubMaxOpen}: the number of workers (one Pub/Sub connection per
     *     worker);</li>
     *     <li>{@link #pubSubBufferSize(int) pubSubBufferSize}: 1024;</li>
     *     <li>{@link #pubSubListener(AffinityPoolListener) pubSubListener}: none (each call adds one);</li>
     *     <li>{@link #sharedListener(AffinityPoolListener) sharedListener}: none (each call adds one);</li>
     *     <li>{@link #nettyCustomizer(NettyCustomizer) nettyCustomizer}: none.</li>
     * </ul>
     *
     * @param <K> key type
     * @param <V> value type
     */
    public static final class Builder<K, V> {

        private final RedisURI uri;

        private RedisCodec<K, V> codec;

        private String name = "default";

        private LoopResources loopResources;

        private boolean preferNative;

        private WorkerLoops workerLoops;

        private int workers;

        private AffinityPoolConfig poolConfig = AffinityPoolConfig.builder().build();

        private int sharedConnectionsPerWorker = 1;

        private Duration commandTimeout = Duration.ofSeconds(5);

        private Duration connectTimeout;

        private final List<UnaryOperator<ClientOptions.Builder>> clientOptions = new ArrayList<>();

        private final List<Consumer<ClientResources.Builder>> clientResources = new ArrayList<>();

        private final List<AffinityPoolListener> listeners = new ArrayList<>();

        private int pubSubMaxOpen;

        private int pubSubBufferSize = 1024;

        private final List<AffinityPoolListener> pubSubListeners = new ArrayList<>();

        private final List<AffinityPoolListener> sharedListeners = new ArrayList<>();

        private NettyCustomizer nettyCustomizer;

        private Builder(RedisURI uri, RedisCodec<K, V> codec) {
            this.uri = uri;
            this.codec = codec;
        }

        /**
         * The codec of every connection. Default {@link StringCodec#UTF8}.
         *
         * @param codec the codec
         * @param <K2> new key type
         * @param <V2> new value type
         * @return this builder, retyped
         */
        @SuppressWarnings("unchecked")
        public <K2, V2> Builder<K2, V2> codec(RedisCodec<K2, V2> codec) {
            Builder<K2, V2> retyped = (Builder<K2, V2>) this;
            retyped.codec = Objects.requireNonNull(codec, "codec must not be null");
            return retyped;
        }

        /**
         * The codec set so far: {@code codec(...)} retypes this same builder, so a caller that handed the builder on
         * (to a customizer, say) can check that it still builds the types it expects.
         *
         * @return the codec the pool will be built with
         */
        public RedisCodec<K, V> codec() {
            return codec;
        }

        /**
         * The pool's name, used in messages, thread names and, when the URI sets no {@code clientName}, in the Redis
         * client names {@code affinity-pool.<name>.w<worker>} (exclusive connections) and
         * {@code affinity-pool.<name>.shared.w<worker>} (shared connections), lower case, whitespace and characters
         * Redis does not allow in client names (anything but printable ASCII) as {@code _}.
         * Default {@code "default"}.
         */
        public Builder<K, V> name(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("name must not be blank");
            }
            this.name = name;
            return this;
        }

        /**
         * The name set so far: a customizer may have renamed the pool, and what is built with this builder (meters
         * included) must carry the name the pool will have.
         *
         * @return the name the pool will be built with
         */
        public String name() {
            return name;
        }

        /**
         * Integrated mode on the loops a Reactor Netty server with default settings runs on:
         * {@code loopResources(loopResources, LoopResources.DEFAULT_NATIVE)}. The loops stay owned by the caller.
         */
        public Builder<K, V> loopResources(LoopResources loopResources) {
            return loopResources(loopResources, LoopResources.DEFAULT_NATIVE);
        }

        /**
         * Integrated mode: pin connections to the loops of {@code loopResources.onServer(preferNative)}, typically the
         * WebFlux server's ({@code ReactorResourceFactory.getLoopResources()} with
         * {@link LoopResources#DEFAULT_NATIVE}). The loops stay owned by the caller.
         */
        public Builder<K, V> loopResources(LoopResources loopResources, boolean preferNative) {
            this.loopResources = Objects.requireNonNull(loopResources, "loopResources must not be null");
            this.preferNative = preferNative;
            this.workerLoops = null;
            this.workers = 0;
            return this;
        }

        /** Integrated mode on existing {@link WorkerLoops}, which stay owned by the caller. */
        public Builder<K, V> workerLoops(WorkerLoops workerLoops) {
            this.workerLoops = Objects.requireNonNull(workerLoops, "workerLoops must not be null");
            this.loopResources = null;
            this.workers = 0;
            return this;
        }

        /** Standalone mode: the pool creates, owns and finally disposes {@code workers} loops. */
        public Builder<K, V> workers(int workers) {
            if (workers < 1) {
                throw new IllegalArgumentException("workers must be at least 1, was " + workers);
            }
            this.workers = workers;
            this.loopResources = null;
            this.workerLoops = null;
            return this;
        }

        /** Configuration of the exclusive-connection pool. Default {@code AffinityPoolConfig.builder().build()}. */
        public Builder<K, V> poolConfig(AffinityPoolConfig poolConfig) {
            this.poolConfig = Objects.requireNonNull(poolConfig, "poolConfig must not be null");
            return this;
        }

        /** Multiplexed connections per worker behind {@link RedisAffinityPool#commands()}. Default 1. */
        public Builder<K, V> sharedConnectionsPerWorker(int sharedConnectionsPerWorker) {
            if (sharedConnectionsPerWorker < 1) {
                throw new IllegalArgumentException(
                        "sharedConnectionsPerWorker must be at least 1, was " + sharedConnectionsPerWorker);
            }
            this.sharedConnectionsPerWorker = sharedConnectionsPerWorker;
            return this;
        }

        /**
         * How long a command may wait for its reply before it fails with {@code RedisCommandTimeoutException} (Lettuce
         * {@link TimeoutOptions}), so a frozen Redis fails commands instead of hanging them; also the handshake
         * timeout. A blocking command (BLPOP, XREAD BLOCK, WAIT, ...) gets this plus the time it may block in Redis,
         * and no timeout when it may block forever. Default 5 s.
         */
        public Builder<K, V> commandTimeout(Duration commandTimeout) {
            this.commandTimeout = positive("commandTimeout", commandTimeout);
            return this;
        }

        /**
         * How long opening a TCP connection may take before it fails with Netty's {@code ConnectTimeoutException}. A
         * Redis host that answers nothing (a firewall that drops packets, a network partition) otherwise holds each
         * connect for Lettuce's 10 s, and with it every {@link RedisAffinityPool#commands()} call that waits for the
         * reconnect (the handshake that follows is bounded by {@link #commandTimeout(Duration) commandTimeout}); a
         * borrower of an exclusive lease waits at most its acquire timeout either way. When set, it replaces the
         * connect timeout of the socket options that {@link #clientOptions(UnaryOperator) clientOptions} customizers
         * set, and keeps their other socket options. Default unset: the socket options' connect timeout, Lettuce's
         * 10 s unless a customizer sets one.
         */
        public Builder<K, V> connectTimeout(Duration connectTimeout) {
            this.connectTimeout = positive("connectTimeout", connectTimeout);
            return this;
        }

        /**
         * Adds a customizer of Lettuce's {@link ClientOptions} (socket options, SSL options, protocol version, ...);
         * customizers run in the order added, each on the builder the one before returned. Afterwards the pool
         * enforces {@code autoReconnect(false)} (it replaces broken connections itself),
         * {@code publishOnScheduler(false)} (replies stay on the connection's loop) and {@link TimeoutOptions} that
         * time out every command after {@code commandTimeout}, a blocking command after {@code commandTimeout} plus the
         * time it may block (never, when it may block forever). Default: Lettuce's defaults.
         */
        public Builder<K, V> clientOptions(UnaryOperator<ClientOptions.Builder> customizer) {
            this.clientOptions.add(Objects.requireNonNull(customizer, "customizer must not be null"));
            return this;
        }

        /**
         * Adds a customizer of the Lettuce {@link ClientResources} of every worker, for example
         * {@code resources -> resources.tracing(new MicrometerTracing(observationRegistry, "Redis"))} for command
         * observations (metrics and traces), as Spring Boot's {@code ClientResourcesBuilderCustomizer}s do. Customizers
         * run in the order added, then the pool enforces what pins the connections: the worker's event loop, one shared
         * computation executor, timer and event bus, and its Netty customizer (flush coalescing, then
         * {@link #nettyCustomizer(NettyCustomizer)}). Default none, with Lettuce's command latency recorder off (it
         * costs time on every command; a customizer may turn it on).
         */
        public Builder<K, V> clientResources(Consumer<ClientResources.Builder> customizer) {
            this.clientResources.add(Objects.requireNonNull(customizer, "customizer must not be null"));
            return this;
        }

        /**
         * Adds a listener of the exclusive pool's events (metrics). Every listener added receives every event, in the
         * order added, so a listener of the application's own does not displace the Spring Boot starter's meters; one
         * that throws is logged and does not keep the event from the others. Default none.
         */
        public Builder<K, V> listener(AffinityPoolListener listener) {
            this.listeners.add(Objects.requireNonNull(listener, "listener must not be null"));
            return this;
        }

        /**
         * The cap on open Pub/Sub connections. Each worker uses at most one (pinned to its loop), so a cap above the
         * number of workers changes nothing; below it, subscribers of a worker without a connection share another
         * worker's, and their messages are handed over to their own loop. Default: the number of workers.
         */
        public Builder<K, V> pubSubMaxOpen(int pubSubMaxOpen) {
            if (pubSubMaxOpen < 1) {
                throw new IllegalArgumentException("pubSubMaxOpen must be at least 1, was " + pubSubMaxOpen);
            }
            this.pubSubMaxOpen = pubSubMaxOpen;
            return this;
        }

        /**
         * Undelivered messages a Pub/Sub subscriber may have (messages that arrived while it had no demand). When its
         * buffer is full the oldest message is dropped and counted in {@link PubSubStats#dropped()}, and the first drop
         * of each subscriber is logged. Default 1024.
         */
        public Builder<K, V> pubSubBufferSize(int pubSubBufferSize) {
            if (pubSubBufferSize < 1) {
                throw new IllegalArgumentException("pubSubBufferSize must be at least 1, was " + pubSubBufferSize);
            }
            this.pubSubBufferSize = pubSubBufferSize;
            return this;
        }

        /**
         * Receives the Pub/Sub side's events (metrics with {@code kind=pubsub}): {@code opened(worker)} /
         * {@code closed(worker, reason)} for Pub/Sub connections ({@code UNUSABLE} when one was lost,
         * {@code POOL_CLOSED}), {@code acquired(worker, locality, nanos)} when a subscriber is attached to a connection
         * ({@code STOLEN}: another worker's, because of the cap) and {@code acquireFailed(worker, ERROR, nanos)} when
         * none could be opened. Adds to the listeners, like {@link #listener(AffinityPoolListener)}. Default none.
         */
        public Builder<K, V> pubSubListener(AffinityPoolListener pubSubListener) {
            this.pubSubListeners.add(Objects.requireNonNull(pubSubListener, "pubSubListener must not be null"));
            return this;
        }

        /**
         * Receives the shared connections' events (metrics with {@code kind=shared}): {@code opened(worker)} for every
         * connect, first or after a loss, and {@code closed(worker, reason)}: {@code UNUSABLE} when a call found its
         * connection broken (Redis restarted, network error), {@code VALIDATION_FAILED} when a connection gave no
         * answer to the health-check PING that a command timeout starts, {@code POOL_CLOSED}. Adds to the listeners,
         * like {@link #listener(AffinityPoolListener)}. Default none.
         */
        public Builder<K, V> sharedListener(AffinityPoolListener sharedListener) {
            this.sharedListeners.add(Objects.requireNonNull(sharedListener, "sharedListener must not be null"));
            return this;
        }

        /**
         * A Netty customizer applied to every connection's channel after the pool's own flush coalescing (for example
         * to add a logging or metrics handler). Default none.
         */
        public Builder<K, V> nettyCustomizer(NettyCustomizer nettyCustomizer) {
            this.nettyCustomizer = nettyCustomizer;
            return this;
        }

        /**
         * Creates the pool. Shared connections are opened in the background; exclusive ones on demand (and up to
         * {@code minIdlePerWorker} in the background).
         *
         * @return the pool
         * @throws IllegalStateException when Reactor Netty's and Lettuce's transports differ, naming the system
         *         property that aligns them
         */
        public RedisAffinityPool<K, V> build() {
            requireHostUri(uri);
            boolean owned = workerLoops == null && loopResources == null;
            WorkerLoops loops;
            if (workerLoops != null) {
                loops = workerLoops;
            }
            else if (loopResources != null) {
                loops = WorkerLoops.integrated(loopResources, preferNative);
            }
            else {
                int count = workers > 0 ? workers : Runtime.getRuntime().availableProcessors();
                loops = WorkerLoops.standalone("affinity-redis-" + name.replaceAll("\\s+", "_"), count);
            }
            try {
                return build(loops, owned);
            }
            catch (RuntimeException ex) {
                if (owned) {
                    loops.close();
                }
                throw ex;
            }
        }

        private static Duration positive(String name, Duration value) {
            Objects.requireNonNull(value, name + " must not be null");
            if (value.isZero() || value.isNegative()) {
                throw new IllegalArgumentException(name + " must be > 0, was " + value);
            }
            if (value.compareTo(AffinityPoolConfig.MAX_DURATION) > 0) {
                throw new IllegalArgumentException(name + " must be at most " + AffinityPoolConfig.MAX_DURATION.toDays()
                        + " days (292 years), was " + value);
            }
            return value;
        }

        /** The customizers' client options, with what the pool enforces on top. */
        private ClientOptions clientOptions() {
            ClientOptions.Builder builder = ClientOptions.builder();
            for (UnaryOperator<ClientOptions.Builder> customizer : clientOptions) {
                builder = customizer.apply(builder);
            }
            if (connectTimeout != null) {
                // The builder cannot be read, so build it once to learn the socket options the customizers left.
                SocketOptions socketOptions = builder.build().getSocketOptions();
                builder.socketOptions(socketOptions.mutate().connectTimeout(connectTimeout).build());
            }
            return builder.autoReconnect(false)
                    .publishOnScheduler(false)
                    .timeoutOptions(CommandTimeouts.options(commandTimeout))
                    .build();
        }

        private RedisAffinityPool<K, V> build(WorkerLoops loops, boolean owned) {
            TransportCheck.verify(loops);
            WorkerClients clients = new WorkerClients(name, loops, clientOptions(), List.copyOf(clientResources),
                    nettyCustomizer);
            String clientName = uri.getClientName() != null ? uri.getClientName() : RedisUris.clientNameOf(name);
            boolean explicitName = uri.getClientName() != null;
            List<RedisURI> leased = new ArrayList<>(loops.size());
            List<RedisURI> sharedUris = new ArrayList<>(loops.size());
            List<RedisURI> pubSubUris = new ArrayList<>(loops.size());
            for (int worker = 0; worker < loops.size(); worker++) {
                leased.add(RedisUris.copy(uri, explicitName ? clientName : clientName + ".w" + worker, commandTimeout));
                sharedUris.add(RedisUris.copy(uri, explicitName ? clientName : clientName + ".shared.w" + worker,
                        commandTimeout));
                pubSubUris.add(RedisUris.copy(uri, explicitName ? clientName : clientName + ".pubsub.w" + worker,
                        commandTimeout));
            }
            SharedConnections<K, V> shared = new SharedConnections<>(name, loops, clients, codec,
                    List.copyOf(sharedUris), sharedConnectionsPerWorker, commandTimeout,
                    AffinityPoolListener.guarded(sharedListeners, name));
            Duration validateTimeout = commandTimeout.compareTo(Duration.ofSeconds(1)) < 0 ? commandTimeout
                    : Duration.ofSeconds(1);
            RedisConnectionFactory<K, V> factory = new RedisConnectionFactory<>(name, clients, codec,
                    List.copyOf(leased), loops, validateTimeout, shared::serverReachable);
            AffinityPool<StatefulRedisConnection<K, V>> pool;
            try {
                pool = AffinityPool.create(name, loops, factory, poolConfig,
                        AffinityPoolListener.guarded(listeners, name));
            }
            catch (RuntimeException ex) {
                clients.shutdownAsync(Duration.ofSeconds(2));
                throw ex;
            }
            PubSubHub<K, V> pubSub = new PubSubHub<>(name, loops, clients, codec, List.copyOf(pubSubUris),
                    pubSubMaxOpen > 0 ? pubSubMaxOpen : loops.size(), pubSubBufferSize,
                    AffinityPoolListener.guarded(pubSubListeners, name),
                    poolConfig.evictionInterval(), commandTimeout);
            RedisAffinityPool<K, V> built = new RedisAffinityPool<>(name, RedisUris.describe(uri), loops, owned,
                    clients, shared, pool, pubSub, commandTimeout, poolConfig.closeTimeout());
            shared.warmUp();
            return built;
        }
    }
}
