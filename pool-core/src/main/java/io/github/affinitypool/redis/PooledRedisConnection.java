package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLong;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisAsyncCommandsImpl;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisReactiveCommandsImpl;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.push.PushListener;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.protocol.CommandWrapper;
import io.lettuce.core.protocol.DemandAware;
import io.lettuce.core.protocol.RedisCommand;
import reactor.core.publisher.Mono;

/**
 * A pooled exclusive connection: a {@link StatefulRedisConnection} that records, as cheaply as a flag per command,
 * what a lease did to it, so that the release can reset exactly that, or close the connection, before the next
 * borrower gets it.
 * <p>
 * The {@link #reactive()} and {@link #async()} views are Lettuce's own implementations bound to this wrapper, so every
 * command goes through {@link #dispatch(RedisCommand)}. Tracked per lease:
 * <ul>
 *     <li>commands in flight (dispatched, reply not read yet), and whether one was cancelled or timed out;</li>
 *     <li>SELECT (select the URI's database back), WATCH (UNWATCH), an open MULTI (DISCARD), each tracked in the
 *     order the commands were sent;</li>
 *     <li>auto-flush off, a changed timeout (which {@link CommandTimeouts} applies to the lease's commands),
 *     listeners added (restored locally);</li>
 *     <li>commands after which the connection cannot be trusted (SUBSCRIBE, MONITOR, AUTH, HELLO, RESET, CLIENT
 *     TRACKING/REPLY/SETNAME, ...): closed.</li>
 * </ul>
 */
final class PooledRedisConnection<K, V> extends ForwardingRedisConnection<K, V> {

    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<PooledRedisConnection> IN_FLIGHT = AtomicIntegerFieldUpdater
            .newUpdater(PooledRedisConnection.class, "inFlight");

    private final StatefulRedisConnection<K, V> delegate;

    private final String poolName;

    private final int worker;

    private final RedisURI uri;

    private final int homeDatabase;

    private final Duration homeTimeout;

    /** The pool's timeout source, which reads {@link #leaseTimeoutNanos} through each {@link TrackedCommand}. */
    private final CommandTimeouts timeouts;

    private final RedisReactiveCommands<K, V> reactive;

    private final RedisAsyncCommands<K, V> async;

    private volatile int inFlight;

    /** A command was cancelled, timed out or failed locally: its reply may still be on its way. */
    private volatile boolean poisoned;

    /** A command left state the pool cannot undo (push mode, other credentials, tracking, ...). */
    private volatile boolean tainted;

    /** WATCH commands dispatched on this connection. */
    private final AtomicLong watchesSent = new AtomicLong();

    /**
     * How many of {@link #watchesSent} an unwatching command (UNWATCH, EXEC, DISCARD) has cleared: the WATCHes sent
     * before it. Counted in the order the commands were sent, not the order their replies arrive, so that a WATCH sent
     * right after an UNWATCH stays counted when the UNWATCH's reply comes.
     */
    private final AtomicLong watchesCleared = new AtomicLong();

    /**
     * Whether a MULTI was sent and no EXEC or DISCARD since, in the order they were sent. Lettuce's own
     * {@code isMulti()} is not enough: it forgets the open transaction when a nested MULTI fails.
     */
    private volatile boolean transactionOpen;

    private volatile boolean selected;

    private volatile boolean autoFlushOff;

    /**
     * The timeout set by the lease with {@link #setTimeout(Duration)}, in nanoseconds, or
     * {@link CommandTimeouts#NO_LEASE_TIMEOUT}. Written on the borrower's thread, read by the timeout source on the
     * thread that dispatches each command.
     */
    private volatile long leaseTimeoutNanos = CommandTimeouts.NO_LEASE_TIMEOUT;

    private volatile List<Object> listeners;

    /**
     * @param delegate the Lettuce connection
     * @param poolName the pool's name, for error messages
     * @param worker the worker whose loop the connection lives on
     * @param uri the URI it was opened with; its database is selected back after a SELECT
     */
    PooledRedisConnection(StatefulRedisConnection<K, V> delegate, String poolName, int worker, RedisURI uri) {
        super(delegate);
        this.delegate = delegate;
        this.poolName = poolName;
        this.worker = worker;
        this.uri = uri;
        this.homeDatabase = uri.getDatabase();
        this.homeTimeout = delegate.getTimeout();
        ClientOptions options = delegate.getOptions();
        // The pool builds every client's options with it (RedisAffinityPool.Builder), after the user's customizers.
        this.timeouts = (CommandTimeouts) options.getTimeoutOptions().getSource();
        this.reactive = new RedisReactiveCommandsImpl<>(this, delegate.getCodec(), options.getJsonParser());
        this.async = new RedisAsyncCommandsImpl<>(this, delegate.getCodec(), options.getJsonParser());
    }

    /** @return the worker whose loop the connection lives on */
    int worker() {
        return worker;
    }

    /** @return the Lettuce connection underneath, whose commands are not tracked */
    StatefulRedisConnection<K, V> delegate() {
        return delegate;
    }

    @Override
    public RedisReactiveCommands<K, V> reactive() {
        return reactive;
    }

    @Override
    public RedisAsyncCommands<K, V> async() {
        return async;
    }

    /**
     * Not available: a blocking call issued on the connection's own event loop deadlocks until it times out.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public RedisCommands<K, V> sync() {
        throw new UnsupportedOperationException("sync() is not available on a pooled Redis connection: a blocking call "
                + "on an event loop deadlocks; use reactive() or async()");
    }

    @Override
    public <T> RedisCommand<K, V, T> dispatch(RedisCommand<K, V, T> command) {
        return delegate.dispatch(track(command));
    }

    @Override
    public Collection<RedisCommand<K, V, ?>> dispatch(Collection<? extends RedisCommand<K, V, ?>> commands) {
        List<RedisCommand<K, V, ?>> tracked = new ArrayList<>(commands.size());
        for (RedisCommand<K, V, ?> command : commands) {
            tracked.add(track(command));
        }
        return delegate.dispatch(tracked);
    }

    private <T> RedisCommand<K, V, T> track(RedisCommand<K, V, T> command) {
        long clearsWatchesUpTo = TrackedCommand.CLEARS_NO_WATCH;
        switch (CommandPolicy.leaseEffect(command.getType(), command.getArgs())) {
            case SELECT:
                selected = true;
                break;
            case WATCH:
                watchesSent.incrementAndGet();
                break;
            case CLEARS_WATCH:
                clearsWatchesUpTo = watchesSent.get();
                break;
            case OPENS_TRANSACTION:
                transactionOpen = true;
                break;
            case ENDS_TRANSACTION:
                transactionOpen = false;
                clearsWatchesUpTo = watchesSent.get();
                break;
            case TAINT:
                tainted = true;
                break;
            default:
                break;
        }
        IN_FLIGHT.incrementAndGet(this);
        return new TrackedCommand<>(command, clearsWatchesUpTo);
    }

    private boolean watched() {
        return watchesSent.get() > watchesCleared.get();
    }

    /** Every WATCH sent so far is cleared: an unwatching command sent after them succeeded. */
    private void clearWatches(long upTo) {
        watchesCleared.accumulateAndGet(upTo, Math::max);
    }

    /**
     * The outermost wrapper of a dispatched command, so it is the object Lettuce completes when the reply has been
     * read (or fails on timeout or a closed connection). It counts the command out before the result reaches the
     * subscriber, so a release triggered by that result already sees it done. A cancel by the subscriber (Lettuce
     * cancels the inner command) leaves it counted until its reply has actually been read. It also hands the
     * lease's timeout to the pool's timeout source when the command is written.
     */
    private final class TrackedCommand<T> extends CommandWrapper<K, V, T>
            implements DemandAware.Sink, CommandTimeouts.LeaseCommand {

        /** {@link #clearsWatchesUpTo} of a command that unwatches nothing. */
        static final long CLEARS_NO_WATCH = -1;

        /**
         * For a command that unwatches every key when it succeeds (EXEC, DISCARD, UNWATCH), the WATCHes sent before
         * it; else {@link #CLEARS_NO_WATCH}.
         */
        private final long clearsWatchesUpTo;

        private boolean finished;

        TrackedCommand(RedisCommand<K, V, T> command, long clearsWatchesUpTo) {
            super(command);
            this.clearsWatchesUpTo = clearsWatchesUpTo;
        }

        @Override
        public void complete() {
            // An error reply arrives here too, in the output; EXEC or DISCARD without MULTI leaves the keys watched.
            if (clearsWatchesUpTo != CLEARS_NO_WATCH && (getOutput() == null || !getOutput().hasError())) {
                clearWatches(clearsWatchesUpTo);
            }
            finish(null);
            super.complete();
        }

        @Override
        public boolean completeExceptionally(Throwable throwable) {
            finish(throwable);
            // Lettuce fails the commands of a broken socket with the bare I/O error (often without a message), or with
            // a plain "Connection disconnected" / "Currently not connected" RedisException naming nothing.
            return super.completeExceptionally(RedisUris.isConnectionLoss(throwable)
                    ? RedisUris.connectionLost(poolName, worker, uri, throwable) : throwable);
        }

        @Override
        public void cancel() {
            finish(new CancellationException());
            super.cancel();
        }

        private void finish(Throwable error) {
            synchronized (this) {
                if (finished) {
                    return;
                }
                finished = true;
            }
            // An error reply (WRONGTYPE, EXECABORT, ...) is a complete exchange; anything else (timeout, cancel,
            // closed connection) means a reply may still arrive, out of step with the next borrower's commands.
            if (error != null && !(error instanceof RedisCommandExecutionException)) {
                poisoned = true;
            }
            IN_FLIGHT.decrementAndGet(PooledRedisConnection.this);
        }

        @Override
        public long leaseTimeoutNanos() {
            return leaseTimeoutNanos;
        }

        @Override
        public boolean hasDemand() {
            return !(command instanceof DemandAware.Sink) || ((DemandAware.Sink) command).hasDemand();
        }

        @Override
        public void setSource(DemandAware.Source source) {
            if (command instanceof DemandAware.Sink) {
                ((DemandAware.Sink) command).setSource(source);
            }
        }

        @Override
        public void removeSource() {
            if (command instanceof DemandAware.Sink) {
                ((DemandAware.Sink) command).removeSource();
            }
        }
    }

    /**
     * Makes the connection clean for the next borrower: restores local settings, sends DISCARD / UNWATCH / SELECT only
     * when the lease needed them (a clean lease costs no round trip), and decides whether the connection can be kept.
     *
     * @return {@code true} to keep the connection, {@code false} to close it
     */
    Mono<Boolean> resetForNextLease() {
        if (!delegate.isOpen() || tainted || poisoned) {
            return Mono.just(false);
        }
        if (autoFlushOff && inFlight != 0) {
            // Maybe commands the lease buffered and never flushed: turning auto-flush back on would send them, writes
            // the caller never sent. Closed with the connection instead, which fails them.
            return Mono.just(false);
        }
        restoreLocalState();
        boolean multi = transactionOpen || delegate.isMulti();
        if (inFlight != 0 && !multi) {
            // Cancelled, timed out or abandoned with a command in flight: its reply (maybe from a blocking command)
            // would be read as the answer to the next borrower's command.
            return Mono.just(false);
        }
        boolean unwatch = watched() && !multi;
        boolean select = selected;
        if (!multi && !unwatch && !select) {
            return Mono.just(true);
        }
        // Deferred: the pool subscribes to a reset on the connection's own loop, where the commands are then written.
        return Mono.defer(() -> sendReset(multi, unwatch, select));
    }

    private Mono<Boolean> sendReset(boolean multi, boolean unwatch, boolean select) {
        // Untracked: these go straight to the Lettuce connection. DISCARD first, or SELECT would be queued in the
        // transaction. Each reply also proves that every earlier reply has been read.
        RedisAsyncCommands<K, V> raw = delegate.async();
        List<CompletableFuture<String>> steps = new ArrayList<>(2);
        if (multi) {
            steps.add(raw.discard().toCompletableFuture());
        }
        else if (unwatch) {
            steps.add(raw.unwatch().toCompletableFuture());
        }
        if (select) {
            steps.add(raw.select(homeDatabase).toCompletableFuture());
        }
        CompletionStage<Void> all = CompletableFuture.allOf(steps.toArray(new CompletableFuture<?>[0]));
        return Mono.fromCompletionStage(all).then(Mono.fromSupplier(() -> {
            boolean ok = steps.stream().allMatch(step -> "OK".equals(step.join())) && inFlight == 0 && !poisoned
                    && !tainted && delegate.isOpen() && !delegate.isMulti();
            if (ok) {
                transactionOpen = false;
                clearWatches(watchesSent.get());
                selected = false;
            }
            return ok;
        })).onErrorReturn(false);
    }

    private void restoreLocalState() {
        if (autoFlushOff) {
            delegate.setAutoFlushCommands(true);
            delegate.flushCommands();
            autoFlushOff = false;
        }
        if (leaseTimeoutNanos != CommandTimeouts.NO_LEASE_TIMEOUT) {
            leaseTimeoutNanos = CommandTimeouts.NO_LEASE_TIMEOUT;
            delegate.setTimeout(homeTimeout);
        }
        List<Object> added = listeners;
        if (added != null) {
            listeners = null;
            for (Object listener : added) {
                if (listener instanceof PushListener) {
                    delegate.removeListener((PushListener) listener);
                }
                else {
                    delegate.removeListener((RedisConnectionStateListener) listener);
                }
            }
        }
    }

    /** @return PING answered with PONG; errors as {@code false} */
    Mono<Boolean> ping() {
        return delegate.reactive().ping().map("PONG"::equals).onErrorReturn(false);
    }

    // --- state tracked locally -------------------------------------------------------------------------------------

    @Override
    public void setAutoFlushCommands(boolean autoFlush) {
        // The setting as it is now, not whether it was ever off: a lease that turned it on again (a finished
        // pipeline) and is released inside MULTI is cleaned with DISCARD and kept, not closed as one with commands
        // it never flushed.
        autoFlushOff = !autoFlush;
        delegate.setAutoFlushCommands(autoFlush);
    }

    /**
     * Sets the timeout of the lease's commands dispatched from now on (those in flight keep theirs), until the
     * release; a blocking command still gets its block time on top. {@link Duration#ZERO} means no timeout.
     * <p>
     * The Lettuce connection's own timeout would not do: the pool's timeout source replaces it for every command. It
     * is set all the same, to validate the value and so that {@link #getTimeout()} reports it.
     */
    @Override
    public void setTimeout(Duration timeout) {
        delegate.setTimeout(timeout);
        leaseTimeoutNanos = timeout.toNanos();
        timeouts.leaseTimeoutChanged();
    }

    @Override
    public void addListener(PushListener listener) {
        remember(listener);
        delegate.addListener(listener);
    }

    @Override
    public void removeListener(PushListener listener) {
        forget(listener);
        delegate.removeListener(listener);
    }

    @Override
    public void addListener(RedisConnectionStateListener listener) {
        remember(listener);
        delegate.addListener(listener);
    }

    @Override
    public void removeListener(RedisConnectionStateListener listener) {
        forget(listener);
        delegate.removeListener(listener);
    }

    private synchronized void remember(Object listener) {
        List<Object> added = listeners;
        if (added == null) {
            added = new CopyOnWriteArrayList<>();
            listeners = added;
        }
        added.add(listener);
    }

    private synchronized void forget(Object listener) {
        List<Object> added = listeners;
        if (added != null) {
            added.remove(listener);
        }
    }

    @Override
    public String toString() {
        return "PooledRedisConnection{" + delegate + "}";
    }
}
