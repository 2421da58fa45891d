package io.github.affinitypool.core;

import java.util.function.Function;

import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A pool with event-loop worker affinity: one pool per worker, one shared overflow pool. (Implementation in progress.)
 *
 * @param <T> the pooled resource type
 */
public final class AffinityPool<T> implements AutoCloseable {

    private final String name;
    private final WorkerLoops loops;
    private final AffinityPoolConfig config;

    private AffinityPool(String name, WorkerLoops loops, AffinityPoolConfig config) {
        this.name = name;
        this.loops = loops;
        this.config = config;
    }

    public static <T> AffinityPool<T> create(String name, WorkerLoops loops, PooledResourceFactory<T> factory,
            AffinityPoolConfig config, AffinityPoolListener listener) {
        return new AffinityPool<>(name, loops, config.resolve(loops.size()));
    }

    public Mono<Lease<T>> acquire() {
        return Mono.error(new UnsupportedOperationException("not implemented yet"));
    }

    public <R> Flux<R> withResource(Function<T, Publisher<R>> fn) {
        return Flux.usingWhen(acquire(), lease -> fn.apply(lease.resource()), Lease::release,
                (lease, error) -> lease.release(), Lease::release);
    }

    public AffinityPoolStats stats() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public Mono<Void> closeAsync() {
        return Mono.empty();
    }

    @Override
    public void close() {
        closeAsync().block();
    }

    public String name() {
        return name;
    }

    public WorkerLoops loops() {
        return loops;
    }

    public AffinityPoolConfig config() {
        return config;
    }
}
