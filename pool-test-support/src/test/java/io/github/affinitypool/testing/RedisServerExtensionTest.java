package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.abortedWithReason;
import static org.junit.platform.testkit.engine.EventConditions.container;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;
import org.opentest4j.TestAbortedException;

/**
 * Runs fixture classes through the Jupiter engine to see what the extension does around them: when servers
 * are closed, and how a start-up that cannot happen is reported.
 */
@DisabledIfSystemProperty(named = RedisServer.Backend.TESTCONTAINERS_PROPERTY, matches = "true",
        disabledReason = "the fixtures count process-backed servers; the container path has its own test below")
class RedisServerExtensionTest {

    private static final String FIXTURES = "affinitypool.testing.fixtures";
    static final List<RedisServer> SERVERS = new CopyOnWriteArrayList<>();

    @BeforeEach
    void clear() {
        SERVERS.clear();
    }

    @Test
    void aPerClassServerIsSharedByTheClassAndClosedAfterIt() {
        run(PerClass.class).testEvents().assertStatistics(stats -> stats.started(2).succeeded(2));

        assertThat(SERVERS).hasSize(2);
        assertThat(SERVERS.get(0)).isSameAs(SERVERS.get(1));
        assertClosed(SERVERS.get(0));
    }

    @Test
    void perMethodServersAreFreshAndClosedAfterEachTest() {
        run(PerMethod.class).testEvents().assertStatistics(stats -> stats.started(2).succeeded(2));

        assertThat(SERVERS).hasSize(2).doesNotHaveDuplicates();
        SERVERS.forEach(RedisServerExtensionTest::assertClosed);
    }

    @Test
    void aServerIsClosedEvenWhenItsTestFails() {
        run(Failing.class).testEvents().assertStatistics(stats -> stats.started(1).failed(1));

        assertThat(SERVERS).hasSize(1);
        assertClosed(SERVERS.get(0));
    }

    @Test
    void aRegisteredExtensionAppliesItsBuilderOptions() {
        run(Registered.class).testEvents().assertStatistics(stats -> stats.started(1).succeeded(1));

        assertClosed(SERVERS.get(0));
    }

    @Test
    void aStaticFieldCannotHoldAPerMethodServer() {
        run(StaticFieldPerMethod.class).containerEvents().assertThatEvents().haveExactly(1,
                event(container(StaticFieldPerMethod.class), finishedWithFailure(
                        instanceOf(ExtensionConfigurationException.class),
                        message(m -> m.contains("cannot hold a per-method server")))));
    }

    @Test
    void anInstanceFieldCannotHoldThePerMethodServersOfConcurrentTestsSharingOneInstance() {
        EngineTestKit.engine("junit-jupiter").configurationParameter(FIXTURES, "true")
                .configurationParameter("junit.jupiter.execution.parallel.enabled", "true")
                .selectors(selectClass(ConcurrentPerClassPerMethod.class)).execute()
                .testEvents().assertThatEvents().haveExactly(2, event(test(), finishedWithFailure(
                        instanceOf(ExtensionConfigurationException.class),
                        message(m -> m.contains("cannot hold a per-method server of tests that run concurrently")))));
        // Each test's server was started before the refusal, and closed with its test.
        assertThat(SERVERS).isEmpty();
        // Declared concurrent, run one after the other (parallel execution off): each test has its own server there.
        run(ConcurrentPerClassPerMethod.class).testEvents().assertStatistics(stats -> stats.started(2).succeeded(2));
        assertThat(SERVERS).hasSize(2).doesNotHaveDuplicates();
    }

    @Test
    void withoutDockerTheTestcontainersBackendSkipsEachTestWithAReason() {
        assumeNoDocker();
        for (Class<?> fixture : List.of(ContainerPerClass.class, ContainerPerMethod.class, ContainerEverywhere.class)) {
            EngineExecutionResults results = run(fixture);
            results.testEvents().assertStatistics(stats -> stats.started(2).aborted(2).failed(0).succeeded(0));
            results.testEvents().assertThatEvents().haveExactly(2, event(test(),
                    abortedWithReason(instanceOf(TestAbortedException.class), message(NO_DOCKER::equals))));
            results.containerEvents().assertStatistics(stats -> stats.failed(0).aborted(0));
        }
        // only ContainerEverywhere's two constructor calls ran (with null); no callback, test or @AfterEach did
        assertThat(SERVERS).hasSize(2).containsOnlyNulls();
    }

    @Test
    void withoutDockerAClassThatUsesTheServerItselfIsSkippedWithAReason() {
        assumeNoDocker();
        for (Class<?> fixture : List.of(ContainerInBeforeAll.class, ContainerPerClassLifecycle.class)) {
            EngineExecutionResults results = run(fixture);
            results.containerEvents().assertThatEvents().haveExactly(1, event(container(fixture),
                    abortedWithReason(instanceOf(TestAbortedException.class), message(NO_DOCKER::equals))));
            results.allEvents().assertStatistics(stats -> stats.failed(0));
            results.testEvents().assertStatistics(stats -> stats.started(0));
        }
        assertThat(SERVERS).isEmpty();
    }

    private static final String NO_DOCKER =
            "Skipped: a Testcontainers Redis was asked for (-Dredis.testcontainers=true or Backend.TESTCONTAINERS), "
                    + "but no Docker environment is available";

    private static void assumeNoDocker() {
        org.junit.jupiter.api.Assumptions.assumeFalse(ContainerBackendTest.dockerAvailable(),
                "Docker is available here: the container backend runs for real in ContainerBackendTest");
    }

    private static EngineExecutionResults run(Class<?> fixture) {
        return EngineTestKit.engine("junit-jupiter")
                .configurationParameter(FIXTURES, "true")
                .selectors(selectClass(fixture))
                .execute();
    }

    private static void assertClosed(RedisServer server) {
        assertThat(server.isRunning()).isFalse();
        assertThat(server.toString()).contains("closed");
    }

    /** Keeps the fixtures from running on their own (in an IDE, say): only through {@link #run}. */
    static final class OnlyThroughTestKit implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(FIXTURES).map(Boolean::parseBoolean).orElse(false)
                    ? ConditionEvaluationResult.enabled("run by RedisServerExtensionTest")
                    : ConditionEvaluationResult.disabled("fixture of RedisServerExtensionTest");
        }
    }

    /** Two tests that note the server they are given; the fixtures below differ in how they get it. */
    @ExtendWith(OnlyThroughTestKit.class)
    abstract static class TwoTests {
        @Test
        void first(RedisServer server) {
            SERVERS.add(server);
            assertThat(server.command("SET", "k", "v")).isEqualTo("OK");
        }

        @Test
        void second(RedisServer server) {
            SERVERS.add(server);
        }
    }

    @RedisTest
    static class PerClass extends TwoTests {
    }

    @RedisTest(perMethod = true)
    static class PerMethod extends TwoTests {
    }

    @ExtendWith(OnlyThroughTestKit.class)
    @RedisTest(perMethod = true)
    static class Failing {
        @Test
        void fails(RedisServer server) {
            SERVERS.add(server);
            throw new AssertionError("on purpose");
        }
    }

    @ExtendWith(OnlyThroughTestKit.class)
    static class Registered {
        @RegisterExtension
        static RedisServerExtension redis = RedisServerExtension.configure(builder -> builder
                .aclUser("app", "app-secret", "~*", "+@all")
                .arg("--maxclients", "7")).perMethod();

        @Test
        void hasTheOptions(RedisServer server) {
            SERVERS.add(server);
            assertThat(server.command("CONFIG", "GET", "maxclients")).isEqualTo("maxclients\n7");
            try (RawRedisConnection app = server.connectAs("app", RedisServer.DEFAULT_TIMEOUT)) {
                assertThat(app.command("ACL", "WHOAMI")).isEqualTo("app");
            }
        }
    }

    @ExtendWith(OnlyThroughTestKit.class)
    @RedisTest(perMethod = true)
    static class StaticFieldPerMethod {
        @RedisServerInstance
        static RedisServer server;

        @Test
        void neverRuns() {
            SERVERS.add(server);
        }
    }

    /** Two tests that record the server of an instance field. */
    abstract static class TwoTestsOfAField {
        @RedisServerInstance
        RedisServer server;

        @Test
        void first() {
            SERVERS.add(server);
        }

        @Test
        void second() {
            SERVERS.add(server);
        }
    }

    @ExtendWith(OnlyThroughTestKit.class)
    @RedisTest(perMethod = true)
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    @Execution(ExecutionMode.CONCURRENT)
    static class ConcurrentPerClassPerMethod extends TwoTestsOfAField {
    }

    static RedisServer.Builder containerBackend(RedisServer.Builder builder) {
        return builder.backend(RedisServer.Backend.TESTCONTAINERS);
    }

    static class ContainerPerClass extends TwoTests {
        @RegisterExtension
        static RedisServerExtension redis = RedisServerExtension.configure(RedisServerExtensionTest::containerBackend);
    }

    @ExtendWith(OnlyThroughTestKit.class)
    static class ContainerPerMethod extends TwoTestsOfAField {
        @RegisterExtension
        static RedisServerExtension redis = RedisServerExtension.configure(RedisServerExtensionTest::containerBackend)
                .perMethod();
    }

    /** Constructor, field, @BeforeEach and @AfterEach: still each test is skipped, none fails. */
    @ExtendWith(OnlyThroughTestKit.class)
    static class ContainerEverywhere {
        @RegisterExtension
        static RedisServerExtension redis = RedisServerExtension.configure(RedisServerExtensionTest::containerBackend);

        @RedisServerInstance
        RedisServer field;

        ContainerEverywhere(RedisServer server) {
            SERVERS.add(server);
        }

        @BeforeEach
        void before(RedisServer server) {
            SERVERS.add(server);
        }

        @Test
        void first() {
            SERVERS.add(field);
        }

        @Test
        void second(RedisServer server) {
            SERVERS.add(server);
        }

        @AfterEach
        void after(RedisServer server) {
            SERVERS.add(server);
        }
    }

    @ExtendWith(OnlyThroughTestKit.class)
    static class ContainerInBeforeAll {
        @RegisterExtension
        static RedisServerExtension redis = RedisServerExtension.configure(RedisServerExtensionTest::containerBackend);

        @BeforeAll
        static void seed(RedisServer server) {
            SERVERS.add(server);
        }

        @Test
        void first() {
        }

        @AfterAll
        static void cleanUp(RedisServer server) {
            SERVERS.add(server);
        }
    }

    @ExtendWith(OnlyThroughTestKit.class)
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    static class ContainerPerClassLifecycle {
        @RegisterExtension
        static RedisServerExtension redis = RedisServerExtension.configure(RedisServerExtensionTest::containerBackend);

        @RedisServerInstance
        RedisServer field;

        @BeforeAll
        void seed() {
            SERVERS.add(field);
        }

        @Test
        void first() {
        }
    }
}
