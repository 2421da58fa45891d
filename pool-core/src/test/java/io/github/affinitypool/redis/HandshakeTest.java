package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Nested;
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

    /** With a '/', as {@code openssl rand -base64} often makes them. */
    static final String SLASH_PASSWORD = "s3cr/etPass";

    /** With a '#' and a '?'. */
    static final String HASH_APP_PASSWORD = "app#S3cr?et";

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
                                .hasMessageStartingWith("Redis pool 'wrong' (worker 0): shared connection to "
                                        + "redis://127.0.0.1:" + redis.port()
                                        + " is unavailable: WRONGPASS invalid username-password pair");
                        assertThat(fullTrace(error)).doesNotContain(WRONG_PASSWORD).doesNotContain(PASSWORD);
                    })
                    .verify(TIMEOUT);
            StepVerifier.create(pool.acquire())
                    .expectErrorSatisfies(error -> {
                        assertThat(error).isInstanceOf(RedisPoolConnectionException.class)
                                .hasMessage("Redis pool 'wrong' (worker 0): cannot connect to redis://127.0.0.1:"
                                        + redis.port()
                                        + ": WRONGPASS invalid username-password pair or user is disabled.");
                        assertThat(fullTrace(error)).doesNotContain(WRONG_PASSWORD);
                    })
                    .verify(TIMEOUT);
        }
    }

    @Test
    void wrongAclPasswordNamesTheUserButNotThePassword(RedisServer redis) {
        String uri = redis.uriForUser("app").replace(APP_PASSWORD, WRONG_PASSWORD);
        try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(uri).name("wrong-acl").workers(1)
                .build()) {
            StepVerifier.create(pool.commands().ping())
                    .expectErrorSatisfies(error -> {
                        assertThat(error)
                                .hasMessageContaining("shared connection to redis://app@127.0.0.1:" + redis.port())
                                .hasMessageContaining("WRONGPASS");
                        assertThat(fullTrace(error)).doesNotContain(WRONG_PASSWORD);
                    })
                    .verify(TIMEOUT);
        }
    }

    @Test
    void selectIsolatesDatabases(RedisServer redis) {
        try (RedisAffinityPool<String, String> db3 = RedisAffinityPool.builder(redis.uri(3)).name("db3")
                .workers(2).build();
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
                RedisAffinityPool<String, String> explicit = RedisAffinityPool
                        .builder(redis.uri() + "?clientName=orders").name("explicit").workers(1).build()) {
            PoolFixtures.onLoop(derived.loops(), 1, () -> derived.commands().ping());
            assertThat(PoolFixtures.onLoop(derived.loops(), 1, () -> derived.commands().clientGetname()).value())
                    .isEqualTo("affinity-pool.named_pool.shared.w1");
            assertThat(PoolFixtures.onLoop(derived.loops(), 1,
                    () -> derived.withConnection(c -> c.clientGetname())).value())
                    .isEqualTo("affinity-pool.named_pool.w1");
            assertThat(explicit.commands().clientGetname().block(TIMEOUT)).isEqualTo("orders");
            assertThat(redis.clientNames("affinity-pool.named_pool.shared.w"))
                    .containsExactlyInAnyOrder("affinity-pool.named_pool.shared.w0",
                            "affinity-pool.named_pool.shared.w1");
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

    /**
     * Passwords with characters that end a URI's user info. Unencoded, a parser read their rest as host, database or
     * fragment, and the messages about the server showed it (the review's {@code redis://:s3cr#etPass@localhost:6400}
     * became {@code redis://:s3cr:6379}); percent-encoded, Lettuce decodes them and they authenticate.
     */
    @Nested
    @RedisTest(password = SLASH_PASSWORD, aclUsers = "app " + HASH_APP_PASSWORD + " ~* &* +@all")
    class PasswordsWithUriDelimiters {

        @Test
        void percentEncodedTheyAuthenticate(RedisServer redis) {
            assertThat(redis.uri()).isEqualTo("redis://:s3cr%2FetPass@" + redis.host() + ":" + redis.port());
            try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uri()).name("slash")
                    .workers(1).build()) {
                assertThat(pool.commands().aclWhoami().block(TIMEOUT)).isEqualTo("default");
                assertThat(pool.withConnection(c -> c.set("encoded", "works")).blockLast(TIMEOUT)).isEqualTo("OK");
                assertThat(pool.commands().get("encoded").block(TIMEOUT)).isEqualTo("works");
                assertThat(pool.uri()).isEqualTo("redis://" + redis.host() + ":" + redis.port());
            }
            assertThat(redis.uriForUser("app")).startsWith("redis://app:app%23S3cr%3Fet@");
            try (RedisAffinityPool<String, String> pool = RedisAffinityPool.builder(redis.uriForUser("app"))
                    .name("hash").workers(1).build()) {
                assertThat(pool.commands().aclWhoami().block(TIMEOUT)).isEqualTo("app");
                assertThat(pool.withConnection(c -> c.aclWhoami()).blockLast(TIMEOUT)).isEqualTo("app");
                assertThat(pool.uri()).isEqualTo("redis://app@" + redis.host() + ":" + redis.port());
            }
        }

        @Test
        void unencodedTheyAreRefusedWithTheFixAndWithoutTheSecret(RedisServer redis) {
            String server = redis.host() + ":" + redis.port();
            // Before the fix the first failed with the URI unmasked and Lettuce's 'For input string:
            // "etPass@127.0.0.1:<port>"'; the second was accepted, and the pool named its server redis://app:app:6379.
            for (String[] uriAndMasked : new String[][] {
                    { "redis://:" + SLASH_PASSWORD + "@" + server, "redis://****@" + server },
                    { "redis://app:" + HASH_APP_PASSWORD + "@" + server + "/1", "redis://****@" + server + "/1" } }) {
                assertThatThrownBy(() -> RedisAffinityPool.builder(uriAndMasked[0]).name("raw").workers(1).build())
                        .as(uriAndMasked[0])
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("Malformed Redis URI '" + uriAndMasked[1] + "': the user info (up to the last '@') "
                                + "contains '/', '?', '#' or '@'; percent-encode them (%2F, %3F, %23, %40)")
                        .satisfies(error -> assertThat(fullTrace(error)).doesNotContain("s3cr").doesNotContain("S3cr")
                                .doesNotContain("etPass").doesNotContain("app#").doesNotContain("app:"));
            }
            assertThat(redis.clientNames("affinity-pool.raw")).isEmpty();
        }
    }

    private static String fullTrace(Throwable error) {
        StringWriter trace = new StringWriter();
        error.printStackTrace(new PrintWriter(trace));
        return trace + " " + error;
    }
}
