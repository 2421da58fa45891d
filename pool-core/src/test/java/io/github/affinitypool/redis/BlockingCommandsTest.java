package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.KeyValue;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.XReadArgs.StreamOffset;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.KeyValueOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.test.StepVerifier;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.CloseReason;

/**
 * Blocking commands called on {@code commands()} run transparently on an exclusive lease of the caller's worker: they
 * block only that connection, their timeout covers their block time, and a cancelled one closes its connection.
 */
class BlockingCommandsTest extends PoolPerTest {

    BlockingCommandsTest() {
        super(builder -> builder.name("blocking").workers(2).poolConfig(AffinityPoolConfig.builder().maxOpen(4).build())
                .commandTimeout(Duration.ofMillis(300)));
    }

    @Test
    void blpopOnCommandsWaitsOnALeaseOfTheCallersWorkerWhileTheSharedPathGoesOn() throws Exception {
        CompletableFuture<String> popped = new CompletableFuture<>();
        pool.loops().loop(1).execute(() -> pool.commands().blpop(0, "queue")
                .subscribe(kv -> popped.complete(kv.getValue() + "@" + Thread.currentThread().getName()),
                        popped::completeExceptionally));
        awaitBlockedClients(1);
        assertThat(pool.stats().workers().get(1).acquired()).isEqualTo(1);

        // The shared connections are not blocked.
        assertThat(pool.commands().rpush("queue", "job").block(TIMEOUT)).isEqualTo(1L);

        assertThat(popped.get(10, TimeUnit.SECONDS)).isEqualTo("job@" + loopThread(pool.loops(), 1).getName());
        await().atMost(TIMEOUT).untilAsserted(() -> assertThat(pool.stats().total().acquired()).isZero());
        // Released clean and kept: the blocking command completed.
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
        assertThat(pool.stats().workers().get(1).idle()).isEqualTo(1);
    }

    @Test
    void aBlockTimeLongerThanTheCommandTimeoutIsNotCutOff() {
        // Command timeout 300 ms, BLPOP blocks up to 1 s: answered (empty) by Redis, not timed out by the client.
        StepVerifier.create(pool.commands().blpop(1, "empty")).verifyComplete();
        StepVerifier.create(pool.commands().xread(XReadArgs.Builder.block(Duration.ofMillis(700)),
                StreamOffset.latest("no-stream"))).verifyComplete();
    }

    @Test
    void aCancelledBlockingCommandClosesItsConnection() {
        Disposable waiting = pool.commands().brpop(0, "never").subscribe();
        awaitBlockedClients(1);
        waiting.dispose();

        awaitBlockedClients(0);
        await().atMost(TIMEOUT).untilAsserted(() -> {
            assertThat(pool.stats().total().acquired()).isZero();
            assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isEqualTo(1L);
        });
        // Nothing consumed what arrives later in place of the abandoned BRPOP.
        assertThat(pool.commands().rpush("never", "x").block(TIMEOUT)).isEqualTo(1L);
        assertThat(pool.commands().lrange("never", 0, -1).collectList().block(TIMEOUT)).containsExactly("x");
    }

    @Test
    void xreadWithBlockWaitsForTheNextEntry() throws Exception {
        CompletableFuture<List<StreamMessage<String, String>>> read = pool.commands()
                .xread(XReadArgs.Builder.block(Duration.ZERO), StreamOffset.latest("events"))
                .collectList().toFuture();
        awaitBlockedClients(1);
        pool.commands().xadd("events", "type", "created").block(TIMEOUT);
        List<StreamMessage<String, String>> entries = read.get(10, TimeUnit.SECONDS);
        assertThat(entries).hasSize(1);
        assertThat(entries.get(0).getBody()).containsEntry("type", "created");
    }

    @Test
    void dispatchedBlockingCommandsRunOnALeaseToo() {
        pool.commands().rpush("dispatched", "a").block(TIMEOUT);
        CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8).addKey("dispatched").add(1);
        Object popped = pool.commands()
                .dispatch(CommandType.BLPOP, new KeyValueOutput<String, String>(StringCodec.UTF8), args).blockFirst(TIMEOUT);
        assertThat(popped).isEqualTo(KeyValue.just("dispatched", "a"));
        assertThat(pool.stats().total().misses()).isEqualTo(1); // an exclusive connection was opened for it
    }

    private void awaitBlockedClients(int count) {
        await().atMost(Duration.ofSeconds(5))
                .until(() -> String.valueOf(count).equals(redis.info("clients").get("blocked_clients")));
    }
}
