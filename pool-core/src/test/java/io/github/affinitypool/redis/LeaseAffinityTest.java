package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static io.github.affinitypool.redis.PoolFixtures.loopThread;
import static io.github.affinitypool.redis.PoolFixtures.onLoop;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Mono;

import io.github.affinitypool.core.Locality;
import io.github.affinitypool.core.WorkerLoops;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/** Exclusive leases acquired on worker w live on w's loop and emit their replies there. */
@RedisTest
class LeaseAffinityTest {

    record LeaseReply(int worker, Locality locality, String value, Thread replyThread) {
    }

    @ParameterizedTest(name = "{0} workers")
    @ValueSource(ints = { 2, 4 })
    void localLeaseEmitsRepliesOnTheCallersWorkerLoop(int workers, RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri())
                .name("lease-pin-" + workers).workers(workers).build()) {
            WorkerLoops loops = pool.loops();
            for (int worker = 0; worker < workers; worker++) {
                String key = "lease:" + workers + ":" + worker;
                assertThat(pool.commands().set(key, "v" + worker).block(TIMEOUT)).isEqualTo("OK");

                LeaseReply reply = onLoop(loops, worker, () -> pool.acquire().flatMap(lease -> lease.reactive().get(key)
                        .map(value -> new LeaseReply(lease.worker(), lease.locality(), value, Thread.currentThread()))
                        .flatMap(result -> lease.release().thenReturn(result)))).value();

                assertThat(reply.worker()).isEqualTo(worker);
                assertThat(reply.locality()).isEqualTo(Locality.LOCAL);
                assertThat(reply.value()).isEqualTo("v" + worker);
                assertThat(reply.replyThread()).isSameAs(loopThread(loops, worker));

                PoolFixtures.Emission<String> viaWithConnection = onLoop(loops, worker,
                        () -> pool.withConnection(commands -> commands.get(key)));
                assertThat(viaWithConnection.value()).isEqualTo("v" + worker);
                assertThat(viaWithConnection.thread()).isSameAs(loopThread(loops, worker));
            }
            assertThat(pool.stats().total().acquired()).isZero();
        }
    }

    @Test
    void asyncCommandsOfALocalLeaseCompleteOnItsLoop(RedisServer redis) throws Exception {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("lease-async")
                .workers(2).build()) {
            Thread loop1 = loopThread(pool.loops(), 1);
            CompletableFuture<Thread> completedOn = new CompletableFuture<>();
            pool.loops().loop(1).execute(() -> pool.acquire().subscribe(lease -> lease.async().incr("lease:async")
                    .whenComplete((value, error) -> {
                        completedOn.complete(Thread.currentThread());
                        lease.release().subscribe();
                    })));
            assertThat(completedOn.get(10, TimeUnit.SECONDS)).isSameAs(loop1);
        }
    }

    @Test
    void releaseIsIdempotentAndSyncIsRefused(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("lease-release")
                .workers(1).build()) {
            RedisLease<String, String> lease = pool.acquire().block(TIMEOUT);
            assertThat(pool.stats().total().acquired()).isEqualTo(1);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> lease.connection().sync())
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("use reactive() or async()");
            Mono.when(lease.release(), lease.release()).block(TIMEOUT);
            lease.release().block(TIMEOUT);
            assertThat(pool.stats().total().acquired()).isZero();
            assertThat(pool.stats().total().idle()).isEqualTo(1);
        }
    }
}
