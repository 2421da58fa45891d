package io.github.affinitypool.autoconfigure.actuate;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import io.github.affinitypool.autoconfigure.AffinityPoolAutoConfiguration;
import io.github.affinitypool.autoconfigure.InvalidAffinityPoolPropertyException;
import io.github.affinitypool.autoconfigure.metrics.AffinityPoolMetricsBinder;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.redis.RedisLease;
import io.github.affinitypool.redis.SharedStats;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisServerInstance;
import io.github.affinitypool.testing.RedisTest;
import io.lettuce.core.codec.ByteArrayCodec;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.actuate.autoconfigure.context.properties.ConfigurationPropertiesReportEndpointAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.env.EnvironmentEndpointAutoConfiguration;
import org.springframework.boot.actuate.context.properties.ConfigurationPropertiesReportEndpoint;
import org.springframework.boot.actuate.env.EnvironmentEndpoint;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.observation.LettuceObservationAutoConfiguration;
import org.springframework.boot.health.contributor.CompositeReactiveHealthContributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.awaitility.Awaitility.await;

/**
 * Meters, health indicator and endpoint against a real redis-server that requires a password, checking that the
 * password never shows.
 */
@RedisTest(password = AffinityPoolActuatorTests.PASSWORD)
class AffinityPoolActuatorTests {

    static final String PASSWORD = "hunter2-secret";

    @RedisServerInstance
    RedisServer redis;

    private ApplicationContextRunner runner(String url) {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AffinityPoolAutoConfiguration.class,
                        AffinityPoolActuatorAutoConfiguration.class))
                .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withPropertyValues("affinity-pool.redis.url=" + url, "affinity-pool.redis.workers=2",
                        "affinity-pool.redis.name=orders", "management.endpoints.web.exposure.include=redispool",
                        "management.endpoints.jmx.exposure.include=redispool");
    }

    @Test
    void metersCarryNameKindAndWorkerTags() {
        runner(redis.uri()).run(context -> {
            RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
            pool.withConnection(commands -> commands.ping()).blockLast(Duration.ofSeconds(5));
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get("redis.pool.connections.created").tag("name", "orders").tag("kind", "command")
                    .counters()).extracting(counter -> counter.count()).containsExactly(1.0);
            assertThat(registry.get("redis.pool.acquire").tag("outcome", "success").timers())
                    .extracting(timer -> timer.count()).contains(1L);
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(
                    registry.get("redis.pool.acquired").gauges().stream().mapToDouble(g -> g.value()).sum())
                    .isZero());
            for (String worker : new String[] { "0", "1", "overflow" }) {
                assertThat(registry.get("redis.pool.idle").tag("name", "orders").tag("kind", "command")
                        .tag("worker", worker).gauge()).isNotNull();
                assertThat(registry.get("redis.pool.acquired").tag("worker", worker).gauge().value()).isZero();
                assertThat(registry.get("redis.pool.pending").tag("worker", worker).gauge().value()).isZero();
            }
            // The release completes just after the lease's work, so wait for the connection to be back idle.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(
                    registry.get("redis.pool.idle").gauges().stream().mapToDouble(g -> g.value()).sum())
                    .isEqualTo(1.0));
            assertThat(registry.get("redis.pool.allocated").tag("kind", "command").gauges().stream()
                    .mapToDouble(g -> g.value()).sum()).isEqualTo(1.0);
            assertThat(registry.get("redis.pool.max.allocated").tag("name", "orders").tag("kind", "command").gauge()
                    .value()).isEqualTo(8.0);
            assertThat(registry.get("redis.pool.max.pending").gauge().value()).isEqualTo(1000.0);
            for (String worker : new String[] { "0", "1" }) {
                assertThat(registry.get("redis.pool.allocated").tag("kind", "pubsub").tag("worker", worker).gauge()
                        .value()).isZero();
            }
            assertThat(registry.find("redis.pool.allocated").tag("kind", "pubsub").tag("worker", "overflow").gauge())
                    .isNull();
            assertThat(registry.get("redis.pool.max.allocated").tag("kind", "pubsub").gauge().value()).isEqualTo(2.0);
            // The shared connections behind commands(), opened in the background when the pool is built.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                for (String worker : new String[] { "0", "1" }) {
                    assertThat(registry.get("redis.pool.allocated").tag("kind", "shared").tag("worker", worker).gauge()
                            .value()).isEqualTo(1.0);
                    assertThat(registry.get("redis.pool.connections.created").tag("kind", "shared")
                            .tag("worker", worker).counter().count()).isEqualTo(1.0);
                }
            });
            // Nothing is ever acquired from a multiplexed connection: no acquire timer, no acquired/idle/pending.
            assertThat(registry.getMeters().stream().map(Meter::getId).filter(id -> "shared".equals(id.getTag("kind")))
                    .map(Meter.Id::getName).collect(Collectors.toSet())).isEqualTo(Set.of("redis.pool.allocated",
                            "redis.pool.max.allocated", "redis.pool.connections.created"));
            assertThat(registry.get("redis.pool.max.allocated").tag("kind", "shared").gauge().value()).isEqualTo(2.0);
            // Acquire timers for what each kind can report: Pub/Sub has no overflow pool and no acquire timeout.
            assertThat(acquireSeries(registry, "command")).containsExactlyInAnyOrder("local/success", "stolen/success",
                    "overflow/success", "off-loop/success", "none/timeout", "none/error");
            assertThat(acquireSeries(registry, "pubsub")).containsExactlyInAnyOrder("local/success", "stolen/success",
                    "off-loop/success", "none/error");
            assertThat(registry.getMeters()).allSatisfy(meter -> assertThat(meter.getId().toString())
                    .doesNotContain(PASSWORD));
        });
    }

    /** @return the acquire timers of a kind, as locality/outcome */
    private static Set<String> acquireSeries(MeterRegistry registry, String kind) {
        return registry.get("redis.pool.acquire").tag("kind", kind).timers().stream()
                .map(timer -> timer.getId().getTag("locality") + "/" + timer.getId().getTag("outcome"))
                .collect(Collectors.toSet());
    }

    @Test
    void healthIsUpWithDetails() {
        runner(redis.uri()).run(context -> {
            RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
            // Both shared connections opened in the background when the pool was built.
            await().atMost(Duration.ofSeconds(5)).until(() -> pool.sharedStats().open() == 2);
            Health health = context.getBean("redisAffinityPoolHealthContributor", ReactiveHealthIndicator.class)
                    .health().block(Duration.ofSeconds(5));
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("name", "orders").containsEntry("mode", "standalone")
                    .containsEntry("workers", 2).containsKey("command").containsKey("pubsub")
                    .containsEntry("shared", Map.of("open", 2, "connecting", 0, "unavailable", 0));
            assertThat(health.toString()).doesNotContain(PASSWORD);
        });
    }

    @Test
    @SuppressWarnings("unchecked")
    void healthCountsAPubSubConnectionWithoutSubscriptionsAsIdle() {
        runner(redis.uri()).run(context -> {
            RedisAffinityPool<String, String> pool = context.getBean(RedisAffinityPool.class);
            ReactiveHealthIndicator indicator = context.getBean("redisAffinityPoolHealthContributor",
                    ReactiveHealthIndicator.class);
            Disposable subscriber = pool.subscribeLater("news").block(Duration.ofSeconds(5)).subscribe();
            await().atMost(Duration.ofSeconds(5)).until(() -> pool.pubSubStats().subscribers() == 1);
            assertThat(indicator.health().block(Duration.ofSeconds(5)).getDetails()).containsEntry("pubsub",
                    Map.of("open", 1, "idle", 0, "subscriptions", 1, "subscribers", 1, "pending", 0));

            subscriber.dispose();

            // The connection stays open for the next subscriber, with nothing subscribed on it: idle.
            await().atMost(Duration.ofSeconds(5)).until(() -> pool.pubSubStats().subscriptions() == 0);
            assertThat(indicator.health().block(Duration.ofSeconds(5)).getDetails()).containsEntry("pubsub",
                    Map.of("open", 1, "idle", 1, "subscriptions", 0, "subscribers", 0, "pending", 0));
        });
    }

    @Test
    void healthIsDownOnceTheHealthTimeoutHasPassedWithoutAReplyToPing() {
        ApplicationContextRunner runner = runner(redis.uri());
        for (String timeout : new String[] { null, "250ms" }) {
            ApplicationContextRunner configured = (timeout != null)
                    ? runner.withPropertyValues("affinity-pool.redis.health-timeout=" + timeout) : runner;
            configured.run(context -> {
                RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
                await().atMost(Duration.ofSeconds(5)).until(() -> pool.sharedStats().open() == 2);
                ReactiveHealthIndicator indicator = context.getBean("redisAffinityPoolHealthContributor",
                        ReactiveHealthIndicator.class);
                redis.pause();
                Health health;
                try {
                    // Well within the command timeout (5s), which bounded the PING before.
                    health = indicator.health().block(Duration.ofSeconds(3));
                }
                finally {
                    redis.resume();
                }
                assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                assertThat(health.getDetails()).containsEntry("name", "orders").containsEntry("error",
                        "java.util.concurrent.TimeoutException: no reply to PING within the health timeout of "
                                + ((timeout != null) ? "250" : "1000") + " ms");
            });
        }
    }

    @Test
    void healthIsDownWithAWrongPasswordAndNeverShowsIt() {
        String wrong = "not-the-" + PASSWORD;
        runner("redis://:" + wrong + "@" + redis.host() + ":" + redis.port()).run(context -> {
            Health health = context.getBean("redisAffinityPoolHealthContributor", ReactiveHealthIndicator.class)
                    .health().block(Duration.ofSeconds(10));
            assertThat(health.getStatus()).isEqualTo(Status.DOWN);
            assertThat(health.getDetails()).containsEntry("name", "orders").containsKey("error");
            assertThat(String.valueOf(health.getDetails().get("error"))).containsAnyOf("WRONGPASS", "NOAUTH", "auth");
            assertThat(health.toString()).doesNotContain(wrong).doesNotContain(PASSWORD);
        });
    }

    @Test
    void endpointShowsWorkersAndConfigurationWithThePasswordMasked() {
        runner(redis.uri()).run(context -> {
            RedisPoolEndpoint endpoint = context.getBean(RedisPoolEndpoint.class);
            RedisPoolEndpoint.PoolSnapshot snapshot = endpoint.snapshot();
            assertThat(snapshot.name()).isEqualTo("orders");
            assertThat(snapshot.mode()).isEqualTo("standalone");
            assertThat(snapshot.workerCount()).isEqualTo(2);
            assertThat(snapshot.workers()).hasSize(2);
            assertThat(snapshot.configuration().url())
                    .isEqualTo("redis://:******@" + redis.host() + ":" + redis.port());
            assertThat(snapshot.configuration().maxOpen()).isEqualTo(8);
            assertThat(snapshot.configuration().tls()).isFalse();
            assertThat(snapshot.configuration().connectTimeout()).isEqualTo(Duration.ofSeconds(10));
            assertThat(snapshot.configuration().leakDetectionThreshold()).isEqualTo(Duration.ZERO);
            assertThat(snapshot.pubSub().maxOpen()).isEqualTo(2);
            assertThat(snapshot.pubSub().workers()).hasSize(2);
            assertThat(snapshot.shared().perWorker()).isEqualTo(1);
            // Per worker, not the 2 of both workers together.
            assertThat(snapshot.configuration().sharedConnectionsPerWorker()).isEqualTo(1);
            assertThat(snapshot.shared().workers()).extracting(SharedStats.Worker::worker).containsExactly(0, 1);
            assertThat(snapshot.toString()).doesNotContain(PASSWORD);
            assertThat(context.getBean(io.github.affinitypool.autoconfigure.AffinityPoolSettings.class).toString())
                    .doesNotContain(PASSWORD);
        });
    }

    @Test
    void theEnvAndConfigpropsEndpointsShowRedisUrlsWithoutTheirPasswordEvenWhenShowingValues() {
        String url = "redis://app:" + PASSWORD + "@" + redis.host() + ":" + redis.port() + "/0";
        String masked = "redis://app:******@" + redis.host() + ":" + redis.port() + "/0";
        runner(url).withConfiguration(AutoConfigurations.of(EnvironmentEndpointAutoConfiguration.class,
                ConfigurationPropertiesReportEndpointAutoConfiguration.class))
                .withPropertyValues("management.endpoint.env.show-values=always",
                        "management.endpoint.configprops.show-values=always",
                        "management.endpoints.web.exposure.include=env,configprops",
                        "spring.data.redis.url=rediss://:" + PASSWORD + "@cache.internal:6380",
                        "app.sentinel-url=redis-sentinel://:" + PASSWORD + "@sentinel:26379/0#orders")
                .run(context -> {
                    EnvironmentEndpoint env = context.getBean(EnvironmentEndpoint.class);
                    assertThat(env.environmentEntry("affinity-pool.redis.url").getProperty().getValue())
                            .isEqualTo(masked);
                    assertThat(env.environmentEntry("spring.data.redis.url").getProperty().getValue())
                            .isEqualTo("rediss://:******@cache.internal:6380");
                    assertThat(env.environmentEntry("app.sentinel-url").getProperty().getValue())
                            .isEqualTo("redis-sentinel://:******@sentinel:26379/0#orders");
                    // Other values stay shown, as asked.
                    assertThat(env.environmentEntry("affinity-pool.redis.name").getProperty().getValue())
                            .isEqualTo("orders");
                    Map<String, Object> bound = context.getBean(ConfigurationPropertiesReportEndpoint.class)
                            .configurationPropertiesWithPrefix("affinity-pool.redis").getContexts().values()
                            .iterator().next().getBeans().values().iterator().next().getProperties();
                    assertThat(bound).containsEntry("url", masked).containsEntry("name", "orders");
                });
    }

    @Test
    void endpointNamesCloseReasonsAsTheMetricsReasonTagDoes() {
        runner(redis.uri()).run(context -> {
            RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
            pool.acquire().flatMap(RedisLease::invalidate).block(Duration.ofSeconds(5));
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            await().atMost(Duration.ofSeconds(5)).until(() -> registry.find("redis.pool.connections.closed")
                    .tag("kind", "command").tag("reason", "invalidated").counter() != null);

            RedisPoolEndpoint.PoolSnapshot snapshot = context.getBean(RedisPoolEndpoint.class).snapshot();

            assertThat(snapshot.total().closedByReason()).containsExactly(entry("lifetime", 0L),
                    entry("idle-time", 0L), entry("unusable", 0L), entry("validation-failed", 0L),
                    entry("reset-failed", 0L), entry("excess-idle", 0L), entry("invalidated", 1L),
                    entry("pool-closed", 0L));
            // An off-loop borrower's lease comes from the overflow pool, which counts the close.
            assertThat(snapshot.overflow().closedByReason()).containsEntry("invalidated", 1L);
            assertThat(snapshot.workers()).allSatisfy(worker -> assertThat(worker.closedByReason())
                    .containsEntry("invalidated", 0L));
        });
    }

    @Test
    void aPoolOfTheApplicationsOwnIsMeasuredAndDescribedAsItIs() {
        runner(redis.uri()).withUserConfiguration(BinaryPoolConfiguration.class).run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(RedisAffinityPool.class);
            RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
            assertThat(pool.name()).isEqualTo("binary");
            pool.withConnection(commands -> commands.ping()).blockLast(Duration.ofSeconds(5));
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get("redis.pool.connections.created").tag("name", "binary").tag("kind", "command")
                    .counter().count()).isEqualTo(1.0);
            assertThat(registry.get("redis.pool.max.allocated").tag("name", "binary").tag("kind", "command").gauge()
                    .value()).isEqualTo(4.0);
            Health health = context.getBean("redisAffinityPoolHealthContributor", ReactiveHealthIndicator.class)
                    .health().block(Duration.ofSeconds(5));
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("name", "binary").containsEntry("mode", "standalone")
                    .containsEntry("workers", 1);
            RedisPoolEndpoint.PoolSnapshot snapshot = context.getBean(RedisPoolEndpoint.class).snapshot();
            assertThat(snapshot.name()).isEqualTo("binary");
            assertThat(snapshot.configuration().url()).isEqualTo("redis://" + redis.host() + ":" + redis.port());
            assertThat(snapshot.configuration().urlSource()).isEqualTo("application");
            assertThat(snapshot.toString() + health).doesNotContain(PASSWORD);
        });
    }

    @Test
    void theHealthTimeoutIsCheckedAlsoForAPoolOfTheApplicationsOwn() {
        // The auto-configured pool, which checks the other properties, backs off; the health check still uses this one.
        runner(redis.uri()).withUserConfiguration(BinaryPoolConfiguration.class)
                .withPropertyValues("affinity-pool.redis.health-timeout=0s")
                .run(context -> assertThat(context).getFailure().rootCause()
                        .isInstanceOfSatisfying(InvalidAffinityPoolPropertyException.class, ex -> {
                            assertThat(ex.getProperty()).isEqualTo("affinity-pool.redis.health-timeout");
                            assertThat(ex.getReason()).isEqualTo("must be a positive duration");
                        }));
    }

    @Test
    void aClosedPoolsGaugesAreRemovedSoThatAPoolBuiltLaterUnderItsNameGetsItsOwn() {
        runner(redis.uri()).run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            AffinityPoolMetricsBinder binder = context.getBean(AffinityPoolMetricsBinder.class);
            RedisAffinityPool<String, String> first = binder.build("replaced",
                    RedisAffinityPool.builder(redis.uri()).workers(1));
            assertThat(registry.find("redis.pool.allocated").tag("name", "replaced").gauges()).isNotEmpty();

            first.close();

            assertThat(registry.find("redis.pool.allocated").tag("name", "replaced").gauges()).isEmpty();
            try (RedisAffinityPool<String, String> second = binder.build("replaced",
                    RedisAffinityPool.builder(redis.uri()).workers(1).sharedConnectionsPerWorker(2))) {
                await().atMost(Duration.ofSeconds(5)).until(() -> second.sharedStats().open() == 2);
                assertThat(registry.get("redis.pool.allocated").tag("name", "replaced").tag("kind", "shared")
                        .tag("worker", "0").gauge().value()).isEqualTo(2.0);
            }
        });
    }

    @Test
    void aPoolWhoseGaugesCannotBeRegisteredIsClosedRatherThanLeftOpen() {
        runner(redis.uri()).run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            // A meter of another type under a gauge's name and tags: Micrometer refuses the gauge.
            registry.counter("redis.pool.idle", "name", "clash", "kind", "command", "worker", "0");
            AffinityPoolMetricsBinder binder = context.getBean(AffinityPoolMetricsBinder.class);
            assertThatThrownBy(() -> binder.build("clash", RedisAffinityPool.builder(redis.uri()).workers(1)))
                    .isInstanceOf(IllegalArgumentException.class);
            await().atMost(Duration.ofSeconds(5)).until(() -> redis.clientNames("affinity-pool.clash.").isEmpty());
            assertThat(registry.find("redis.pool.allocated").tag("name", "clash").gauges()).isEmpty();
        });
    }

    @Test
    void aSecondOpenPoolUnderTheSameNameIsRefusedRatherThanSharingTheFirstOnesGauges() {
        runner(redis.uri()).run(context -> {
            AffinityPoolMetricsBinder binder = context.getBean(AffinityPoolMetricsBinder.class);
            assertThatThrownBy(() -> binder.build("orders", RedisAffinityPool.builder(redis.uri()).workers(1)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("A Redis affinity pool named 'orders' is open and measured in this MeterRegistry "
                            + "already; give each pool a name of its own (RedisAffinityPool.Builder.name, "
                            + "affinity-pool.redis.name), as the name is the 'name' tag of its meters");
            // The auto-configured pool keeps its gauges: 3 per kind of pool (workers and overflow) and shared ones.
            assertThat(context.getBean(MeterRegistry.class).find("redis.pool.acquired").tag("name", "orders")
                    .tag("kind", "command").gauges()).hasSize(3);
        });
    }

    @Test
    void theHealthIndicatorIsTurnedOffWithItsCanonicalPropertyName() {
        runner(redis.uri()).withPropertyValues("management.health.redisaffinitypool.enabled=false")
                .run(context -> assertThat(context).doesNotHaveBean("redisAffinityPoolHealthContributor"));
    }

    @Test
    void theEndpointNamesTheIdleOrderAsThePropertyDoesInAnyLocale() {
        Locale saved = Locale.getDefault();
        Locale.setDefault(Locale.forLanguageTag("tr-TR")); // where "FIFO".toLowerCase() is "fıfo"
        try {
            runner(redis.uri()).withPropertyValues("affinity-pool.redis.pool.idle-order=fifo")
                    .run(context -> assertThat(context.getBean(RedisPoolEndpoint.class).snapshot().configuration()
                            .idleOrder()).isEqualTo("fifo"));
        }
        finally {
            Locale.setDefault(saved);
        }
    }

    @Test
    void severalPoolsGetAHealthEntryEachByBeanName() {
        runner(redis.uri()).withUserConfiguration(BinaryPoolConfiguration.class, SecondPoolConfiguration.class)
                .run(context -> {
                    assertThat(context).hasNotFailed().doesNotHaveBean(RedisPoolEndpoint.class);
                    CompositeReactiveHealthContributor composite = context.getBean(
                            "redisAffinityPoolHealthContributor", CompositeReactiveHealthContributor.class);
                    for (String bean : new String[] { "binaryPool", "secondPool" }) {
                        Health health = ((ReactiveHealthIndicator) composite.getContributor(bean)).health()
                                .block(Duration.ofSeconds(5));
                        assertThat(health.getStatus()).isEqualTo(Status.UP);
                        assertThat(health.getDetails()).containsEntry("name", bean.replace("Pool", ""));
                    }
                });
    }

    @Test
    void springBootsLettuceObservationsCoverThePoolsConnections() {
        runner(redis.uri())
                .withConfiguration(AutoConfigurations.of(LettuceObservationAutoConfiguration.class))
                .withBean(ObservationRegistry.class, () -> ObservationRegistry.create())
                .run(context -> {
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    context.getBean(ObservationRegistry.class).observationConfig()
                            .observationHandler(new DefaultMeterObservationHandler(registry));
                    @SuppressWarnings("unchecked")
                    RedisAffinityPool<String, String> pool = context.getBean(RedisAffinityPool.class);
                    assertThat(pool.commands().echo("shared").block(Duration.ofSeconds(5))).isEqualTo("shared");
                    assertThat(pool.withConnection(commands -> commands.echo("leased"))
                            .blockLast(Duration.ofSeconds(5))).isEqualTo("leased");
                    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(
                            registry.get("lettuce").tag("db.operation", "ECHO").tag("error", "none").timer().count())
                            .isEqualTo(2));
                });
    }

    @Configuration(proxyBeanMethods = false)
    static class BinaryPoolConfiguration {

        @Bean
        RedisAffinityPool<byte[], byte[]> binaryPool(AffinityPoolMetricsBinder metrics,
                @Value("${affinity-pool.redis.url}") String url) {
            return metrics.build("binary",
                    RedisAffinityPool.builder(url).codec(ByteArrayCodec.INSTANCE).workers(1));
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class SecondPoolConfiguration {

        @Bean
        RedisAffinityPool<String, String> secondPool(@Value("${affinity-pool.redis.url}") String url) {
            return RedisAffinityPool.builder(url).name("second").workers(1).build();
        }
    }
}
