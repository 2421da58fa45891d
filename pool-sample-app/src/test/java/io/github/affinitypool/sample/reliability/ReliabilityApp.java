package io.github.affinitypool.sample.reliability;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.sample.SampleApplication;
import io.github.affinitypool.testing.RedisServer;
import io.netty.channel.ChannelId;
import io.netty.channel.ChannelOption;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.TypeExcludeFilter;
import org.springframework.boot.test.context.TestComponent;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.type.classreading.MetadataReader;
import org.springframework.core.type.classreading.MetadataReaderFactory;

/**
 * The sample application ({@link SampleApplication}, the real WebFlux stack with the auto-configured pool) plus the
 * {@link ReliabilityRoutes} test endpoints, started on a random port against a given redis-server, with an HTTP client
 * on loops of its own (not the server's, so that client and server do not share threads, and a context close cannot
 * take the client down with it).
 * <p>
 * Started with {@link SpringApplicationBuilder} rather than {@code @SpringBootTest} because several scenarios need a
 * context per test with different settings, and one (shutdown) closes the context itself.
 */
final class ReliabilityApp implements AutoCloseable {

    /** The pool name of every reliability app: connections are named {@code affinity-pool.rel.*}. */
    static final String POOL_NAME = "rel";

    /** {@code CLIENT LIST} name prefix of every connection of the app's pool. */
    static final String CLIENT_PREFIX = "affinity-pool." + POOL_NAME + ".";

    final ConfigurableApplicationContext context;

    final RedisAffinityPool<String, String> pool;

    final int port;

    final HttpClient http;

    /** A client without a connection pool: every request on a connection of its own, closed after it. */
    private final HttpClient unpooled;

    /** Requests written so far on each client connection, to tell a lost response on a reused connection. */
    private final Map<ChannelId, AtomicInteger> requestsByConnection = new ConcurrentHashMap<>();

    private final LoopResources clientLoops;

    private final ConnectionProvider connections;

    private ReliabilityApp(ConfigurableApplicationContext context) {
        this.context = context;
        @SuppressWarnings("unchecked")
        RedisAffinityPool<String, String> bean = context.getBean(RedisAffinityPool.class);
        this.pool = bean;
        this.port = ((WebServerApplicationContext) context).getWebServer().getPort();
        this.clientLoops = LoopResources.create("reliability-client", 2, true);
        this.connections = ConnectionProvider.builder("reliability-client").maxConnections(1024)
                .pendingAcquireMaxCount(-1).pendingAcquireTimeout(Duration.ofSeconds(30)).build();
        this.http = client(connections);
        // A cancelled exchange resets its connection: the server learns of it at once. A plain close (FIN) is seen only
        // when the server next reads, and Reactor Netty reads no more while a request is being handled.
        this.unpooled = client(ConnectionProvider.newConnection()).option(ChannelOption.SO_LINGER, 0);
    }

    private HttpClient client(ConnectionProvider provider) {
        return HttpClient.create(provider).runOn(clientLoops).baseUrl("http://127.0.0.1:" + port)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 2000)
                .doOnRequest((request, connection) -> requestsByConnection
                        .computeIfAbsent(connection.channel().id(), id -> new AtomicInteger()).incrementAndGet());
    }

    /**
     * @param redis the server to use
     * @param properties extra {@code key=value} properties, overriding the defaults and the sample's application.yml
     * @return the running app
     */
    static ReliabilityApp start(RedisServer redis, String... properties) {
        return start(redis.uri(), properties);
    }

    /**
     * @param url the Redis URL
     * @param properties extra {@code key=value} properties, overriding the defaults and the sample's application.yml
     * @return the running app
     */
    static ReliabilityApp start(String url, String... properties) {
        return new ReliabilityApp(launch(url, properties).run());
    }

    /**
     * @param url the Redis URL ({@code affinity-pool.redis.url}), {@code null} for none
     * @param properties extra {@code key=value} properties, overriding the defaults and the sample's application.yml
     * @return the app, ready to run
     */
    static Launch launch(String url, String... properties) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("server.port", "0");
        settings.put("spring.main.banner-mode", "off");
        settings.put("affinity-pool.redis.name", POOL_NAME);
        if (url != null) {
            settings.put("affinity-pool.redis.url", url);
        }
        // Never start the sample's embedded Redis: every scenario brings its own server.
        settings.put("sample.embedded-redis.enabled", "false");
        for (String property : properties) {
            int equals = property.indexOf('=');
            settings.put(property.substring(0, equals), property.substring(equals + 1));
        }
        List<String> args = new ArrayList<>();
        // As command-line arguments, so that they win over the sample's application.yml.
        settings.forEach((key, value) -> args.add("--" + key + "=" + value));
        SpringApplicationBuilder builder = new SpringApplicationBuilder(SampleApplication.class,
                ReliabilityRoutes.class)
                // The sample's component scan covers io.github.affinitypool.sample.**, test classes included: keep
                // other tests' @TestConfiguration classes out, as @SpringBootTest's own filter would.
                .initializers(context -> context.getBeanFactory().registerSingleton(
                        TestComponentExcludeFilter.class.getName(), new TestComponentExcludeFilter()));
        return new Launch(builder, args.toArray(String[]::new));
    }

    /**
     * An app ready to run.
     *
     * @param builder the application
     * @param args its command-line arguments (the settings)
     */
    record Launch(SpringApplicationBuilder builder, String[] args) {

        ConfigurableApplicationContext run() {
            return builder.run(args);
        }

        /** @return the start-up failure of an app that is expected not to start */
        Throwable failure() {
            try (ConfigurableApplicationContext unexpected = run()) {
                throw new AssertionError("the application started: " + unexpected);
            }
            catch (RuntimeException failure) {
                return failure;
            }
        }
    }

    /** @return a GET of {@code path}: status and body (never fails for a 4xx/5xx; fails on a connection error) */
    Mono<Reply> get(String path) {
        return http.get().uri(path).responseSingle((response, body) -> body.asString().defaultIfEmpty("")
                .map(text -> new Reply(response.status().code(), text)));
    }

    /**
     * A GET of {@code path} that fails when it has not ended within {@code timeout}, saying how far the exchange
     * got, as the client saw it: still waiting for a client connection, request written, or response headers received
     * with the body incomplete. A lost response then fails its test with that diagnosis instead of hanging it.
     *
     * @param path the path
     * @param timeout how long the exchange may take
     * @return status and body (never fails for a 4xx/5xx); a {@link TimeoutException} naming the exchange's progress
     */
    Mono<Reply> get(String path, Duration timeout) {
        return Mono.defer(() -> {
            AtomicReference<String> progress = new AtomicReference<>("no client connection yet");
            HttpClient traced = http
                    .doOnRequest((request, connection) -> progress.set("writing the request on " + connection))
                    .doAfterRequest((request, connection) -> progress.set("request written on " + connection
                            + " (request " + requestsByConnection.get(connection.channel().id())
                            + " on that connection), no response headers"))
                    .doOnResponse((response, connection) -> progress.set("response " + response.status().code()
                            + " on " + connection + ", body not complete"));
            return traced.get().uri(path).responseSingle((response, body) -> body.asString().defaultIfEmpty("")
                            .map(text -> new Reply(response.status().code(), text)))
                    .timeout(timeout, Mono.error(() -> new TimeoutException(
                            "GET " + path + " did not end within " + timeout + ": " + progress.get())));
        });
    }

    /**
     * @return a GET of {@code path} on a connection of its own, opened for it outside the client's connection pool
     *         and closed after it ({@code Connection: close}): for requests the client cancels, so that a cancelled
     *         exchange can never leave a connection behind for another request
     */
    Mono<Reply> getOnOwnConnection(String path) {
        return unpooled.headers(headers -> headers.set("Connection", "close")).get().uri(path)
                .responseSingle((response, body) -> body.asString().defaultIfEmpty("")
                        .map(text -> new Reply(response.status().code(), text)));
    }

    @Override
    public void close() {
        try {
            if (context.isActive()) {
                context.close();
            }
        }
        finally {
            connections.disposeLater().block(Duration.ofSeconds(10));
            clientLoops.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block(Duration.ofSeconds(10));
        }
    }

    /** An HTTP reply. */
    record Reply(int status, String body) {
    }

    /**
     * Keeps {@code @TestComponent}s ({@code @TestConfiguration}s) out of component scanning, as {@code @SpringBootTest}
     * does.
     */
    static final class TestComponentExcludeFilter extends TypeExcludeFilter {

        @Override
        public boolean match(MetadataReader reader, MetadataReaderFactory factory) throws IOException {
            return reader.getAnnotationMetadata().isAnnotated(TestComponent.class.getName())
                    && !reader.getClassMetadata().getClassName().equals(ReliabilityRoutes.class.getName());
        }

        @Override
        public boolean equals(Object other) {
            return other != null && other.getClass() == getClass();
        }

        @Override
        public int hashCode() {
            return getClass().hashCode();
        }
    }
}
