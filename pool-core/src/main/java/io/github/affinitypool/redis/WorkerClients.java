package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.event.DefaultEventBus;
import io.lettuce.core.event.DefaultEventPublisherOptions;
import io.lettuce.core.event.EventBus;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.util.HashedWheelTimer;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutorGroup;
import reactor.core.scheduler.Schedulers;

import io.github.affinitypool.core.WorkerLoops;

/**
 * One lightweight Lettuce {@link DefaultClientResources} and {@link RedisClient} per worker, pinned to the worker's
 * loop by a {@link PinnedEventLoopGroupProvider}.
 * <p>
 * All workers share one computation {@link EventExecutorGroup} (command timeouts, event bus), one
 * {@link HashedWheelTimer} and one {@link EventBus}; they are owned here, built explicitly (not with
 * {@code ClientResources.mutate()}, which would share the shutdown flags), and shut down after the clients.
 */
final class WorkerClients {

    private static final int COMPUTATION_THREADS = 2;

    private final EventExecutorGroup computation;

    private final HashedWheelTimer timer;

    private final EventBus eventBus;

    private final List<DefaultClientResources> resources;

    private final List<RedisClient> clients;

    /**
     * @param poolName pool name, used in thread names
     * @param loops the worker loops
     * @param options client options of every client
     * @param resourcesCustomizers customizers of every worker's resources, applied before the pool's own settings
     * @param userCustomizer customizer applied after the pool's flush coalescing, may be {@code null}
     */
    WorkerClients(String poolName, WorkerLoops loops, ClientOptions options,
            List<Consumer<ClientResources.Builder>> resourcesCustomizers, NettyCustomizer userCustomizer) {
        this.computation = new DefaultEventExecutorGroup(COMPUTATION_THREADS,
                new DefaultThreadFactory("affinity-redis-" + poolName + "-computation", true));
        this.timer = new HashedWheelTimer(new DefaultThreadFactory("affinity-redis-" + poolName + "-timer", true));
        this.eventBus = new DefaultEventBus(
                Schedulers.fromExecutorService(computation, "affinity-redis-" + poolName + "-events"));
        NettyCustomizer customizer = new FlushCoalescing(userCustomizer);
        List<DefaultClientResources> perWorker = new ArrayList<>(loops.size());
        List<RedisClient> perWorkerClients = new ArrayList<>(loops.size());
        for (int worker = 0; worker < loops.size(); worker++) {
            DefaultClientResources.Builder builder = DefaultClientResources.builder()
                    .commandLatencyRecorder(CommandLatencyRecorder.disabled())
                    .commandLatencyPublisherOptions(DefaultEventPublisherOptions.disabled());
            resourcesCustomizers.forEach(resourcesCustomizer -> resourcesCustomizer.accept(builder));
            DefaultClientResources workerResources = builder
                    .eventLoopGroupProvider(new PinnedEventLoopGroupProvider(loops.loop(worker)))
                    .eventExecutorGroup(computation)
                    .timer(timer)
                    .eventBus(eventBus)
                    .nettyCustomizer(customizer)
                    .build();
            RedisClient client = RedisClient.create(workerResources);
            client.setOptions(options);
            perWorker.add(workerResources);
            perWorkerClients.add(client);
        }
        this.resources = List.copyOf(perWorker);
        this.clients = List.copyOf(perWorkerClients);
    }

    /**
     * @param worker worker index
     * @return the client whose connections live on that worker's loop
     */
    RedisClient client(int worker) {
        return clients.get(worker);
    }

    /** @return the shared computation executor (tests) */
    EventExecutorGroup computation() {
        return computation;
    }

    /**
     * Shuts down the clients (closing any connection still open), then the per-worker resources (which own nothing
     * but their flags), then the shared executor and timer. Never blocks the calling thread.
     *
     * @param timeout upper bound for each step
     * @return completes when everything is shut down
     */
    CompletableFuture<Void> shutdownAsync(Duration timeout) {
        long millis = Math.max(1, timeout.toMillis());
        List<CompletableFuture<Void>> clientShutdowns = new ArrayList<>(clients.size());
        for (RedisClient client : clients) {
            clientShutdowns.add(client.shutdownAsync(0, millis, TimeUnit.MILLISECONDS)
                    .exceptionally(ignored -> null));
        }
        return CompletableFuture.allOf(clientShutdowns.toArray(new CompletableFuture<?>[0]))
                .thenCompose(ignored -> {
                    List<CompletableFuture<Void>> resourceShutdowns = new ArrayList<>(resources.size());
                    for (DefaultClientResources workerResources : resources) {
                        resourceShutdowns.add(
                                toCompletable(workerResources.shutdown(0, millis, TimeUnit.MILLISECONDS)));
                    }
                    return CompletableFuture.allOf(resourceShutdowns.toArray(new CompletableFuture<?>[0]));
                })
                .thenCompose(ignored -> CompletableFuture.allOf(
                        toCompletable(computation.shutdownGracefully(0, millis, TimeUnit.MILLISECONDS)),
                        // HashedWheelTimer.stop() joins its thread: never on a loop or timer thread.
                        CompletableFuture.runAsync(timer::stop, WorkerClients::runOnNewDaemonThread)));
    }

    private static void runOnNewDaemonThread(Runnable task) {
        Thread thread = new Thread(task, "affinity-redis-timer-stop");
        thread.setDaemon(true);
        thread.start();
    }

    private static CompletableFuture<Void> toCompletable(io.netty.util.concurrent.Future<?> future) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        future.addListener(done -> result.complete(null));
        return result;
    }
}
