package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import io.github.affinitypool.core.CloseReason;

/**
 * {@code pipelined(...)}: one flush for many commands on one lease, auto-flush back on afterwards whatever happened.
 * One worker and max-open 1, so every lease is the same connection unless one had to be closed.
 */
class PipelineTest extends PoolPerTest {

    private final Map<Channel, AtomicInteger> flushes = new ConcurrentHashMap<>();

    PipelineTest() {
        super(builder -> exclusive(builder, "pipe", 1, 1, Duration.ofSeconds(1)));
    }

    @Override
    RedisAffinityPool.Builder<String, String> customize(RedisAffinityPool.Builder<String, String> builder) {
        return builder.nettyCustomizer(new NettyCustomizer() {
            @Override
            public void afterChannelInitialized(Channel channel) {
                AtomicInteger count = new AtomicInteger();
                flushes.put(channel, count);
                // Last in the pipeline, next to Lettuce's handlers: counts every flush Lettuce issues, before the
                // pool's flush consolidation merges them.
                channel.pipeline().addLast("test-flush-counter", new ChannelOutboundHandlerAdapter() {
                    @Override
                    public void flush(ChannelHandlerContext ctx) {
                        count.incrementAndGet();
                        ctx.flush();
                    }
                });
            }
        });
    }

    @Test
    void aThousandCommandsAreAnsweredInOrderWithFarFewerFlushes() {
        int commands = 1000;
        long id = pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT); // the lease connection is open
        assertThat(pool.commands().ping().block(TIMEOUT)).isEqualTo("PONG"); // and the shared one
        int flushesBefore = totalFlushes();

        List<Long> replies = pool.pipelined(c -> Flux.range(0, commands)
                .flatMapSequential(i -> c.incr("pipe:n"), commands)).collectList().block(TIMEOUT);

        int flushed = totalFlushes() - flushesBefore;
        assertThat(replies).containsExactlyElementsOf(
                LongStream.rangeClosed(1, commands).boxed().collect(Collectors.toList()));
        assertThat(flushed).as("flushes for %d pipelined commands", commands).isLessThanOrEqualTo(3);
        assertThat(pool.commands().get("pipe:n").block(TIMEOUT)).isEqualTo(String.valueOf(commands));

        // The same commands on a plain lease: Lettuce flushes after each one.
        int plainBefore = totalFlushes();
        pool.withConnection(c -> Flux.range(0, commands).flatMapSequential(i -> c.incr("pipe:plain"), commands))
                .blockLast(TIMEOUT);
        assertThat(totalFlushes() - plainBefore).as("flushes for %d commands without pipelining", commands)
                .isGreaterThanOrEqualTo(commands);
        // Auto-flush is on again (a command would time out otherwise) on the very same connection.
        assertThat(pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT)).as("%s", pool.stats()).isEqualTo(id);
    }

    @Test
    void commandsIssuedAfterTheFlushAreStillSent() {
        List<String> values = pool.pipelined(c -> c.set("pipe:k", "v").flatMap(ok -> c.get("pipe:k")))
                .collectList().block(TIMEOUT);
        assertThat(values).containsExactly("v");
    }

    @Test
    void autoFlushIsRestoredWhenTheFunctionFailsOrTheFluxIsCancelled() {
        long id = pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT);

        StepVerifier.create(pool.pipelined(c -> {
            throw new IllegalStateException("boom");
        })).expectErrorMessage("boom").verify(TIMEOUT);
        assertThat(pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT)).as("%s", pool.stats()).isEqualTo(id);

        StepVerifier.create(pool.pipelined(c -> Flux.concat(c.set("pipe:e", "1"),
                Mono.error(new IllegalArgumentException("late")))))
                .expectNext("OK").expectErrorMessage("late").verify(TIMEOUT);
        assertThat(pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT)).as("%s", pool.stats()).isEqualTo(id);

        Disposable never = pool.pipelined(c -> Mono.never()).subscribe();
        await().atMost(TIMEOUT).until(() -> pool.stats().total().acquired() == 1);
        never.dispose();
        assertThat(pool.withConnection(c -> c.clientId()).blockLast(TIMEOUT)).as("%s", pool.stats()).isEqualTo(id);
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
    }

    @Test
    void aCommandIssuedAfterThePipelineEndedIsRefused() {
        AtomicReference<RedisReactiveCommands<String, String>> kept = new AtomicReference<>();
        pool.pipelined(c -> {
            kept.set(c);
            return c.ping();
        }).blockLast(TIMEOUT);
        StepVerifier.create(kept.get().set("pipe:late", "x"))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(IllegalStateException.class)
                        .hasMessageStartingWith("SET was issued after the pipeline had ended"))
                .verify(TIMEOUT);
        assertThat(pool.commands().exists("pipe:late").block(TIMEOUT)).isZero();
    }

    @Test
    void aConnectionControlCalledAfterThePipelineEndedIsRefusedAndLeavesTheNextLeaseAlone() {
        AtomicReference<RedisReactiveCommands<String, String>> kept = new AtomicReference<>();
        long id = pool.pipelined(c -> {
            kept.set(c);
            return c.clientId();
        }).blockLast(TIMEOUT);
        Duration poolTimeout = pool.withConnection(c -> Mono.just(c.getStatefulConnection().getTimeout()))
                .blockLast(TIMEOUT);

        assertThatThrownBy(() -> kept.get().setTimeout(Duration.ofMinutes(5))).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("setTimeout was issued after the pipeline had ended");
        assertThatThrownBy(() -> kept.get().getStatefulConnection().setAutoFlushCommands(false))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("setAutoFlushCommands was issued after the pipeline had ended");

        // The same connection, as the pool left it.
        assertThat(pool.withConnection(c -> Mono.just(c.getStatefulConnection().getTimeout())
                .zipWith(c.clientId(), (timeout, clientId) -> timeout + " " + clientId)).blockLast(TIMEOUT))
                .isEqualTo(poolTimeout + " " + id);
        assertThat(pool.withConnection(c -> c.set("pipe:flushed", "y")).blockLast(TIMEOUT)).isEqualTo("OK");
    }

    private int totalFlushes() {
        return flushes.values().stream().mapToInt(AtomicInteger::get).sum();
    }
}
