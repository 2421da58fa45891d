package io.github.affinitypool.sample;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

class SampleApplicationTests extends RedisBackedSampleTest {

    @Autowired
    AffinityRecorder affinity;

    private WebClient client() {
        return WebClient.create(baseUrl());
    }

    @Test
    void putThenGetAKey() {
        HttpStatus put = client().put().uri("/kv/greeting").contentType(MediaType.TEXT_PLAIN).bodyValue("hello")
                .exchangeToMono(response -> response.releaseBody().thenReturn(
                        HttpStatus.valueOf(response.statusCode().value())))
                .block(Duration.ofSeconds(5));
        assertThat(put).isEqualTo(HttpStatus.NO_CONTENT);
        assertThat(client().get().uri("/kv/greeting").retrieve().bodyToMono(String.class).block(Duration.ofSeconds(5)))
                .isEqualTo("hello");
    }

    @Test
    void putWithTtlSetsAnExpiry() {
        client().put().uri("/kv/short-lived?ttl=100").contentType(MediaType.TEXT_PLAIN).bodyValue("v").retrieve()
                .toBodilessEntity().block(Duration.ofSeconds(5));
        long ttl = Long.parseLong(redis.command("TTL", "short-lived"));
        assertThat(ttl).isBetween(1L, 100L);
    }

    /** An empty string is a value Redis stores and GET serves: PUT takes it too. */
    @Test
    void putWithAnEmptyBodyStoresAnEmptyValue() {
        Answer put = answer(client().put().uri("/kv/empty").contentType(MediaType.TEXT_PLAIN).bodyValue(""));
        assertThat(put.status()).isEqualTo(204);
        assertThat(redis.command("STRLEN", "empty")).isEqualTo("0");
        assertThat(redis.command("EXISTS", "empty")).isEqualTo("1");
        Answer get = answer(client().get().uri("/kv/empty"));
        assertThat(get.status()).isEqualTo(200);
        assertThat(get.body()).isEmpty();
    }

    @Test
    void missingKeyIs404() {
        int status = client().get().uri("/kv/no-such-key")
                .exchangeToMono(response -> response.releaseBody().thenReturn(response.statusCode().value()))
                .block(Duration.ofSeconds(5));
        assertThat(status).isEqualTo(404);
    }

    @Test
    void aTtlRedisWouldRefuseIsA400ThatSaysWhy() {
        for (String ttl : new String[] { "0", "-1", "2147483648" }) {
            Answer put = answer(client().put().uri("/kv/ttl-check?ttl=" + ttl).contentType(MediaType.TEXT_PLAIN)
                    .bodyValue("v"));
            Answer count = answer(client().post().uri("/counters/ttl-check?ttl=" + ttl));
            for (Answer answer : new Answer[] { put, count }) {
                assertThat(answer.status()).as("ttl=%s", ttl).isEqualTo(400);
                assertThat(answer.body()).contains("ttl must be between 1 and 2147483647 seconds, was " + ttl);
            }
        }
        assertThat(redis.command("EXISTS", "ttl-check")).isEqualTo("0");
    }

    @Test
    void aKeyThatIsNoCounterIsA409AndKeepsItsValueAndItsNoExpiry() {
        redis.command("SET", "not-a-counter", "hello");
        redis.command("RPUSH", "a-list", "x");

        Answer text = answer(client().post().uri("/counters/not-a-counter"));
        Answer list = answer(client().post().uri("/counters/a-list"));
        Answer get = answer(client().get().uri("/kv/a-list"));

        assertThat(text.status()).isEqualTo(409);
        assertThat(text.body()).contains("'not-a-counter' holds a value that is not a counter");
        assertThat(list.status()).isEqualTo(409);
        assertThat(list.body()).contains("WRONGTYPE");
        assertThat(get.status()).isEqualTo(409);
        // Nothing was queued: the data is as it was, with no TTL put on it.
        assertThat(redis.command("GET", "not-a-counter")).isEqualTo("hello");
        assertThat(redis.command("TTL", "not-a-counter")).isEqualTo("-1");
        assertThat(redis.command("TTL", "a-list")).isEqualTo("-1");
        assertThat(redis.command("LLEN", "a-list")).isEqualTo("1");
    }

    /**
     * Text INCR refuses though {@link Long#parseLong} takes it, and a count INCR would overflow: refused before MULTI
     * too, so EXPIRE never puts a TTL on the key.
     */
    @Test
    void aValueRedisWillNotIncrementIsA409AndGetsNoExpiry() {
        String[] values = { "+5", "007", "-0", "\u0663", Long.toString(Long.MAX_VALUE) };
        for (int i = 0; i < values.length; i++) {
            redis.command("SET", "odd-counter-" + i, values[i]);
        }
        for (int i = 0; i < values.length; i++) {
            Answer answer = answer(client().post().uri("/counters/odd-counter-" + i));
            assertThat(answer.status()).as(values[i]).isEqualTo(409);
            assertThat(redis.command("GET", "odd-counter-" + i)).as(values[i]).isEqualTo(values[i]);
            assertThat(redis.command("TTL", "odd-counter-" + i)).as(values[i]).isEqualTo("-1");
            assertThat(answer.body()).as(values[i]).contains((i < values.length - 1)
                    ? "'odd-counter-" + i + "' holds a value that is not a counter"
                    : "'odd-counter-" + i + "' holds 9223372036854775807: incrementing it would overflow");
        }
    }

    /** Redis refusing writes for now (too few replicas in sync) is a 503, like READONLY: not a 409 about the data. */
    @Test
    void aStoredValueGoesOutAsPlainTextWhateverTheBrowserAccepts() {
        client().put().uri("/kv/markup").contentType(MediaType.TEXT_PLAIN).bodyValue("<script>alert(1)</script>")
                .retrieve().toBodilessEntity().block(Duration.ofSeconds(5));
        var response = client().get().uri("/kv/markup")
                .header("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
                .retrieve().toEntity(String.class).block(Duration.ofSeconds(5));
        assertThat(response.getHeaders().getContentType()).hasToString("text/plain;charset=UTF-8");
        assertThat(response.getHeaders().getFirst("X-Content-Type-Options")).isEqualTo("nosniff");
        assertThat(response.getBody()).isEqualTo("<script>alert(1)</script>");
    }

    @Test
    void aWriteRedisCannotTakeNowIsA503() {
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1");
        try {
            Answer put = answer(client().put().uri("/kv/no-replicas").contentType(MediaType.TEXT_PLAIN)
                    .bodyValue("v"));
            assertThat(put.status()).isEqualTo(503);
            assertThat(put.body()).contains("NOREPLICAS");
            // In a transaction, EXEC says only EXECABORT; the queued INCR's own refusal says why.
            Answer count = answer(client().post().uri("/counters/no-replicas"));
            assertThat(count.status()).isEqualTo(503);
            assertThat(count.body()).contains("NOREPLICAS");
        }
        finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        assertThat(redis.command("EXISTS", "no-replicas")).isEqualTo("0");
    }

    @Test
    void anEventChannelWithALineBreakIsA400() {
        Answer answer = answer(client().get().uri("/events/{channel}", "forged\nevent: x")
                .accept(MediaType.TEXT_EVENT_STREAM));
        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.body()).contains("channel must not contain a line break");
    }

    private record Answer(int status, String body) {
    }

    private static Answer answer(WebClient.RequestHeadersSpec<?> request) {
        return request.exchangeToMono(response -> response.bodyToMono(String.class).defaultIfEmpty("")
                .map(body -> new Answer(response.statusCode().value(), body))).block(Duration.ofSeconds(5));
    }

    @Test
    void repliesArriveOnTheRequestsOwnLoopForABurstOf2000ConcurrentRequests() {
        redis.command("SET", "burst", "x");
        AffinityRecorder.Report before = affinity.report();
        // All 2,000 in flight at once: one connection each (WebClient's default pool would allow only a few dozen).
        ConnectionProvider connections = ConnectionProvider.builder("burst").maxConnections(2000)
                .pendingAcquireMaxCount(-1).build();
        WebClient burst = WebClient.builder().baseUrl(baseUrl())
                .clientConnector(new ReactorClientHttpConnector(HttpClient.create(connections))).build();
        Long served;
        try {
            served = Flux.range(0, 2000)
                    .flatMap(i -> burst.get().uri("/kv/burst").retrieve().bodyToMono(String.class), 2000)
                    .filter("x"::equals)
                    .count()
                    .block(Duration.ofSeconds(60));
        }
        finally {
            connections.disposeLater().block(Duration.ofSeconds(10));
        }
        assertThat(served).isEqualTo(2000L);
        AffinityRecorder.Report after = affinity.report();
        long requests = after.total().requests() - before.total().requests();
        long sameLoop = after.total().sameLoop() - before.total().sameLoop();
        assertThat(requests).isEqualTo(2000L);
        assertThat((double) sameLoop / requests).isGreaterThanOrEqualTo(0.99);
        assertThat(client().get().uri("/affinity").retrieve().bodyToMono(String.class).block(Duration.ofSeconds(5)))
                .contains("\"total\"").contains("\"ratio\"");
    }

    @Test
    void dashboardIsServedAndPollsBothEndpoints() {
        String page = client().get().uri("/").retrieve().bodyToMono(String.class).block(Duration.ofSeconds(5));
        assertThat(page).contains("/actuator/redispool").contains("/affinity")
                .contains("setTimeout(refresh, POLL_MILLIS)").contains("POLL_MILLIS = 1000");
    }

    @Test
    void actuatorExposesHealthMetricsPrometheusAndRedispool() {
        WebClient client = client();
        assertThat(client.get().uri("/actuator/health").retrieve().bodyToMono(String.class)
                .block(Duration.ofSeconds(5))).contains("\"redisAffinityPool\"").contains("\"mode\":\"integrated\"");
        assertThat(client.get().uri("/actuator/redispool").retrieve().bodyToMono(String.class)
                .block(Duration.ofSeconds(5))).contains("\"workers\"").contains("\"configuration\"");
        assertThat(client.get().uri("/actuator/prometheus").retrieve().bodyToMono(String.class)
                .block(Duration.ofSeconds(5))).contains("redis_pool_max_allocated_connections")
                .contains("redis_pool_connections_created_connections_total{kind=\"shared\"");
        assertThat(client.get().uri("/actuator/metrics/redis.pool.idle").retrieve().bodyToMono(String.class)
                .block(Duration.ofSeconds(5))).contains("\"name\":\"redis.pool.idle\"");
    }
}
