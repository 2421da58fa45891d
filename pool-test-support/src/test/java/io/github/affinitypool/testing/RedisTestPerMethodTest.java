package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;

/** {@code @RedisTest(perMethod = true)}: a fresh server for each test, closed after it. */
@RedisTest(perMethod = true, aclUsers = "app app-secret ~app:* +@all")
class RedisTestPerMethodTest {

    static final List<RedisServer> SEEN = new CopyOnWriteArrayList<>();

    @RedisServerInstance
    RedisServer field;

    final RedisServer fromConstructor;

    RedisTestPerMethodTest(RedisServer server) {
        this.fromConstructor = server;
    }

    @BeforeEach
    void beforeEach(RedisServer server) {
        assertThat(server).isSameAs(field).isSameAs(fromConstructor);
    }

    @RepeatedTest(3)
    void eachTestGetsAFreshServer(RedisServer server) {
        assertThat(server).isSameAs(field).isSameAs(fromConstructor);
        assertThat(SEEN).doesNotContain(server).allSatisfy(previous -> assertThat(previous.isRunning()).isFalse());
        assertThat(server.command("DBSIZE")).isEqualTo("0");
        assertThat(server.command("SET", "app:k", "v")).isEqualTo("OK");
        try (RawRedisConnection app = server.connectAs("app", RedisServer.DEFAULT_TIMEOUT)) {
            assertThat(app.command("GET", "app:k")).isEqualTo("v");
        }
        SEEN.add(server);
    }

    @AfterEach
    void afterEach(RedisServer server) {
        assertThat(server).isSameAs(field);
        assertThat(server.isRunning()).isTrue();
    }

    @AfterAll
    static void everyServerWasClosedAfterItsTest() {
        // (empty when the tests were skipped: -Dredis.testcontainers=true without Docker)
        assertThat(SEEN).allSatisfy(server -> assertThat(server.isRunning()).isFalse()).doesNotHaveDuplicates();
    }
}
