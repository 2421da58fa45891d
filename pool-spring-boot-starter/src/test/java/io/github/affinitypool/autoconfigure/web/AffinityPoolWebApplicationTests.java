package io.github.affinitypool.autoconfigure.web;

import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisServerInstance;
import io.github.affinitypool.testing.RedisTest;
import io.lettuce.core.KeyValue;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;
import reactor.test.StepVerifier;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;
import org.springframework.core.Ordered;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.annotation.DirtiesContext.HierarchyMode;
import org.springframework.test.context.TestContext;
import org.springframework.test.context.TestExecutionListener;
import org.springframework.test.context.TestExecutionListeners;
import org.springframework.test.context.TestExecutionListeners.MergeMode;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * The starter in a WebFlux application on Reactor Netty, end to end: a handler injected with the auto-configured
 * {@code RedisReactiveCommands<String, String>} gets its replies on the event loop that serves its request, and
 * closing the context lets the requests in flight finish before the pool closes.
 */
@RedisTest
@TestExecutionListeners(listeners = AffinityPoolWebApplicationTests.EvictClosedContext.class,
        mergeMode = MergeMode.MERGE_WITH_DEFAULTS)
@SpringBootTest(classes = AffinityPoolWebApplicationTests.TestApplication.class,
        webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = { "affinity-pool.redis.name=web", "server.shutdown=graceful" })
class AffinityPoolWebApplicationTests {

    /** The test's own client loops, so that no client thread can pass for a server loop. */
    private static final LoopResources clientLoops = LoopResources.create("test-client", 1, true);

    @RedisServerInstance
    static RedisServer redis;

    @LocalServerPort
    int port;

    @Autowired
    RedisAffinityPool<String, String> pool;

    @DynamicPropertySource
    static void redisUrl(DynamicPropertyRegistry registry) {
        registry.add("affinity-pool.redis.url", () -> redis.uri());
    }

    @AfterAll
    static void disposeClientLoops() {
        clientLoops.disposeLater().block(Duration.ofSeconds(10));
    }

    @Test
    void aHandlersReplyArrivesOnTheEventLoopThreadThatServesItsRequest() {
        assertThat(pool.loops().isOwned()).as("integrated with the web server's loops").isFalse();
        // A connection each, which the server spreads over its loops.
        List<Map<String, String>> replies = Flux.range(0, 8)
                .flatMap(i -> client().get().uri("/threads/visits:" + i).retrieve()
                        .bodyToMono(new ParameterizedTypeReference<Map<String, String>>() { }))
                .collectList().block(Duration.ofSeconds(10));

        assertThat(replies).hasSize(8).allSatisfy(reply -> {
            // A thread of the web server that is also one of the pool's workers: integrated mode shares the loops.
            assertThat(Integer.parseInt(reply.get("worker"))).isBetween(0, pool.loops().size() - 1);
            assertThat(reply.get("reply")).isEqualTo(reply.get("request"));
            assertThat(reply.get("visits")).isEqualTo("1");
        });
        assertThat(replies.stream().map(reply -> reply.get("request")).distinct().count())
                .as("server loops that served the requests").isGreaterThan(1);
    }

    @Test
    @DirtiesContext
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void closingTheContextLetsTheRequestsInFlightFinishThenClosesThePool(
            @Autowired ConfigurableApplicationContext context) {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        root.addAppender(log);
        try {
            CompletableFuture<List<String>> responses = Flux.range(0, 4)
                    .flatMap(i -> client().get().uri("/next/jobs:" + i)
                            .exchangeToMono(response -> response.bodyToMono(String.class)
                                    .map(body -> response.statusCode().value() + " " + body)))
                    .sort().collectList().toFuture();
            // In flight: each request waits in a BLPOP on a connection of the pool.
            await().atMost(Duration.ofSeconds(10)).until(() -> redis.info("clients").get("blocked_clients"),
                    "4"::equals);

            CompletableFuture<Void> closed = CompletableFuture.runAsync(context::close);
            // The server no longer accepts connections: its graceful shutdown waits for the requests in flight.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThatExceptionOfType(
                    ConnectException.class).isThrownBy(this::connectToTheServer));
            assertThat(closed).as("context closing while requests are in flight").isNotDone();
            for (int i = 0; i < 4; i++) {
                redis.command("RPUSH", "jobs:" + i, "job-" + i);
            }

            assertThat(responses.join()).containsExactly("200 job-0", "200 job-1", "200 job-2", "200 job-3");
            closed.join();
        }
        finally {
            root.detachAppender(log);
        }
        StepVerifier.create(pool.onClose()).expectComplete().verify(Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(5)).until(() -> redis.clientNames("affinity-pool.web"), List::isEmpty);
        assertThat(log.list).as("WARN and ERROR events while closing")
                .filteredOn(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
                .extracting(event -> event.getLoggerName() + ": " + event.getFormattedMessage()).isEmpty();
    }

    private void connectToTheServer() throws IOException {
        new Socket("localhost", port).close();
    }

    private WebClient client() {
        HttpClient http = HttpClient.create(ConnectionProvider.newConnection()).runOn(clientLoops);
        return WebClient.builder().baseUrl("http://localhost:" + port)
                .clientConnector(new ReactorClientHttpConnector(http)).build();
    }

    /**
     * Takes a context that a {@link DirtiesContext} test closed out of the test context cache right after the test.
     * Spring's listeners would otherwise fetch it from the cache first, and the cache restarts a context that is not
     * running, which a closed one cannot do.
     */
    static class EvictClosedContext implements TestExecutionListener, Ordered {

        @Override
        public void afterTestExecution(TestContext testContext) {
            if (testContext.getTestMethod().isAnnotationPresent(DirtiesContext.class)) {
                testContext.markApplicationContextDirty(HierarchyMode.EXHAUSTIVE);
            }
        }

        @Override
        public int getOrder() {
            // "after" callbacks run in reverse order: the lowest precedence runs first.
            return Ordered.LOWEST_PRECEDENCE;
        }
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @Import(RedisController.class)
    static class TestApplication {
    }

    @RestController
    static class RedisController {

        private final RedisReactiveCommands<String, String> redis;

        private final RedisAffinityPool<String, String> pool;

        RedisController(RedisReactiveCommands<String, String> redis, RedisAffinityPool<String, String> pool) {
            this.redis = redis;
            this.pool = pool;
        }

        /**
         * The thread that handles the request and the pool worker it is (-1 for none), the thread that gets Redis's
         * reply, and the reply.
         */
        @GetMapping("/threads/{key}")
        Mono<Map<String, String>> threads(@PathVariable String key) {
            String request = Thread.currentThread().getName();
            int worker = pool.loops().currentWorker();
            return redis.incr(key).map(visits -> Map.of("request", request, "worker", Integer.toString(worker),
                    "reply", Thread.currentThread().getName(), "visits", visits.toString()));
        }

        /** Waits for an element of the list (blocking commands run on a lease of the pool). */
        @GetMapping("/next/{key}")
        Mono<String> next(@PathVariable String key) {
            return redis.blpop(30, key).map(KeyValue::getValue);
        }
    }
}
