package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** {@code @RedisTest} with one server for the class, seen through every injection point. */
@RedisTest(password = "class-pw", databases = 3)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisTestPerClassTest {

    static RedisServer fromBeforeAll;

    @RedisServerInstance
    static RedisServer staticField;

    @RedisServerInstance
    RedisServer field;

    final RedisServer fromConstructor;

    RedisTestPerClassTest(RedisServer server) {
        this.fromConstructor = server;
    }

    @BeforeAll
    static void beforeAll(RedisServer server) {
        fromBeforeAll = server;
        assertThat(server.command("SET", "written-in", "beforeAll")).isEqualTo("OK");
    }

    @Test
    @Order(1)
    void everyInjectionPointGetsTheSameRunningServer(RedisServer parameter) {
        assertThat(parameter).isSameAs(field).isSameAs(fromConstructor).isSameAs(fromBeforeAll).isSameAs(staticField);
        assertThat(parameter.isRunning()).isTrue();
        assertThat(parameter.password()).contains("class-pw");
        assertThat(parameter.databases()).isEqualTo(3);
        assertThat(parameter.command("CONFIG", "GET", "databases")).isEqualTo("databases\n3");
        assertThat(parameter.command("GET", "written-in")).isEqualTo("beforeAll");
        assertThat(parameter.command("SET", "written-in", "first test")).isEqualTo("OK");
    }

    @Test
    @Order(2)
    void theNextTestGetsTheSameServerWithTheDataLeftBefore() {
        assertThat(field).isSameAs(fromBeforeAll).isSameAs(fromConstructor);
        assertThat(field.command("GET", "written-in")).isEqualTo("first test");
    }

    @Nested
    class WithoutItsOwnAnnotation {

        @RedisServerInstance
        RedisServer nestedField;

        @Test
        void sharesTheEnclosingClassServer(RedisServer server) {
            assertThat(server).isSameAs(fromBeforeAll).isSameAs(nestedField);
        }
    }

    @Nested
    @RedisTest(databases = 2)
    class WithItsOwnAnnotation {

        @Test
        void getsItsOwnServer(RedisServer server) {
            assertThat(server).isNotSameAs(fromBeforeAll);
            assertThat(server.port()).isNotEqualTo(fromBeforeAll.port());
            assertThat(server.databases()).isEqualTo(2);
            assertThat(server.password()).isEmpty();
        }
    }

    @AfterAll
    static void theServerRunsUntilTheClassIsDone(RedisServer server) {
        assertThat(server).isSameAs(fromBeforeAll);
        assertThat(server.isRunning()).isTrue();
    }
}
