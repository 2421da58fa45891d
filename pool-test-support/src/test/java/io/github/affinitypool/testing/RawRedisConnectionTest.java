package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** RESP encoding and decoding of the raw client, against one real server. */
@RedisTest
class RawRedisConnectionTest {

    @RedisServerInstance
    RedisServer redis;

    RawRedisConnection connection;

    @BeforeEach
    void connect() {
        connection = redis.connect();
        connection.command("FLUSHALL");
    }

    @AfterEach
    void disconnect() {
        connection.close();
    }

    @Test
    void decodesEachRespTwoType() {
        assertThat(connection.call("PING")).isEqualTo("PONG");
        assertThat(connection.call("INCR", "n")).isEqualTo(1L);
        assertThat(connection.call("GET", "missing")).isNull();
        assertThat(connection.call("SET", "k", "v")).isEqualTo("OK");
        assertThat(connection.call("MGET", "k", "missing")).isEqualTo(java.util.Arrays.asList("v", null));
        assertThat(connection.call("EVAL", "return {1, {2, 'x'}, redis.status_reply('FINE')}", "0"))
                .isEqualTo(List.of(1L, List.of(2L, "x"), "FINE"));
        assertThat(connection.call("BLPOP", "empty", "0.01")).isNull();
    }

    @Test
    void sendsArgumentsAsBinarySafeBulkStrings() {
        String value = "line one\r\nline \"two\" ü € \\x00";
        assertThat(connection.command("SET", "key with spaces", value)).isEqualTo("OK");
        assertThat(connection.command("GET", "key with spaces")).isEqualTo(value);
        assertThat(connection.command("STRLEN", "key with spaces"))
                .isEqualTo(Integer.toString(value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length));
        assertThat(connection.command("SET", "empty", "")).isEqualTo("OK");
        assertThat(connection.command("GET", "empty")).isEmpty();
    }

    @Test
    void throwsTopLevelErrorsAndStaysUsable() {
        assertThat(connection.command("SET", "s", "text")).isEqualTo("OK");
        assertThatThrownBy(() -> connection.call("INCR", "s"))
                .isInstanceOfSatisfying(RedisErrorReplyException.class, e -> {
                    assertThat(e.reply()).isEqualTo("ERR value is not an integer or out of range");
                    assertThat(e.code()).isEqualTo("ERR");
                });
        assertThat(connection.isOpen()).isTrue();
        assertThat(connection.command("PING")).isEqualTo("PONG");
    }

    @Test
    void returnsErrorsInsideAnArrayAsElements() {
        connection.command("SET", "s", "text");
        assertThat(connection.command("MULTI")).isEqualTo("OK");
        assertThat(connection.command("SET", "t", "1")).isEqualTo("QUEUED");
        assertThat(connection.command("INCR", "s")).isEqualTo("QUEUED");
        List<?> replies = (List<?>) connection.call("EXEC");
        assertThat(replies).hasSize(2);
        assertThat(replies.get(0)).isEqualTo("OK");
        assertThat(replies.get(1)).isInstanceOfSatisfying(RedisErrorReplyException.class,
                e -> assertThat(e.reply()).isEqualTo("ERR value is not an integer or out of range"));
    }

    @Test
    void rendersRepliesAsText() {
        connection.command("RPUSH", "list", "a", "b");
        assertThat(connection.command("LRANGE", "list", "0", "-1")).isEqualTo("a\nb");
        assertThat(connection.command("MGET", "list-missing", "x")).isEqualTo("(nil)\n(nil)");
        assertThat(connection.command("LLEN", "list")).isEqualTo("2");
        assertThat(RawRedisConnection.toText(Map.of("k", 1L))).isEqualTo("k\n1");
        assertThat(redis.command("CLIENT", "SETNAME", "x")).isEqualTo("OK");
        assertThat(connection.command("CLIENT", "LIST")).contains("cmd=client");
    }

    @Test
    void decodesRespThreeAfterHello() {
        Object hello = connection.call("HELLO", "3");
        assertThat(hello).isInstanceOf(Map.class);
        assertThat(((Map<?, ?>) hello).get("proto")).isEqualTo(3L);
        assertThat(connection.call("GET", "missing")).isNull();
        connection.call("HSET", "h", "f", "v");
        assertThat(connection.call("HGETALL", "h")).isEqualTo(Map.of("f", "v"));
        connection.call("ZADD", "z", "1.5", "m");
        assertThat(connection.call("ZSCORE", "z", "m")).isEqualTo("1.5");
        assertThat(connection.call("EVAL", "redis.setresp(3); return true", "0")).isEqualTo(true);
        connection.call("SADD", "set", "only");
        assertThat(connection.call("SMEMBERS", "set")).isEqualTo(List.of("only"));
    }

    @Test
    void aReadTimeoutClosesTheConnectionSoALateReplyIsNeverMisread() {
        connection.timeout(Duration.ofMillis(100));
        assertThatThrownBy(() -> connection.call("DEBUG", "SLEEP", "0.5"))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(SocketTimeoutException.class)
                .hasMessageContaining("no reply in time");
        assertThat(connection.isOpen()).isFalse();
        assertThatThrownBy(() -> connection.call("PING")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("open a new one");
    }

    @Test
    void refusesAnEmptyCommand() {
        assertThatThrownBy(() -> connection.call()).isInstanceOf(IllegalArgumentException.class);
    }
}
