package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import io.github.affinitypool.autoconfigure.RedisAffinityPoolCustomizer;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.redis.RedisLease;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * Endpoints the reliability scenarios drive, next to the sample app's own, all on the auto-configured pool:
 * <ul>
 *     <li>{@code GET /reliability/local}: no Redis at all, answers from the event loop (is the loop free?);</li>
 *     <li>{@code GET /reliability/shared/{key}}: INCR on the shared {@code commands()} path;</li>
 *     <li>{@code GET /reliability/lease/{key}}: INCR on an exclusive lease ({@code withConnection});</li>
 *     <li>{@code GET /reliability/tx/{key}}: on a lease, SELECT 1, MULTI, INCR, EXPIRE, a pause of 0–2 ms (0 to
 *     {@code ?pauseMs=} when given), EXEC, and the lease is returned with database 1 selected (the pool must select 0
 *     again);</li>
 *     <li>{@code GET /reliability/pipeline/{key}}: on a lease, auto-flush off, three INCRs, a pause of 0–2 ms, one
 *     flush, and the lease is returned with auto-flush still off (the pool must turn it on again);</li>
 *     <li>{@code GET /reliability/hold/{millis}}: holds a lease that long, then releases it (leak detection).</li>
 * </ul>
 * A failure becomes a 503 whose body is the exception's type and message, so that the scenarios can check that every
 * failure is a clear one. Each request's progress is tracked, so that a cancelled request is counted by the phase it
 * was cancelled in ({@link CancellationProbe}).
 */
@TestConfiguration(proxyBeanMethods = false)
class ReliabilityRoutes {

    @Bean
    ConnectProbe reliabilityConnectProbe() {
        return new ConnectProbe();
    }

    @Bean
    RedisAffinityPoolCustomizer reliabilityConnectProbeCustomizer(ConnectProbe probe) {
        return builder -> builder.nettyCustomizer(probe);
    }

    @Bean
    CancellationProbe reliabilityCancellationProbe() {
        return new CancellationProbe();
    }

    @Bean
    Handlers reliabilityHandlers(RedisAffinityPool<String, String> pool, RedisReactiveCommands<String, String> commands,
            CancellationProbe cancellations, ConnectProbe connects) {
        return new Handlers(pool, commands, cancellations, connects);
    }

    @Bean
    RouterFunction<ServerResponse> reliabilityRouter(Handlers handlers) {
        return RouterFunctions.route()
                .GET("/reliability/local", handlers::local)
                .GET("/reliability/shared/{key}", handlers::shared)
                .GET("/reliability/lease/{key}", handlers::lease)
                .GET("/reliability/tx/{key}", handlers::transaction)
                .GET("/reliability/pipeline/{key}", handlers::pipeline)
                .GET("/reliability/hold/{millis}", handlers::holdLease)
                .build();
    }

    /** The request handlers. */
    static final class Handlers {

        /** The longest pause in a transaction or pipeline, unless the request asks for another. */
        private static final long PAUSE_NANOS = 2_000_000;

        private final RedisAffinityPool<String, String> pool;

        private final RedisReactiveCommands<String, String> commands;

        private final CancellationProbe cancellations;

        private final ConnectProbe connects;

        Handlers(RedisAffinityPool<String, String> pool, RedisReactiveCommands<String, String> commands,
                CancellationProbe cancellations, ConnectProbe connects) {
            this.pool = pool;
            this.commands = commands;
            this.cancellations = cancellations;
            this.connects = connects;
        }

        Mono<ServerResponse> local(ServerRequest request) {
            return ServerResponse.ok().bodyValue("worker " + pool.loops().currentWorker());
        }

        Mono<ServerResponse> shared(ServerRequest request) {
            AtomicReference<CancellationProbe.Phase> phase = new AtomicReference<>(CancellationProbe.Phase.COMMAND);
            return reply(commands.incr(request.pathVariable("key")), phase);
        }

        Mono<ServerResponse> lease(ServerRequest request) {
            AtomicReference<CancellationProbe.Phase> phase = new AtomicReference<>(CancellationProbe.Phase.ACQUIRING);
            String key = request.pathVariable("key");
            return reply(onLease(phase, lease -> lease.reactive().incr(key)), phase);
        }

        Mono<ServerResponse> transaction(ServerRequest request) {
            AtomicReference<CancellationProbe.Phase> phase = new AtomicReference<>(CancellationProbe.Phase.ACQUIRING);
            String key = request.pathVariable("key");
            long pauseNanos = request.queryParam("pauseMs").map(millis -> Long.parseLong(millis) * 1_000_000)
                    .orElse(PAUSE_NANOS);
            return reply(onLease(phase, lease -> {
                RedisReactiveCommands<String, String> c = lease.reactive();
                return c.select(1)
                        .then(Mono.defer(() -> {
                            // From MULTI's dispatch on: Lettuce's isMulti() is true from then, and the release must
                            // end the transaction whether or not MULTI's reply has come.
                            phase.set(CancellationProbe.Phase.TRANSACTION);
                            return c.multi();
                        }))
                        .flatMap(queued -> {
                            // Queued commands complete with EXEC's reply (or DISCARD's, or the connection's close).
                            c.incr(key).subscribe(ignored -> { }, ignored -> { });
                            c.expire(key, 60).subscribe(ignored -> { }, ignored -> { });
                            return pause(lease, pauseNanos).then(c.exec());
                        })
                        .doOnNext(result -> phase.set(CancellationProbe.Phase.COMMAND))
                        .map(result -> result.size());
            }), phase);
        }

        Mono<ServerResponse> pipeline(ServerRequest request) {
            AtomicReference<CancellationProbe.Phase> phase = new AtomicReference<>(CancellationProbe.Phase.ACQUIRING);
            String key = request.pathVariable("key");
            return reply(onLease(phase, lease -> Mono.defer(() -> {
                phase.set(CancellationProbe.Phase.PIPELINE);
                lease.connection().setAutoFlushCommands(false);
                RedisAsyncCommands<String, String> c = lease.async();
                RedisFuture<Long> first = c.incr(key);
                c.incr(key);
                RedisFuture<Long> last = c.incr(key);
                return pause(lease, PAUSE_NANOS)
                        .then(Mono.fromRunnable(() -> lease.connection().flushCommands()))
                        .then(Mono.fromCompletionStage(last))
                        .zipWith(Mono.fromCompletionStage(first), (third, one) -> third - one);
            })), phase);
        }

        /**
         * Holds a lease for {@code millis}, then releases it. The leak-detection scenario looks for this method's name.
         */
        Mono<ServerResponse> holdLease(ServerRequest request) {
            Duration hold = Duration.ofMillis(Long.parseLong(request.pathVariable("millis")));
            AtomicReference<CancellationProbe.Phase> phase = new AtomicReference<>(CancellationProbe.Phase.ACQUIRING);
            return reply(pool.acquire().flatMap(lease -> lease.reactive().ping()
                    .delayElement(hold, loopOf(lease))
                    .flatMap(pong -> lease.release().thenReturn(pong))), phase);
        }

        /** Runs {@code work} on a lease, releasing it on complete, error and cancel, and tracks the phase. */
        private <T> Mono<T> onLease(AtomicReference<CancellationProbe.Phase> phase,
                Function<RedisLease<String, String>, Mono<T>> work) {
            return Mono.usingWhen(pool.acquire(), lease -> {
                phase.set(CancellationProbe.Phase.COMMAND);
                return work.apply(lease);
            }, lease -> release(lease, phase), (lease, error) -> release(lease, phase), lease -> release(lease, phase));
        }

        private Mono<Void> release(RedisLease<String, String> lease, AtomicReference<CancellationProbe.Phase> phase) {
            phase.set(CancellationProbe.Phase.RELEASING);
            return lease.release();
        }

        /** A pause of 0 to {@code maxNanos} on the lease's loop, for cancellations mid-transaction/pipeline. */
        private Mono<Long> pause(RedisLease<String, String> lease, long maxNanos) {
            return Mono.delay(Duration.ofNanos(ThreadLocalRandom.current().nextLong(maxNanos)), loopOf(lease));
        }

        private Scheduler loopOf(RedisLease<String, String> lease) {
            return pool.loops().scheduler(lease.worker());
        }

        private Mono<ServerResponse> reply(Mono<?> work, AtomicReference<CancellationProbe.Phase> phase) {
            return work.flatMap(value -> ServerResponse.ok().bodyValue(String.valueOf(value)))
                    .switchIfEmpty(Mono.defer(() -> ServerResponse.ok().bodyValue("")))
                    .onErrorResume(error -> ServerResponse.status(HttpStatus.SERVICE_UNAVAILABLE)
                            .bodyValue(error.getClass().getName() + ": " + error.getMessage()))
                    .doOnCancel(() -> cancellations.cancelled(phase.get(), connects.inFlight() > 0))
                    .doOnSubscribe(subscription -> cancellations.handlerStarted())
                    .doFinally(signal -> cancellations.handlerEnded());
        }
    }
}
