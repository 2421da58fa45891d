package io.github.affinitypool.redis;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolKeyword;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.WorkerLoops;
import io.github.affinitypool.testing.RedisServer;

/** Helpers shared by the Redis pool tests. */
final class PoolFixtures {

    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private PoolFixtures() {
    }

    /** @return the thread of worker {@code i}'s loop */
    static Thread loopThread(WorkerLoops loops, int worker) {
        try {
            return loops.loop(worker).submit(Thread::currentThread).get(10, TimeUnit.SECONDS);
        }
        catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * Subscribes to the publisher built by {@code call} on worker {@code worker}'s loop (the call itself is made
     * there too) and waits for its first element, recording the thread that emitted it.
     *
     * @return the element and the emitting thread
     */
    static <T> Emission<T> onLoop(WorkerLoops loops, int worker, Supplier<? extends Publisher<T>> call) {
        CompletableFuture<Emission<T>> result = new CompletableFuture<>();
        loops.loop(worker).execute(() -> Mono.from(call.get()).subscribe(
                value -> result.complete(new Emission<>(value, Thread.currentThread())),
                result::completeExceptionally,
                () -> result.complete(new Emission<>(null, Thread.currentThread()))));
        return result.orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
    }

    /** @return the CLIENT LIST line of the client with CLIENT ID {@code id}, empty when Redis has no such client */
    static String clientLine(RedisServer redis, long id) {
        return Stream.of(redis.command("CLIENT", "LIST").split("\n")).filter(line -> line.startsWith("id=" + id + " "))
                .findFirst().orElse("");
    }

    /**
     * {@code DEBUG SLEEP}: a command that takes as long as asked, and freezes the whole server meanwhile (the test
     * servers allow DEBUG from localhost). Lettuce's {@code debugSleep} takes whole seconds only.
     *
     * @param seconds how long, e.g. {@code "0.6"}
     * @return OK, once the server slept
     */
    static Mono<String> debugSleep(RedisReactiveCommands<String, String> commands, String seconds) {
        return commands.<String>dispatch(CommandType.DEBUG, new StatusOutput<>(StringCodec.UTF8),
                new CommandArgs<>(StringCodec.UTF8).add("SLEEP").add(seconds)).next();
    }

    /** @return a command keyword that is not a Lettuce {@code CommandType} */
    static ProtocolKeyword keyword(String name) {
        return new ProtocolKeyword() {
            @Override
            public byte[] getBytes() {
                return name.getBytes(StandardCharsets.US_ASCII);
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    /** A value and the thread it was emitted on. */
    record Emission<T>(T value, Thread thread) {
    }
}
