package io.github.affinitypool.autoconfigure;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.github.affinitypool.autoconfigure.AffinityPoolProperties.Mode;
import io.github.affinitypool.autoconfigure.metrics.AffinityPoolMetricsBinder;
import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.IdleOrder;
import io.github.affinitypool.core.PoolClosedException;
import io.github.affinitypool.redis.PubSubMessage;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.testing.RawRedisConnection;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisServerInstance;
import io.github.affinitypool.testing.RedisTest;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.test.StepVerifier;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.data.redis.autoconfigure.LettuceClientOptionsBuilderCustomizer;
import org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import org.springframework.boot.reactor.netty.autoconfigure.NettyReactiveWebServerAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.mock.env.MockEnvironment;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.boot.web.server.reactive.context.AnnotationConfigReactiveWebServerApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.core.annotation.Order;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.http.client.ReactorResourceFactory;
import org.springframework.http.server.reactive.HttpHandler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@RedisTest
class AffinityPoolAutoConfigurationTests {

    @RedisServerInstance
    RedisServer redis;

    private ApplicationContextRunner runner() {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.url=" + redis.uri(), "affinity-pool.redis.workers=2");
    }

    @Test
    void defaultsGiveAStandalonePoolAndTheRoutedCommands() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.url=" + redis.uri())
                .run(context -> {
                    int processors = Runtime.getRuntime().availableProcessors();
                    AffinityPoolSettings settings = context.getBean(AffinityPoolSettings.class);
                    assertThat(settings.mode()).isEqualTo(Mode.STANDALONE);
                    assertThat(settings.workers()).isEqualTo(processors);
                    RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
                    assertThat(pool.name()).isEqualTo("default");
                    assertThat(pool.loops().size()).isEqualTo(processors);
                    assertThat(pool.loops().isOwned()).isTrue();
                    assertThat(pool.sharedConnections()).isEqualTo(processors);
                    assertThat(pool.commandTimeout()).isEqualTo(Duration.ofSeconds(5));
                    assertThat(pool.clientOptions().getSocketOptions().getConnectTimeout())
                            .isEqualTo(Duration.ofSeconds(10));
                    AffinityPoolConfig config = pool.poolConfig();
                    assertThat(config.maxOpen()).isEqualTo(processors * 4);
                    assertThat(config.maxIdlePerWorker()).isEqualTo(2);
                    assertThat(config.minIdlePerWorker()).isZero();
                    assertThat(config.maxLifetime()).isEqualTo(Duration.ofMinutes(30));
                    assertThat(config.maxIdleTime()).isEqualTo(Duration.ofMinutes(5));
                    assertThat(config.acquireTimeout()).isEqualTo(Duration.ofSeconds(2));
                    assertThat(config.maxPendingAcquires()).isEqualTo(1000);
                    assertThat(config.validateAfterIdle()).isEqualTo(Duration.ofSeconds(30));
                    assertThat(config.evictionInterval()).isEqualTo(Duration.ofSeconds(30));
                    assertThat(config.idleOrder()).isEqualTo(IdleOrder.LIFO);
                    assertThat(config.maxConcurrentConnects()).isEqualTo(processors);
                    assertThat(config.leakDetectionThreshold()).isEqualTo(Duration.ZERO);
                    assertThat(pool.pubSubStats().maxOpen()).isEqualTo(processors);
                    assertThat(pool.pubSubStats().bufferSize()).isEqualTo(1024);
                    @SuppressWarnings("unchecked")
                    RedisReactiveCommands<String, String> commands = context.getBean(RedisReactiveCommands.class);
                    assertThat(commands.set("auto:k", "v").then(commands.get("auto:k")).block(Duration.ofSeconds(5)))
                            .isEqualTo("v");
                });
    }

    @Test
    void everyPropertyIsBound() {
        runner().withPropertyValues("affinity-pool.redis.name=orders", "affinity-pool.redis.workers=3",
                "affinity-pool.redis.shared-connections-per-worker=2", "affinity-pool.redis.command-timeout=3s",
                "affinity-pool.redis.connect-timeout=1500ms",
                "affinity-pool.redis.pool.max-open=9", "affinity-pool.redis.pool.max-idle-per-worker=3",
                "affinity-pool.redis.pool.min-idle-per-worker=1", "affinity-pool.redis.pool.max-lifetime=10m",
                "affinity-pool.redis.pool.max-idle-time=1m", "affinity-pool.redis.pool.acquire-timeout=750ms",
                "affinity-pool.redis.pool.max-pending-acquires=5", "affinity-pool.redis.pool.validate-after-idle=0s",
                "affinity-pool.redis.pool.eviction-interval=10s", "affinity-pool.redis.pool.idle-order=fifo",
                "affinity-pool.redis.pool.max-concurrent-connects=2",
                "affinity-pool.redis.pool.leak-detection-threshold=20s", "affinity-pool.redis.pub-sub.max-open=2",
                "affinity-pool.redis.pub-sub.buffer-size=16").run(context -> {
                    RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
                    assertThat(pool.name()).isEqualTo("orders");
                    assertThat(pool.loops().size()).isEqualTo(3);
                    assertThat(pool.sharedConnections()).isEqualTo(3 * 2);
                    assertThat(pool.commandTimeout()).isEqualTo(Duration.ofSeconds(3));
                    assertThat(pool.clientOptions().getSocketOptions().getConnectTimeout())
                            .isEqualTo(Duration.ofMillis(1500));
                    AffinityPoolConfig config = pool.poolConfig();
                    assertThat(config.maxOpen()).isEqualTo(9);
                    assertThat(config.maxIdlePerWorker()).isEqualTo(3);
                    assertThat(config.minIdlePerWorker()).isEqualTo(1);
                    assertThat(config.maxLifetime()).isEqualTo(Duration.ofMinutes(10));
                    assertThat(config.maxIdleTime()).isEqualTo(Duration.ofMinutes(1));
                    assertThat(config.acquireTimeout()).isEqualTo(Duration.ofMillis(750));
                    assertThat(config.maxPendingAcquires()).isEqualTo(5);
                    assertThat(config.validateAfterIdle()).isEqualTo(Duration.ZERO);
                    assertThat(config.evictionInterval()).isEqualTo(Duration.ofSeconds(10));
                    assertThat(config.idleOrder()).isEqualTo(IdleOrder.FIFO);
                    assertThat(config.maxConcurrentConnects()).isEqualTo(2);
                    assertThat(config.leakDetectionThreshold()).isEqualTo(Duration.ofSeconds(20));
                    assertThat(pool.pubSubStats().maxOpen()).isEqualTo(2);
                    assertThat(pool.pubSubStats().bufferSize()).isEqualTo(16);
                });
    }

    @Test
    void zeroLifetimeAndIdleTimeMeanNoLimitAsInThePool() {
        runner().withPropertyValues("affinity-pool.redis.pool.max-lifetime=0",
                "affinity-pool.redis.pool.max-idle-time=0s").run(context -> {
                    AffinityPoolConfig config = context.getBean(RedisAffinityPool.class).poolConfig();
                    assertThat(config.maxLifetime()).isEqualTo(Duration.ZERO);
                    assertThat(config.maxIdleTime()).isEqualTo(Duration.ZERO);
                });
    }

    @Test
    void whenShutdownBeginsTheSubscriptionsEndBeforeGracefulShutdownWhileCommandsKeepWorking() {
        runner().run(context -> {
            @SuppressWarnings("unchecked")
            RedisAffinityPool<String, String> pool = context.getBean(RedisAffinityPool.class);
            AffinityPoolSubscriptionsLifecycle subscriptions =
                    context.getBean(AffinityPoolSubscriptionsLifecycle.class);
            // Stopped before graceful shutdown waits for the requests in flight, and so before the pools close.
            assertThat(subscriptions.getPhase())
                    .isEqualTo(WebServerApplicationContext.GRACEFUL_SHUTDOWN_PHASE + 1);
            assertThat(subscriptions.isRunning()).isTrue();
            Flux<PubSubMessage<String, String>> feed = pool.subscribeLater("feed").block(Duration.ofSeconds(5));
            CountDownLatch stopped = new CountDownLatch(1);

            StepVerifier.create(feed).then(() -> subscriptions.stop(stopped::countDown)).verifyComplete();

            assertThat(stopped.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(subscriptions.isRunning()).isFalse();
            assertThat(pool.pubSubStats().open()).isZero();
            assertThat(pool.commands().ping().block(Duration.ofSeconds(5))).isEqualTo("PONG");
        });
    }

    @Test
    void backsOffWhenTheUserDefinesThePool() {
        runner().withBean("userPool", RedisAffinityPool.class,
                () -> RedisAffinityPool.builder(redis.uri()).name("mine").workers(1).build()).run(context -> {
            assertThat(context).hasSingleBean(RedisAffinityPool.class);
            assertThat(context.getBean(RedisAffinityPool.class).name()).isEqualTo("mine");
            assertThat(context).hasSingleBean(RedisReactiveCommands.class);
        });
    }

    @Test
    void aPoolOfTheApplicationsOwnWithAnotherCodecGetsNoStringCommandsAndIsClosedWithTheContext() {
        AtomicReference<RedisAffinityPool<?, ?>> pool = new AtomicReference<>();
        runner().withUserConfiguration(BinaryPoolConfiguration.class).run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(RedisAffinityPool.class)
                    .doesNotHaveBean(RedisReactiveCommands.class).doesNotHaveBean(AffinityPoolSettings.class)
                    .hasSingleBean(AffinityPoolLifecycle.class);
            pool.set(context.getBean(RedisAffinityPool.class));
            assertThat(pool.get().name()).isEqualTo("binary");
        });
        StepVerifier.create(pool.get().acquire()).expectError(PoolClosedException.class).verify(Duration.ofSeconds(5));
    }

    @Test
    void theCommandsComeFromThePrimaryStringPoolAndEveryPoolIsClosedWithTheContext() {
        AtomicReference<Map<String, RedisAffinityPool>> pools = new AtomicReference<>();
        runner().withUserConfiguration(BinaryPoolConfiguration.class, PrimaryStringPoolConfiguration.class)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    pools.set(context.getBeansOfType(RedisAffinityPool.class));
                    assertThat(pools.get()).containsOnlyKeys("binaryPool", "primaryPool");
                    @SuppressWarnings("unchecked")
                    RedisReactiveCommands<String, String> commands = context.getBean(RedisReactiveCommands.class);
                    assertThat(commands.clientGetname().block(Duration.ofSeconds(5)))
                            .isEqualTo("affinity-pool.primary.shared.w0");
                });
        for (RedisAffinityPool<?, ?> pool : pools.get().values()) {
            StepVerifier.create(pool.acquire()).expectError(PoolClosedException.class).verify(Duration.ofSeconds(5));
        }
    }

    @Test
    void customizersRunInOrderOnTheBuilderConfiguredFromTheProperties() {
        runner().withPropertyValues("affinity-pool.redis.command-timeout=3s")
                .withUserConfiguration(CustomizerConfiguration.class).run(context -> {
                    RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
                    assertThat(pool.sharedConnections()).isEqualTo(2 * 3);
                    assertThat(pool.commandTimeout()).isEqualTo(Duration.ofSeconds(3));
                    assertThat(pool.loops().size()).isEqualTo(2);
                });
    }

    @Test
    void aCustomizerThatChangesTheCodecStopsStartUpInsteadOfOfferingAStringPoolOfOtherTypes() {
        runner().withBean(BinaryCodecCustomizer.class).run(context -> assertThat(context).getFailure().rootCause()
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("RedisAffinityPoolCustomizer " + BinaryCodecCustomizer.class.getName() + " changed the "
                        + "codec of the auto-configured Redis affinity pool, which is offered as "
                        + "RedisAffinityPool<String, String> and RedisReactiveCommands<String, String>; to use "
                        + "another codec, define a RedisAffinityPool bean of your own instead (the auto-configuration "
                        + "then backs off; build it with AffinityPoolMetricsBinder to keep the meters)"));
        // Setting the codec the builder already has changes nothing.
        RedisAffinityPoolCustomizer sameCodec = builder -> builder.codec(builder.codec());
        runner().withBean(RedisAffinityPoolCustomizer.class, () -> sameCodec).run(context -> {
            assertThat(context).hasNotFailed();
            @SuppressWarnings("unchecked")
            RedisReactiveCommands<String, String> commands = context.getBean(RedisReactiveCommands.class);
            assertThat(commands.echo("still strings").block(Duration.ofSeconds(5))).isEqualTo("still strings");
        });
    }

    @Test
    void aNameGivenByACustomizerIsTheNameOfThePoolAndOfItsMeters() {
        RedisAffinityPoolCustomizer rename = builder -> builder.name("renamed");
        runner().withBean(SimpleMeterRegistry.class).withBean(RedisAffinityPoolCustomizer.class, () -> rename)
                .run(context -> {
                    assertThat(context.getBean(RedisAffinityPool.class).name()).isEqualTo("renamed");
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    assertThat(registry.getMeters()).extracting(meter -> meter.getId().getTag("name"))
                            .isNotEmpty().containsOnly("renamed");
                });
    }

    @Test
    void springBootsLettuceClientOptionsCustomizersReachTheConnections() {
        LettuceClientOptionsBuilderCustomizer resp2 = options -> options.protocolVersion(ProtocolVersion.RESP2)
                .autoReconnect(true)
                .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(20)).build());
        runner().withBean(LettuceClientOptionsBuilderCustomizer.class, () -> resp2).run(context -> {
            RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
            assertThat(pool.clientOptions().getConfiguredProtocolVersion()).isEqualTo(ProtocolVersion.RESP2);
            assertThat(pool.clientOptions().getSocketOptions().getConnectTimeout()).isEqualTo(Duration.ofSeconds(20));
            // What the pool relies on stays: it replaces broken connections itself.
            assertThat(pool.clientOptions().isAutoReconnect()).isFalse();
            if (reportsProtocolInClientInfo()) {
                assertThat(clientInfo(context)).containsPattern(" resp=2\\s");
            }
        });
        runner().withPropertyValues("affinity-pool.redis.connect-timeout=1500ms")
                .withBean(LettuceClientOptionsBuilderCustomizer.class, () -> resp2).run(context -> {
                    RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
                    assertThat(pool.clientOptions().getSocketOptions().getConnectTimeout())
                            .isEqualTo(Duration.ofMillis(1500));
                });
        if (reportsProtocolInClientInfo()) {
            runner().run(context -> assertThat(clientInfo(context)).containsPattern(" resp=3\\s"));
        }
    }

    /** @return whether CLIENT INFO names the connection's protocol ({@code resp=}): Redis 7.0 and later */
    private boolean reportsProtocolInClientInfo() {
        return redis.isVersionAtLeast("7.0");
    }

    @SuppressWarnings("unchecked")
    private static String clientInfo(org.springframework.context.ApplicationContext context) {
        return context.getBean(RedisReactiveCommands.class).clientInfo().block(Duration.ofSeconds(5)).toString();
    }

    @Test
    void theApplicationsOwnCommandsBeanWins() {
        RedisClient client = RedisClient.create(RedisURI.create(redis.uri()));
        try {
            RedisReactiveCommands<String, String> own = client.connect().reactive();
            runner().withBean("ownCommands", RedisReactiveCommands.class, () -> own).run(context -> {
                assertThat(context).hasSingleBean(RedisReactiveCommands.class).hasSingleBean(RedisAffinityPool.class);
                assertThat(context.getBean(RedisReactiveCommands.class)).isSameAs(own);
            });
        }
        finally {
            client.shutdown();
        }
    }

    @Test
    void startsWithoutMicrometer() {
        runner().withClassLoader(new FilteredClassLoader(MeterRegistry.class)).run(context -> {
            assertThat(context).hasNotFailed().doesNotHaveBean(AffinityPoolMetricsBinder.class);
            @SuppressWarnings("unchecked")
            RedisReactiveCommands<String, String> commands = context.getBean(RedisReactiveCommands.class);
            assertThat(commands.ping().block(Duration.ofSeconds(5))).isEqualTo("PONG");
        });
    }

    @Test
    void disabledByProperty() {
        runner().withPropertyValues("affinity-pool.redis.enabled=false").run(context -> {
            assertThat(context).doesNotHaveBean(RedisAffinityPool.class);
            assertThat(context).doesNotHaveBean(RedisReactiveCommands.class);
        });
    }

    @Test
    void autoModeIsIntegratedWithAReactorNettyServer() {
        withAServer()
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    AffinityPoolSettings settings = context.getBean(AffinityPoolSettings.class);
                    assertThat(settings.mode()).isEqualTo(Mode.INTEGRATED);
                    RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
                    assertThat(pool.loops().isOwned()).isFalse();
                    ReactorResourceFactory resources = context.getBean(ReactorResourceFactory.class);
                    assertThat(pool.loops().group())
                            .isSameAs(resources.getLoopResources().onServer(pool.loops().preferNative()));
                });
    }

    /**
     * A Reactor Netty web server started on a free port, as {@code @SpringBootTest(webEnvironment = RANDOM_PORT)}
     * starts one, with the pool auto-configured beside it.
     */
    private ReactiveWebApplicationContextRunner withAServer() {
        return new ReactiveWebApplicationContextRunner(AnnotationConfigReactiveWebServerApplicationContext::new)
                .withConfiguration(AutoConfigurations.of(NettyReactiveWebServerAutoConfiguration.class,
                        AffinityPoolAutoConfiguration.class))
                .withBean(HttpHandler.class, () -> (request, response) -> response.setComplete())
                .withPropertyValues("affinity-pool.redis.url=" + redis.uri(), "server.port=0");
    }

    @Test
    void aMockWebEnvironmentRunsNoServerSoAutoModeIsStandaloneAndIntegratedStopsStartUp() {
        // @SpringBootTest's default: a reactive context with the server factory defined, and no server started.
        ReactiveWebApplicationContextRunner mock = new ReactiveWebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(NettyReactiveWebServerAutoConfiguration.class,
                        AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.url=" + redis.uri(), "affinity-pool.redis.workers=2");
        mock.run(context -> {
            assertThat(context).hasSingleBean(NettyReactiveWebServerFactory.class);
            assertThat(context.getBean(AffinityPoolSettings.class).mode()).isEqualTo(Mode.STANDALONE);
            assertThat(context.getBean(RedisAffinityPool.class).loops().isOwned()).isTrue();
        });
        mock.withPropertyValues("affinity-pool.redis.mode=integrated").run(context -> assertThat(context).getFailure()
                .rootCause()
                .isInstanceOf(InvalidAffinityPoolPropertyException.class)
                .hasMessageContaining("runs no Reactor Netty web server"));
    }

    @Test
    void theWebServersConnectionsAreTrackedSoThatThoseItsStopLeavesOpenAreClosedBeforeThePool() throws Exception {
        assertTheServersConnectionsAreTracked(withAServer());
    }

    @Test
    void theConnectionsOfAnApplicationsOwnServerFactoryAreTrackedToo() throws Exception {
        // Spring Boot applies NettyServerCustomizer beans only to the factory it defines itself.
        assertTheServersConnectionsAreTracked(withAServer().withBean(NettyReactiveWebServerFactory.class,
                NettyReactiveWebServerFactory::new));
    }

    private void assertTheServersConnectionsAreTracked(ReactiveWebApplicationContextRunner runner) {
        runner
                .run(context -> {
                    // The factory's customizers, Spring Boot's and the pool's, applied as the factory applies them.
                    HttpServer customized = HttpServer.create().host("127.0.0.1").port(0);
                    for (NettyServerCustomizer customizer : context.getBean(NettyReactiveWebServerFactory.class)
                            .getServerCustomizers()) {
                        customized = customizer.apply(customized);
                    }
                    DisposableServer server = customized
                            .handle((request, response) -> response.sendString(Mono.just("ok"))).bindNow();
                    try (Socket client = new Socket("127.0.0.1", server.port())) {
                        client.setSoTimeout(10_000);
                        client.getOutputStream().write(("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                        BufferedReader reader = new BufferedReader(
                                new InputStreamReader(client.getInputStream(), StandardCharsets.US_ASCII));
                        assertThat(reader.readLine()).isEqualTo("HTTP/1.1 200 OK");
                        while (!reader.readLine().isEmpty()) {
                            // the headers of the answer; the connection is kept alive after it
                        }
                        assertThat((char) reader.read()).isEqualTo('o');
                        assertThat((char) reader.read()).isEqualTo('k');

                        context.getBean(ServerConnections.class).closeRemaining().block(Duration.ofSeconds(5));

                        assertThat(reader.read()).as("end of the kept-alive connection").isEqualTo(-1);
                    }
                    finally {
                        server.disposeNow();
                    }
                });
    }

    @Test
    void autoModeIsStandaloneInAReactiveAppWithoutAServer() {
        new ReactiveWebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.url=" + redis.uri(), "affinity-pool.redis.workers=2")
                .run(context -> assertThat(context.getBean(AffinityPoolSettings.class).mode())
                        .isEqualTo(Mode.STANDALONE));
    }

    @Test
    void connectionDetailsAreUsedWhenNoUrlIsSet() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.workers=2")
                .withBean(DataRedisConnectionDetails.class, () -> new DataRedisConnectionDetails() {
                    @Override
                    public Standalone getStandalone() {
                        return Standalone.of(redis.host(), redis.port(), 2);
                    }
                })
                .run(context -> {
                    AffinityPoolSettings settings = context.getBean(AffinityPoolSettings.class);
                    assertThat(settings.source()).isEqualTo("spring.data.redis");
                    assertThat(settings.redisUri().getPort()).isEqualTo(redis.port());
                    assertThat(settings.redisUri().getDatabase()).isEqualTo(2);
                    // No password: none is shown masked either.
                    assertThat(settings.maskedUrl()).isEqualTo("redis://" + redis.host() + ":" + redis.port() + "/2");
                    @SuppressWarnings("unchecked")
                    RedisReactiveCommands<String, String> commands = context.getBean(RedisReactiveCommands.class);
                    commands.set("details:k", "in-db-2").block(Duration.ofSeconds(5));
                    try (RawRedisConnection raw = redis.connect()) {
                        assertThat(raw.command("GET", "details:k")).isNull();
                        assertThat(raw.command("SELECT", "2")).isEqualTo("OK");
                        assertThat(raw.command("GET", "details:k")).isEqualTo("in-db-2");
                    }
                });
    }

    @Test
    void springDataRedisPropertiesThatNothingReadsStopStartUpInsteadOfConnectingToLocalhost() {
        ApplicationContextRunner withoutDataRedis = new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AffinityPoolAutoConfiguration.class))
                .withClassLoader(new FilteredClassLoader(DataRedisConnectionDetails.class))
                .withPropertyValues("affinity-pool.redis.workers=1");
        withoutDataRedis.withPropertyValues("spring.data.redis.host=cache.internal", "spring.data.redis.password=pw-42")
                .run(context -> assertThat(context).getFailure().rootCause()
                        .isInstanceOfSatisfying(InvalidAffinityPoolPropertyException.class, ex -> {
                            assertThat(ex.getProperty()).isEqualTo("spring.data.redis.host");
                            assertThat(ex.getValue()).isEqualTo("cache.internal");
                            assertThat(ex.getReason()).endsWith("so the pool would connect to redis://localhost:6379 "
                                    + "instead");
                            assertThat(ex.getAction()).startsWith("Set affinity-pool.redis.url, or add ");
                        }));
        withoutDataRedis.withPropertyValues("spring.data.redis.password=pw-42").run(context -> assertThat(context)
                .getFailure().rootCause().isInstanceOfSatisfying(InvalidAffinityPoolPropertyException.class, ex -> {
                    assertThat(ex.getProperty()).isEqualTo("spring.data.redis.password");
                    assertThat(ex.getValue()).isEqualTo("******");
                    assertThat(ex).hasMessageNotContaining("pw-42");
                }));
        // TLS asked of a Redis that nothing connects to with it: the pool would speak cleartext to localhost.
        withoutDataRedis.withPropertyValues("spring.data.redis.ssl.enabled=true").run(context -> assertThat(context)
                .getFailure().rootCause().isInstanceOfSatisfying(InvalidAffinityPoolPropertyException.class,
                        ex -> assertThat(ex.getProperty()).isEqualTo("spring.data.redis.ssl.enabled")));
        // Turned off, it asks for what the pool does anyway (checked without a pool, which would connect to 6379).
        assertThatCode(() -> UnreadDataRedisProperties.reject(new MockEnvironment()
                .withProperty("spring.data.redis.ssl.enabled", "false"))).doesNotThrowAnyException();
        // The pool's own URL wins over them, and with Spring Data Redis's auto-configuration they are read.
        withoutDataRedis.withPropertyValues("spring.data.redis.host=cache.internal",
                "affinity-pool.redis.url=" + redis.uri()).run(context -> assertThat(context).hasNotFailed());
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class,
                        AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.workers=1", "spring.data.redis.port=" + redis.port())
                .run(context -> assertThat(context.getBean(AffinityPoolSettings.class).redisUri().getPort())
                        .isEqualTo(redis.port()));
    }

    @Test
    void springDataRedisTurnsTlsOnForARedissUrlOrSslEnabledAsItDoesForSpringDataRedis() {
        ApplicationContextRunner dataRedis = new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class,
                        AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.workers=1");
        dataRedis.withPropertyValues("spring.data.redis.url=rediss://" + redis.host() + ":" + redis.port())
                .run(context -> {
                    assertThat(context.getBean(AffinityPoolSettings.class).redisUri().isSsl()).isTrue();
                    // This server speaks no TLS: the handshake fails, no command goes out in cleartext.
                    @SuppressWarnings("unchecked")
                    RedisReactiveCommands<String, String> commands = context.getBean(RedisReactiveCommands.class);
                    StepVerifier.create(commands.ping()).expectError().verify(Duration.ofSeconds(10));
                });
        dataRedis.withPropertyValues("spring.data.redis.port=" + redis.port(), "spring.data.redis.ssl.enabled=true")
                .run(context -> assertTlsAsForSpringDataRedis(context, true));
        dataRedis.withPropertyValues("spring.data.redis.port=" + redis.port())
                .run(context -> assertTlsAsForSpringDataRedis(context, false));
        // With other connection details (@ServiceConnection, Docker Compose), ssl.enabled gives no bundle, and Spring
        // Data Redis connects in cleartext: so does the pool.
        dataRedis.withPropertyValues("spring.data.redis.ssl.enabled=true")
                .withBean(DataRedisConnectionDetails.class, () -> new DataRedisConnectionDetails() {
                    @Override
                    public Standalone getStandalone() {
                        return Standalone.of(redis.host(), redis.port());
                    }
                })
                .run(context -> assertTlsAsForSpringDataRedis(context, false));
    }

    private static void assertTlsAsForSpringDataRedis(AssertableApplicationContext context, boolean tls) {
        assertThat(context.getBean(LettuceConnectionFactory.class).getClientConfiguration().isUseSsl()).isEqualTo(tls);
        assertThat(context.getBean(AffinityPoolSettings.class).redisUri().isSsl()).isEqualTo(tls);
    }

    @Test
    void springDataRedisSentinelOrClusterStopsStartUpInsteadOfConnectingToHostAndPort() {
        ApplicationContextRunner dataRedis = new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class,
                        AffinityPoolAutoConfiguration.class))
                .withPropertyValues("affinity-pool.redis.workers=1", "spring.data.redis.host=" + redis.host(),
                        "spring.data.redis.port=" + redis.port());
        for (String[] topology : new String[][] {
                { "spring.data.redis.sentinel.master=mymaster", "spring.data.redis.sentinel.nodes=127.0.0.1:1" },
                { "spring.data.redis.cluster.nodes=127.0.0.1:1" } }) {
            dataRedis.withPropertyValues(topology).run(context -> assertThat(context).getFailure()
                    .rootCause()
                    .isInstanceOf(InvalidAffinityPoolPropertyException.class)
                    .hasMessageContaining("spring.data.redis describes a Sentinel, Cluster or master/replica setup"));
        }
    }

    @Test
    void aContextStartedAgainAfterAStopFailsLoudlyInsteadOfServingAClosedPool() {
        runner().run(context -> {
            context.stop();
            assertThat(context.getBean(RedisAffinityPool.class).closeAsync().block(Duration.ofSeconds(5))).isNull();

            assertThatThrownBy(context::start).rootCause().isInstanceOf(IllegalStateException.class)
                    .hasMessage("Redis affinity pool 'default' was closed when the application context stopped and "
                            + "cannot start again (its connections were pinned to event loops disposed at the stop); "
                            + "restart the application instead of stopping and starting its context");
        });
    }

    @Test
    void theApplicationsCommandsWithAnotherCodecLeaveTheStringCommandsInPlace() {
        RedisClient client = RedisClient.create(RedisURI.create(redis.uri()));
        try {
            runner().withBean("binaryCommands", RedisReactiveCommands.class,
                    () -> client.connect(ByteArrayCodec.INSTANCE).reactive()).run(context -> {
                        // A supplier bean has a raw type: the String commands back off, as Spring would inject it.
                        assertThat(context).hasSingleBean(RedisReactiveCommands.class);
                    });
            runner().withUserConfiguration(BinaryCommandsConfiguration.class).run(context -> {
                assertThat(context.getBeansOfType(RedisReactiveCommands.class)).containsOnlyKeys("binaryCommands",
                        "affinityRedisCommands");
                RedisReactiveCommands<String, String> commands = context.getBean(StringCommandsHolder.class).commands;
                assertThat(commands.ping().block(Duration.ofSeconds(5))).isEqualTo("PONG");
            });
        }
        finally {
            client.shutdown();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class BinaryCommandsConfiguration {

        @Bean
        RedisReactiveCommands<byte[], byte[]> binaryCommands(@Value("${affinity-pool.redis.url}") String url) {
            return RedisClient.create(url).connect(ByteArrayCodec.INSTANCE).reactive();
        }

        @Bean
        StringCommandsHolder stringCommandsHolder(RedisReactiveCommands<String, String> commands) {
            return new StringCommandsHolder(commands);
        }
    }

    record StringCommandsHolder(RedisReactiveCommands<String, String> commands) {
    }

    @Configuration(proxyBeanMethods = false)
    static class BinaryPoolConfiguration {

        @Bean
        RedisAffinityPool<byte[], byte[]> binaryPool(@Value("${affinity-pool.redis.url}") String url) {
            return RedisAffinityPool.builder(url).codec(ByteArrayCodec.INSTANCE).name("binary").workers(1).build();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class PrimaryStringPoolConfiguration {

        @Bean
        @Primary
        RedisAffinityPool<String, String> primaryPool(@Value("${affinity-pool.redis.url}") String url) {
            return RedisAffinityPool.builder(url).name("primary").workers(1).build();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class CustomizerConfiguration {

        @Bean
        @Order(2)
        RedisAffinityPoolCustomizer second() {
            return builder -> builder.sharedConnectionsPerWorker(3);
        }

        @Bean
        @Order(1)
        RedisAffinityPoolCustomizer first() {
            return builder -> builder.sharedConnectionsPerWorker(5);
        }
    }

    static class BinaryCodecCustomizer implements RedisAffinityPoolCustomizer {

        @Override
        public void customize(RedisAffinityPool.Builder<String, String> builder) {
            builder.codec(ByteArrayCodec.INSTANCE);
        }
    }
}
