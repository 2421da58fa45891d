package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.clientLine;
import static org.assertj.core.api.Assertions.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.TransactionResult;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.CloseReason;

/**
 * {@code transaction(...)}: MULTI ... EXEC on one exclusive lease, WATCH, and what an error or a cancel leaves behind.
 * Two workers and max-open 2, so concurrent transactions queue for the same few connections and reuse them.
 */
class TransactionTest extends PoolPerTest {

    TransactionTest() {
        super(builder -> exclusive(builder, "tx", 2, 2, Duration.ofSeconds(2)));
    }

    @Test
    void concurrentTransactionsAreAtomicAndExclusive() {
        int transactions = 50;
        List<TransactionResult> results = Flux.range(0, transactions)
                .flatMap(i -> pool.transaction(c -> Flux.merge(c.incr("tx:n"), c.incr("tx:n"), c.incr("tx:n")))
                        .subscribeOn(pool.loops().scheduler(i % 2)), transactions)
                .collectList()
                .block(TIMEOUT);

        assertThat(pool.commands().get("tx:n").block(TIMEOUT)).isEqualTo(String.valueOf(3 * transactions));
        assertThat(results).hasSize(transactions);
        for (TransactionResult result : results) {
            assertThat(result.wasDiscarded()).isFalse();
            // Nothing ran between a transaction's three INCRs: their replies are consecutive.
            long first = result.<Long>get(0);
            assertThat(List.<Object>of(result.get(1), result.get(2))).containsExactly(first + 1, first + 2);
        }
        assertThat(pool.stats().total().acquired()).isZero();
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
    }

    @Test
    void queuedCommandsCompleteWithTheirOwnResultsAfterExec() {
        TransactionResult result = pool.transaction(c -> Flux.merge(c.set("tx:a", "1"), c.incr("tx:a"), c.get("tx:a"))
                .collectList().doOnNext(values -> assertThat(values).containsExactlyInAnyOrder("OK", 2L, "2")))
                .block(TIMEOUT);
        assertThat(result.wasDiscarded()).isFalse();
        assertThat(List.<Object>of(result.get(0), result.get(1), result.get(2))).containsExactly("OK", 2L, "2");
    }

    @Test
    void watchConflictDiscardsTheTransaction() {
        pool.commands().set("tx:balance", "100").block(TIMEOUT);

        TransactionResult conflicted = pool.transaction(List.of("tx:balance"),
                c -> c.get("tx:balance").map(Long::parseLong)
                        // Another client changes the watched key between WATCH and EXEC.
                        .flatMap(balance -> pool.commands().set("tx:balance", "500").thenReturn(balance)),
                (c, balance) -> c.set("tx:balance", Long.toString(balance - 10)))
                .block(TIMEOUT);
        assertThat(conflicted.wasDiscarded()).isTrue();
        assertThat(pool.commands().get("tx:balance").block(TIMEOUT)).isEqualTo("500");

        TransactionResult clean = pool.transaction(List.of("tx:balance"),
                c -> c.get("tx:balance").map(Long::parseLong),
                (c, balance) -> c.set("tx:balance", Long.toString(balance - 10)))
                .block(TIMEOUT);
        assertThat(clean.wasDiscarded()).isFalse();
        assertThat(pool.commands().get("tx:balance").block(TIMEOUT)).isEqualTo("490");

        TransactionResult watchedOnly = pool.transaction(List.of("tx:balance"), c -> c.incrby("tx:balance", 10))
                .block(TIMEOUT);
        assertThat(watchedOnly.wasDiscarded()).isFalse();
        assertThat(pool.commands().get("tx:balance").block(TIMEOUT)).isEqualTo("500");
    }

    @Test
    void anEmptyReadAbortsBeforeMulti() {
        long multis = calls("multi");
        long unwatches = calls("unwatch");
        StepVerifier.create(pool.transaction(List.of("tx:absent"), c -> c.get("tx:absent"),
                (c, value) -> c.set("tx:absent", value + "!")))
                .verifyComplete();
        assertThat(calls("multi")).isEqualTo(multis);
        assertThat(calls("unwatch")).as("UNWATCH on release").isEqualTo(unwatches + 1);
        assertThat(pool.commands().exists("tx:absent").block(TIMEOUT)).isZero();
    }

    @Test
    void anErrorReplyToAQueuedCommandIsAnElementOfTheResult() {
        pool.commands().set("tx:string", "x").block(TIMEOUT);
        TransactionResult result = pool.transaction(c -> Flux.merge(c.lpush("tx:string", "y"), c.incr("tx:counter")))
                .block(TIMEOUT);
        assertThat(result.wasDiscarded()).isFalse();
        assertThat((Object) result.get(0)).isInstanceOf(RedisCommandExecutionException.class);
        assertThat((Object) result.get(1)).isEqualTo(1L);
    }

    @Test
    void aCommandRedisRefusesToQueueFailsTheTransactionWithRedissOwnReason() {
        // EXEC then answers only "EXECABORT Transaction discarded because of previous errors."
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1");
        try {
            StepVerifier.create(pool.transaction(c -> c.incr("tx:refused")))
                    .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(RedisCommandExecutionException.class)
                            .hasMessageStartingWith("NOREPLICAS").satisfies(refused -> assertThat(
                                    refused.getSuppressed()).extracting(Throwable::getMessage)
                                    .singleElement(as(InstanceOfAssertFactories.STRING)).startsWith("EXECABORT")))
                    .verify(TIMEOUT);
        }
        finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        assertThat(pool.commands().exists("tx:refused").block(TIMEOUT)).isZero();
        assertThat(pool.stats().total().acquired()).isZero();
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
    }

    @Test
    void aFailureBeforeExecDiscardsTheTransaction() {
        StepVerifier.create(pool.transaction(c -> Flux.merge(c.incr("tx:never"),
                Mono.error(new IllegalArgumentException("boom")))))
                .expectErrorMessage("boom")
                .verify(TIMEOUT);
        StepVerifier.create(pool.transaction(c -> {
            throw new IllegalStateException("thrown");
        })).expectErrorMessage("thrown").verify(TIMEOUT);

        assertThat(pool.commands().exists("tx:never").block(TIMEOUT)).isZero();
        assertThat(pool.stats().total().acquired()).isZero();
        assertThat(pool.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
    }

    @Test
    void aCommandIssuedAfterExecIsRefusedAndNeverSent() {
        StepVerifier.create(pool.transaction(c -> c.incr("tx:first").flatMap(n -> c.set("tx:second", "late"))))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(IllegalStateException.class)
                        .hasMessageStartingWith("SET was issued after EXEC: in a transaction every command's result "
                                + "arrives only with EXEC's reply"))
                .verify(TIMEOUT);
        assertThat(pool.commands().get("tx:first").block(TIMEOUT)).isEqualTo("1");
        assertThat(pool.commands().exists("tx:second").block(TIMEOUT)).isZero();

        StepVerifier.create(pool.transaction(c -> c.exec()))
                .expectErrorMessage("EXEC is sent by RedisAffinityPool.transaction(...) itself; return an error from "
                        + "your function to abort the transaction (the pool then sends DISCARD)")
                .verify(TIMEOUT);
    }

    @Test
    void cancelMidTransactionLeavesTheNextLeaseClean() {
        try (RedisAffinityPool<String, String> single = singleConnectionPool("tx-cancel", Duration.ofSeconds(1))) {
            long id = single.withConnection(c -> c.clientId()).blockLast(TIMEOUT);
            AtomicReference<Disposable> transaction = new AtomicReference<>();
            Mono<TransactionResult> dirty = single.transaction(List.of("tx:watched"),
                    c -> c.select(2).thenReturn("selected"),
                    (c, selected) -> {
                        // MULTI is open, the database is 2, auto-flush goes off: now the caller cancels.
                        c.getStatefulConnection().setAutoFlushCommands(false);
                        transaction.get().dispose();
                        return c.incr("tx:cancelled");
                    });
            transaction.set(dirty.subscribe());

            // Same connection (reset, not closed), not in MULTI, database 0, auto-flush on (a 1 s timeout otherwise).
            single.commands().set("tx:watched", "changed by another client").block(TIMEOUT);
            RedisLease<String, String> next = single.acquire().block(TIMEOUT);
            try {
                assertThat(next.reactive().clientId().block(TIMEOUT)).isEqualTo(id);
                assertThat(next.connection().isMulti()).isFalse();
                String info = next.reactive().clientInfo().block(TIMEOUT);
                assertThat(info).contains(" db=0 ").contains(" multi=-1 ");
            }
            finally {
                next.release().block(TIMEOUT);
            }
            // The stale WATCH is gone: a change to the key does not discard the next transaction.
            assertThat(single.transaction(c -> c.set("tx:after", "ok")).block(TIMEOUT).wasDiscarded()).isFalse();
            assertThat(redis.info("keyspace")).doesNotContainKey("db2");
            assertThat(single.commands().exists("tx:cancelled").block(TIMEOUT)).isZero();
            assertThat(single.stats().total().closedByReason().get(CloseReason.RESET_FAILED)).isZero();
            assertThat(single.stats().total().acquired()).isZero();
        }
    }

    @Test
    void aTransactionCancelledWhileExecIsInFlightClosesItsConnection() throws Exception {
        try (RedisAffinityPool<String, String> single = singleConnectionPool("tx-exec", Duration.ofSeconds(30))) {
            long id = single.withConnection(c -> c.clientId()).blockLast(TIMEOUT);
            AtomicBoolean frozen = new AtomicBoolean();
            Disposable transaction;
            try {
                transaction = single.transaction(c -> (Publisher<Object>) subscriber -> {
                    // On the connection's loop, MULTI answered: Redis freezes before the INCRs and the EXEC that the
                    // pool sends next reach it, so EXEC stays unanswered.
                    redis.pause();
                    Flux.merge(c.incr("tx:exec"), c.incr("tx:exec")).subscribe(subscriber);
                    frozen.set(true);
                }).subscribe();
                await().atMost(TIMEOUT).untilTrue(frozen);
                // Runs after the loop's task that sent EXEC.
                single.loops().loop(0).submit(() -> { }).get(10, TimeUnit.SECONDS);
                assertThat(transaction.isDisposed()).as("transaction finished").isFalse();

                transaction.dispose();
                // Closed while EXEC is unanswered, long before its 30 s command timeout: the cancel did it.
                await().atMost(TIMEOUT).until(() -> closed(single, CloseReason.RESET_FAILED) == 1);
                assertThat(single.stats().total().open()).isZero();
            }
            finally {
                redis.resume();
            }
            await().atMost(TIMEOUT).until(() -> clientLine(redis, id).isEmpty());

            TransactionResult next = single.transaction(
                    c -> Flux.merge(c.clientId(), c.incr("tx:exec"), c.get("tx:exec"))).block(TIMEOUT);
            assertThat(next.wasDiscarded()).isFalse();
            assertThat((Long) next.get(0)).as("CLIENT ID").isNotEqualTo(id);
            // The EXEC Redis had received ran after all: the state of that connection was indeed unknown.
            assertThat(List.<Object>of(next.get(1), next.get(2))).containsExactly(3L, "3");
            assertThat(redis.clientNames("affinity-pool.tx-exec.w")).containsExactly("affinity-pool.tx-exec.w0");
            assertThat(closed(single, CloseReason.RESET_FAILED)).isEqualTo(1L);
            assertThat(single.stats().total().acquired()).isZero();
            assertThat(single.stats().total().pending()).isZero();
        }
    }

    /** @return a pool of one worker and at most one exclusive connection, so consecutive leases share it if kept */
    private RedisAffinityPool<String, String> singleConnectionPool(String name, Duration commandTimeout) {
        return RedisAffinityPool.builder(redis.uri()).name(name).workers(1)
                .poolConfig(AffinityPoolConfig.builder().maxOpen(1).maxIdlePerWorker(1).build())
                .commandTimeout(commandTimeout).build();
    }

    private static long closed(RedisAffinityPool<String, String> pool, CloseReason reason) {
        return pool.stats().total().closedByReason().get(reason);
    }

    /** @return how often the server ran {@code command} ({@code INFO commandstats}) */
    private long calls(String command) {
        String stats = redis.info("commandstats").get("cmdstat_" + command);
        return stats == null ? 0 : Long.parseLong(stats.substring("calls=".length(), stats.indexOf(',')));
    }
}
