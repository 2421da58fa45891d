package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/** The handshake from the Redis URI: AUTH with password or ACL user, SELECT, CLIENT SETNAME. */
@RedisTest(password = HandshakeTest.PASSWORD, aclUsers = "app " + HandshakeTest.APP_PASSWORD + " ~* &* +@all")
class HandshakeTest {

    static final String PASSWORD = "default-S3cret-pw";

    static final String APP_PASSWORD = "app-S3cret-pw";

    private static final String WRONG_PASSWORD = "Wr0ng-pa55word-xyz";

    @Test
    void passwordAuthentication(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("password").workers(1)
                .build()) {
            assertThat(pool.commands().aclWhoami().block(TIMEOUT)).isEqualTo("default");
            assertThat(pool.uri()).isEqualTo("redis://" + redis.host() + ":" + redis.port());
            assertThat(pool.acquire().flatMap(lease -> lease.reactive().aclWhoami()
                    .flatMap(user -> lease.release().thenReturn(user))).block(TIMEOUT)).isEqualTo("default");
        }
    }

    @Test
    void aclUserAuthentication(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uriForUser("app")).name("acl")
                .workers(1).build()) {
            assertThat(pool.commands().aclWhoami().block(TIMEOUT)).isEqualTo("app");
            assertThat(pool.withConnection(commands -> commands.aclWhoami()).blockLast(TIMEOUT)).isEqualTo("app");
            assertThat(pool.uri()).isEqualTo("redis://app@" + redis.host() + ":" + redis.port());
        }
    }

    @Test
    void wrongPasswordGivesAClearErrorWithoutThePassword(RedisServer redis) {
        String uri = redis.uri().replace(PASSWORD, WRONG_PASSWORD);
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(uri).name("wrong").workers(1).build()) {
            assertThat(pool.toString()).doesNotContain(WRONG_PASSWORD);

            StepVerifier.create(pool.commands().ping())
                    .expectErrorSatisfies(error -> {
                        assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                                .hasMessageStartingWith("Redis pool 'wrong' (worker 0): shared connection to redis://127.0.0.1:"
                                        + redis.port() + " is unavailable: WRONGPASS invalid username-password pair");
                        assertThat(fullTrace(error)).doesNotContain(WRONG_PASSWORD).doesNotContain(PASSWORD);
                    })
                    .verify(TIMEOUT);
            StepVerifier.create(pool.acquire())
                    .expectErrorSatisfies(error -> {
                        assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                                .hasMessage("Redis pool 'wrong' (worker 0): cannot connect to redis://127.0.0.1:" + redis.port()
                                        + ": WRONGPASS invalid username-password pair or user is disabled.");
                        assertThat(fullTrace(error)).doesNotContain(WRONG_PASSWORD);
                    })
                    .verify(TIMEOUT);
        }
    }

    @Test
    void wrongAclPasswordNamesTheUserButNotThePassword(RedisServer redis) {
        String uri = redis.uriForUser("app").replace(APP_PASSWORD, WRONG_PASSWORD);
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(uri).name("wrong-acl").workers(1).build()) {
            StepVerifier.create(pool.commands().ping())
                    .expectErrorSatisfies(error -> {
                        assertThat(error).hasMessageContaining("shared connection to redis://app@127.0.0.1:" + redis.port())
                                .hasMessageContaining("WRONGPASS");
                        assertThat(fullTrace(error)).doesNotContain(WRONG_PASSWORD);
                    })
                    .verify(TIMEOUT);
        }
    }

    @Test
    void selectIsolatesDatabases(RedisServer redis) {
        try (RedisAffinityPool<String, String> db3 = RedisAffinityPool.builder(redis.uri(3)).name("db3").workers(2).build();
                RedisAffinityPool<String, String> db0 = RedisAffinityPool.builder(redis.uri()).name("db0").workers(2)
                        .build()) {
            assertThat(db3.commands().set("isolated", "in-3").block(TIMEOUT)).isEqualTo("OK");
            assertThat(db3.withConnection(c -> c.set("leased", "in-3")).blockLast(TIMEOUT)).isEqualTo("OK");

            assertThat(db3.commands().get("isolated").block(TIMEOUT)).isEqualTo("in-3");
            assertThat(db0.commands().get("isolated").block(TIMEOUT)).isNull();
            assertThat(db0.commands().get("leased").block(TIMEOUT)).isNull();
            assertThat(db0.withConnection(c -> c.exists("isolated", "leased")).blockLast(TIMEOUT)).isZero();
            assertThat(db3.commands().dbsize().block(TIMEOUT)).isEqualTo(2L);
            assertThat(db3.commands().clientInfo().block(TIMEOUT)).contains(" db=3 ");
        }
    }

    @Test
    void clientNamesIdentifyThePoolsConnections(RedisServer redis) {
        try (RedisAffinityPool<String, String> derived = RedisAffinityPool.builder(redis.uri()).name("Named Pool")
                .workers(2).build();
                RedisAffinityPool<String, String> explicit = RedisAffinityPool.builder(redis.uri() + "?clientName=orders")
                        .name("explicit").workers(1).build()) {
            PoolFixtures.onLoop(derived.loops(), 1, () -> derived.commands().ping());
            assertThat(PoolFixtures.onLoop(derived.loops(), 1, () -> derived.commands().clientGetname()).value())
                    .isEqualTo("affinity-pool.named_pool.shared.w1");
            assertThat(PoolFixtures.onLoop(derived.loops(), 1,
                    () -> derived.withConnection(c -> c.clientGetname())).value()).isEqualTo("affinity-pool.named_pool.w1");
            assertThat(explicit.commands().clientGetname().block(TIMEOUT)).isEqualTo("orders");
            assertThat(redis.clientNames("affinity-pool.named_pool.shared.w"))
                    .containsExactlyInAnyOrder("affinity-pool.named_pool.shared.w0", "affinity-pool.named_pool.shared.w1");
        }
    }

    @Test
    void aPoolNameRedisWouldRefuseAsAClientNameStillConnects(RedisServer redis) {
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("Café Orders")
                .workers(1).build()) {
            assertThat(pool.commands().clientGetname().block(TIMEOUT)).isEqualTo("affinity-pool.caf__orders.shared.w0");
            assertThat(pool.withConnection(c -> c.clientGetname()).blockLast(TIMEOUT))
                    .isEqualTo("affinity-pool.caf__orders.w0");
            assertThat(pool.name()).isEqualTo("Café Orders");
        }
    }

    private static String fullTrace(Throwable error) {
        StringWriter trace = new StringWriter();
        error.printStackTrace(new PrintWriter(trace));
        return trace + " " + error;
    }
}
