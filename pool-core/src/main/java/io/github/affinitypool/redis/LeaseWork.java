package io.github.affinitypool.redis;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Transactions and explicit pipelines on one exclusive lease, as {@link RedisAffinityPool} runs them. The caller's
 * function gets the commands of a {@link ScopedConnection}, which refuses commands once the work has ended; the lease
 * is released on complete, error and cancel, and its clean-state rules undo what is left (DISCARD, UNWATCH, auto-flush
 * on) or close the connection when a command is still in flight.
 */
final class LeaseWork {

    private LeaseWork() {
    }

    /** A lease and the scoped view the caller's function works on. */
    static final class Scope<K, V> {

        final RedisLease<K, V> lease;

        final ScopedConnection<K, V> connection;

        Scope(RedisLease<K, V> lease, ScopedConnection.Kind kind) {
            this.lease = lease;
            this.connection = new ScopedConnection<>(lease.pooled(), kind);
        }

        /** Ends the scope (later commands are refused), then releases the lease, which resets or closes it. */
        Mono<Void> release() {
            connection.end();
            return lease.release();
        }
    }

    /**
     * WATCH (when keys are given), the read step (when given), MULTI, the caller's commands, EXEC.
     *
     * @param scope the exclusive lease and its scoped view
     * @param watchKeys keys to WATCH first, may be empty
     * @param read reads before MULTI, may be {@code null}; an empty result aborts the transaction (no MULTI)
     * @param commands issues the transaction's commands; receives the read step's value ({@code null} without one)
     * @return EXEC's result, empty when the read step aborted
     */
    static <K, V, T> Mono<TransactionResult> transaction(Scope<K, V> scope, List<K> watchKeys,
            Function<? super RedisReactiveCommands<K, V>, ? extends Mono<? extends T>> read,
            BiFunction<? super RedisReactiveCommands<K, V>, ? super T, ? extends Publisher<?>> commands) {
        ScopedConnection<K, V> own = scope.connection;
        RedisReactiveCommands<K, V> user = scope.connection.reactive();
        // WATCH and MULTI go through the scope too: one dispatched after a cancel had released the lease would reach
        // the next borrower (a late MULTI would open a transaction on its connection).
        Mono<String> watch = watchKeys.isEmpty() ? Mono.empty()
                : Mono.fromCompletionStage(() -> own.watch(keyArray(watchKeys)));
        Mono<Optional<T>> readStep = read == null ? Mono.just(Optional.empty())
                : Mono.defer(() -> Objects.requireNonNull(read.apply(user),
                        "the transaction's read function returned null"))
                        .map(Optional::of);
        return watch.then(readStep)
                .flatMap(value -> Mono.fromCompletionStage(own::multi).then(Mono.defer(() -> queueAndExec(own,
                        Objects.requireNonNull(commands.apply(user, value.orElse(null)),
                                "the transaction's commands function returned null")))));
    }

    /**
     * Subscribes to the caller's commands (each one dispatched, and answered QUEUED, while subscribing), then sends
     * EXEC, unless the caller's publisher already failed: then the release's DISCARD aborts the transaction.
     */
    private static <K, V> Mono<TransactionResult> queueAndExec(ScopedConnection<K, V> connection,
            Publisher<?> commands) {
        Queued queued = new Queued();
        commands.subscribe(queued);
        Throwable early = queued.failure;
        if (early != null) {
            return Mono.error(early);
        }
        return Mono.fromCompletionStage(connection::exec)
                .onErrorMap(RedisCommandExecutionException.class, error -> execAborted(error, queued.failure))
                .flatMap(result -> queued.done().thenReturn(result))
                .doFinally(signal -> queued.dispose());
    }

    /**
     * EXEC's EXECABORT only says that some command was refused while queued ({@code Transaction discarded because of
     * previous errors.}, as Redis 6.2 and 7.0 put it); the refusal itself (NOREPLICAS, OOM, an unknown command, ...)
     * came as that command's reply, and says why. So the transaction fails with it, EXEC's error suppressed on it.
     */
    private static Throwable execAborted(RedisCommandExecutionException exec, Throwable refusedWhileQueued) {
        // Only Redis's own refusal, a new exception per reply: a failure of the caller's publisher may be one shared
        // instance, on which suppressed errors would pile up.
        if (!(refusedWhileQueued instanceof RedisCommandExecutionException)
                || !String.valueOf(exec.getMessage()).startsWith("EXECABORT")) {
            return exec;
        }
        refusedWhileQueued.addSuppressed(exec);
        return refusedWhileQueued;
    }

    /**
     * Watches the caller's publisher of queued commands: their results arrive with EXEC's reply. An error reply to one
     * of them is already an element of the {@link TransactionResult}; any other error fails the transaction's Mono.
     */
    private static final class Queued extends BaseSubscriber<Object> {

        private final Sinks.Empty<Void> done = Sinks.empty();

        volatile Throwable failure;

        Mono<Void> done() {
            return done.asMono();
        }

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        protected void hookOnComplete() {
            done.tryEmitEmpty();
        }

        @Override
        protected void hookOnError(Throwable error) {
            failure = error;
            if (error instanceof RedisCommandExecutionException) {
                done.tryEmitEmpty();
            }
            else {
                done.tryEmitError(error);
            }
        }
    }

    /**
     * Auto-flush off, the caller's commands (dispatched while subscribing, buffered by Lettuce), one flush, auto-flush
     * back on at once, so that commands issued later (in reaction to a result) are still sent. The release turns
     * auto-flush on again in any case (error, cancel).
     *
     * @return the caller's results
     */
    static <K, V, R> Flux<R> pipelined(Scope<K, V> scope,
            Function<? super RedisReactiveCommands<K, V>, ? extends Publisher<R>> commands) {
        PooledRedisConnection<K, V> connection = scope.connection.pooled();
        return Flux.defer(() -> {
            connection.setAutoFlushCommands(false);
            Publisher<R> results = Objects.requireNonNull(commands.apply(scope.connection.reactive()),
                    "the pipelined function returned null");
            // Unbounded demand upstream, so every command is dispatched now, whatever the subscriber's demand.
            Flux<R> buffered = Flux.from(results).onBackpressureBuffer();
            return Flux.from((Publisher<R>) subscriber -> {
                try {
                    buffered.subscribe(subscriber);
                }
                finally {
                    scope.connection.endPipeline();
                }
            });
        });
    }

    @SuppressWarnings("unchecked")
    private static <K> K[] keyArray(List<K> keys) {
        return (K[]) keys.toArray();
    }
}
