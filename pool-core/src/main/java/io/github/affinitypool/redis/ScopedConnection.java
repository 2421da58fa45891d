package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

import io.lettuce.core.RedisAsyncCommandsImpl;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisReactiveCommandsImpl;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.api.push.PushListener;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.protocol.RedisCommand;

/**
 * The connection a {@link RedisLease} hands out, and the one {@link RedisAffinityPool#transaction transaction(...)} and
 * {@link RedisAffinityPool#pipelined pipelined(...)} hand to the caller's function: a view of the leased
 * {@link PooledRedisConnection} that refuses commands once the lease, transaction or pipeline has ended, so that a
 * command issued late (from a callback, after a cancel) can never reach a connection that went back to the pool.
 * <p>
 * Ending the scope also waits for a dispatch under way. A subscriber that cancels from another thread while the
 * connection's loop dispatches the lease's next command (in reaction to the previous reply) may have its cancel held
 * back by Reactor until that dispatch has returned; without the wait, the release would find nothing in flight and
 * return the connection while the command (and, for a MULTI, Lettuce's transaction state) is still on its way to it.
 * <p>
 * In a transaction it also refuses MULTI, EXEC and DISCARD (the pool sends them) and any command issued after EXEC: in
 * a transaction a command's result arrives only with EXEC's reply, so a command issued in reaction to another one's
 * result would run outside the transaction. A refused command fails with an {@link IllegalStateException} and is
 * never sent.
 */
final class ScopedConnection<K, V> extends ForwardingRedisConnection<K, V> {

    /** What the scope is for. */
    enum Kind {
        /** A lease: ends with its release. */
        LEASE,
        /** A transaction: also refuses MULTI, EXEC and DISCARD, and commands after EXEC. */
        TRANSACTION,
        /** A pipeline. */
        PIPELINE
    }

    private final PooledRedisConnection<K, V> connection;

    private final Kind kind;

    private final RedisReactiveCommands<K, V> reactive;

    private RedisAsyncCommands<K, V> async;

    /** Guarded by {@code this}. */
    private boolean execSent;

    /** Guarded by {@code this}. */
    private boolean ended;

    ScopedConnection(PooledRedisConnection<K, V> connection, Kind kind) {
        super(connection);
        this.connection = connection;
        this.kind = kind;
        this.reactive = new RedisReactiveCommandsImpl<>(this, connection.getCodec(),
                connection.getOptions().getJsonParser());
    }

    /** @return the leased connection underneath (its commands are tracked but not scoped) */
    PooledRedisConnection<K, V> pooled() {
        return connection;
    }

    /**
     * Dispatches the transaction's WATCH, within the scope like the caller's commands (the scope refuses WATCH from
     * the caller only after EXEC, but the pool's own must not go out after the scope ended either).
     *
     * @return WATCH's reply
     */
    synchronized CompletableFuture<String> watch(K[] keys) {
        if (ended) {
            return CompletableFuture.failedFuture(new IllegalStateException("the transaction has ended"));
        }
        return connection.async().watch(keys).toCompletableFuture();
    }

    /**
     * Dispatches the transaction's MULTI (refused from the caller's function), within the scope.
     *
     * @return MULTI's reply
     */
    synchronized CompletableFuture<String> multi() {
        if (ended) {
            return CompletableFuture.failedFuture(new IllegalStateException("the transaction has ended"));
        }
        return connection.async().multi().toCompletableFuture();
    }

    /**
     * Dispatches the transaction's EXEC; from now on the scope refuses commands.
     *
     * @return EXEC's result
     */
    synchronized CompletableFuture<TransactionResult> exec() {
        if (ended) {
            return CompletableFuture.failedFuture(new IllegalStateException("the transaction has ended"));
        }
        execSent = true;
        return connection.async().exec().toCompletableFuture();
    }

    /**
     * Sends a pipeline's commands in one flush and turns auto-flush back on, unless the scope has ended already: a
     * function that fails at once can have the lease released, and the connection handed on, before the pipeline
     * gets here; the release turned auto-flush back on, and flushing now would flush the next borrower's commands.
     */
    synchronized void endPipeline() {
        if (!ended) {
            connection.flushCommands();
            connection.setAutoFlushCommands(true);
        }
    }

    /**
     * Ends the scope: every later command is refused. Called before the lease is released; a dispatch under way on
     * another thread holds the lock, so it is done (its command counted in flight) when this returns.
     * <p>
     * The wait cannot close a cycle with Lettuce's own lock: a dispatch holding this lock may wait in the endpoint's
     * {@code SharedLock} while the connection's loop holds it exclusively, but with this pool's settings (no
     * auto-reconnect, so no buffered commands) the loop completes no command, hence runs no release, inside those
     * sections (Lettuce 7.5: {@code DefaultEndpoint} completes drained commands after leaving them).
     */
    synchronized void end() {
        ended = true;
    }

    @Override
    public <T> RedisCommand<K, V, T> dispatch(RedisCommand<K, V, T> command) {
        IllegalStateException refusal;
        synchronized (this) {
            refusal = refusal(command);
            if (refusal == null) {
                return connection.dispatch(command);
            }
        }
        command.completeExceptionally(refusal);
        return command;
    }

    @Override
    public Collection<RedisCommand<K, V, ?>> dispatch(Collection<? extends RedisCommand<K, V, ?>> commands) {
        List<RedisCommand<K, V, ?>> accepted = new ArrayList<>(commands.size());
        List<RedisCommand<K, V, ?>> refused = new ArrayList<>();
        List<IllegalStateException> refusals = new ArrayList<>();
        synchronized (this) {
            for (RedisCommand<K, V, ?> command : commands) {
                IllegalStateException refusal = refusal(command);
                if (refusal == null) {
                    accepted.add(command);
                }
                else {
                    refused.add(command);
                    refusals.add(refusal);
                }
            }
            if (!accepted.isEmpty()) {
                connection.dispatch(accepted);
            }
        }
        for (int i = 0; i < refused.size(); i++) {
            refused.get(i).completeExceptionally(refusals.get(i));
        }
        return new ArrayList<>(commands);
    }

    /*
     * The connection's controls are scoped too: a timeout, auto-flush or listener changed late would be the next
     * borrower's, as the connection is back in the pool by then.
     */

    @Override
    public synchronized void setTimeout(Duration timeout) {
        refuseWhenEnded("setTimeout");
        super.setTimeout(timeout);
    }

    @Override
    public synchronized void setAutoFlushCommands(boolean autoFlush) {
        refuseWhenEnded("setAutoFlushCommands");
        super.setAutoFlushCommands(autoFlush);
    }

    @Override
    public synchronized void flushCommands() {
        refuseWhenEnded("flushCommands");
        super.flushCommands();
    }

    /** Closing is the holder's decision while it holds the connection; afterwards it is someone else's. */
    @Override
    public synchronized void close() {
        refuseWhenEnded("close");
        super.close();
    }

    @Override
    public synchronized CompletableFuture<Void> closeAsync() {
        if (ended) {
            return CompletableFuture.failedFuture(endedRefusal("closeAsync"));
        }
        return super.closeAsync();
    }

    @Override
    public synchronized void addListener(PushListener listener) {
        refuseWhenEnded("addListener");
        super.addListener(listener);
    }

    @Override
    public synchronized void addListener(RedisConnectionStateListener listener) {
        refuseWhenEnded("addListener");
        super.addListener(listener);
    }

    /** Caller holds the lock. */
    private void refuseWhenEnded(String what) {
        if (ended) {
            throw endedRefusal(what);
        }
    }

    /** Caller holds the lock. */
    private IllegalStateException refusal(RedisCommand<K, V, ?> command) {
        String name = CommandPolicy.name(command.getType());
        if (ended) {
            return endedRefusal(name);
        }
        if (kind == Kind.TRANSACTION) {
            if (execSent) {
                return new IllegalStateException(name + " was issued after EXEC: in a transaction every command's "
                        + "result arrives only with EXEC's reply, so a command sent in reaction to another command's "
                        + "result would run outside the transaction; issue all commands without waiting for each other "
                        + "(Flux.merge, Mono.when), and read values before MULTI with transaction(watchKeys, read, "
                        + "commands)");
            }
            if ("MULTI".equals(name) || "EXEC".equals(name) || "DISCARD".equals(name)) {
                return new IllegalStateException(name + " is sent by RedisAffinityPool.transaction(...) itself; return "
                        + "an error from your function to abort the transaction (the pool then sends DISCARD)");
            }
        }
        return null;
    }

    private IllegalStateException endedRefusal(String name) {
        String advice = switch (kind) {
            case LEASE -> "issue every command of a lease before its release (with withConnection(...), before the "
                    + "publisher your function returns completes)";
            case TRANSACTION -> "issue every command of a transaction from the function you pass to "
                    + "RedisAffinityPool.transaction(...), before the publisher it returns completes";
            case PIPELINE -> "issue every command of a pipeline from the function you pass to "
                    + "RedisAffinityPool.pipelined(...), before the publisher it returns completes";
        };
        String what = kind.name().toLowerCase(Locale.ROOT);
        return new IllegalStateException(name + " was issued after the " + what + " had ended; " + advice);
    }

    @Override
    public RedisReactiveCommands<K, V> reactive() {
        return reactive;
    }

    @Override
    public synchronized RedisAsyncCommands<K, V> async() {
        if (async == null) {
            async = new RedisAsyncCommandsImpl<>(this, connection.getCodec(), connection.getOptions().getJsonParser());
        }
        return async;
    }

    /**
     * Not available: a blocking call issued on the connection's own event loop deadlocks until it times out.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public RedisCommands<K, V> sync() {
        return connection.sync();
    }

    @Override
    public String toString() {
        return "ScopedConnection{" + kind + ", " + connection + "}";
    }
}
