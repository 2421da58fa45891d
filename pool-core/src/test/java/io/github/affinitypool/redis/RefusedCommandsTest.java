package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.function.Function;
import java.util.stream.Stream;

import io.lettuce.core.TrackingArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.XReadArgs.StreamOffset;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolKeyword;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.reactivestreams.Publisher;
import reactor.test.StepVerifier;

import io.github.affinitypool.redis.RefusedCommandException.Reason;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisTest;

/** Commands that {@code commands()} refuses, and the documented error they give. */
@RedisTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RefusedCommandsTest {

    private RedisAffinityPool<String, String> pool;

    private RedisServer redis;

    @BeforeAll
    void start(RedisServer redis) {
        this.redis = redis;
        this.pool = RedisAffinityPool.builder(redis.uri()).name("refused").workers(1).build();
        assertThat(pool.commands().ping().block(TIMEOUT)).isEqualTo("PONG");
    }

    @AfterAll
    void stop() {
        pool.close();
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                refused("MULTI", Reason.TRANSACTION, RedisReactiveCommands::multi),
                refused("EXEC", Reason.TRANSACTION, RedisReactiveCommands::exec),
                refused("DISCARD", Reason.TRANSACTION, RedisReactiveCommands::discard),
                refused("WATCH", Reason.TRANSACTION, c -> c.watch("k")),
                refused("UNWATCH", Reason.TRANSACTION, RedisReactiveCommands::unwatch),
                refused("SELECT", Reason.CONNECTION_STATE, c -> c.select(3)),
                refused("SWAPDB", Reason.CONNECTION_STATE, c -> c.swapdb(0, 1)),
                refused("AUTH", Reason.CONNECTION_STATE, c -> c.auth("secret")),
                refused("QUIT", Reason.CONNECTION_STATE, RedisReactiveCommands::quit),
                refused("READONLY", Reason.CONNECTION_STATE, RedisReactiveCommands::readOnly),
                refused("CLIENT TRACKING", Reason.CONNECTION_STATE,
                        c -> c.clientTracking(TrackingArgs.Builder.enabled())),
                refused("CLIENT SETNAME", Reason.CONNECTION_STATE, c -> c.clientSetname("other")),
                refused("HELLO", Reason.CONNECTION_STATE, c -> dispatch(c, CommandType.HELLO, args().add(3))),
                refused("RESET", Reason.CONNECTION_STATE, c -> dispatch(c, PoolFixtures.keyword("RESET"), args())),
                refused("CLIENT REPLY", Reason.CONNECTION_STATE,
                        c -> dispatch(c, CommandType.CLIENT, args().add("REPLY").add("OFF"))),
                // Sub-commands added as values or keys reach Redis all the same.
                refused("CLIENT REPLY", Reason.CONNECTION_STATE,
                        c -> dispatch(c, CommandType.CLIENT, args().addValue("reply").add("OFF"))),
                refused("CLIENT SETNAME", Reason.CONNECTION_STATE,
                        c -> dispatch(c, CommandType.CLIENT, args().addKey("SETNAME").addValue("other"))),
                refused("CLIENT NO-EVICT", Reason.CONNECTION_STATE, c -> c.clientNoEvict(true)),
                refused("CLIENT NO-TOUCH", Reason.CONNECTION_STATE,
                        c -> dispatch(c, CommandType.CLIENT, args().add("NO-TOUCH").add("ON"))),
                // The Lua debugger would take over the connection's next EVAL, and every reply after it.
                refused("SCRIPT DEBUG", Reason.CONNECTION_STATE,
                        c -> dispatch(c, CommandType.SCRIPT, args().add("DEBUG").add("YES"))),
                refused("SUBSCRIBE", Reason.PUSH_MODE, c -> dispatch(c, CommandType.SUBSCRIBE, args().addKey("ch"))),
                refused("PSUBSCRIBE", Reason.PUSH_MODE, c -> dispatch(c, CommandType.PSUBSCRIBE, args().addKey("ch*"))),
                refused("SSUBSCRIBE", Reason.PUSH_MODE, c -> dispatch(c, CommandType.SSUBSCRIBE, args().addKey("ch"))),
                refused("MONITOR", Reason.PUSH_MODE, c -> dispatch(c, CommandType.MONITOR, args())),
                refused("WAIT", Reason.BLOCKING, c -> c.waitForReplication(1, 100)),
                refused("WAITAOF", Reason.BLOCKING,
                        c -> dispatch(c, PoolFixtures.keyword("WAITAOF"), args().add(1).add(0).add(0))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void refusedCommandFailsWithTheDocumentedError(String command, Reason reason,
            Function<RedisReactiveCommands<String, String>, Publisher<?>> call) {
        long commandsBefore = processedCommands();

        StepVerifier.create(call.apply(pool.commands()))
                .expectErrorSatisfies(error -> {
                    assertThat(error).isInstanceOf(RefusedCommandException.class)
                            .isInstanceOf(UnsupportedOperationException.class)
                            .hasMessageStartingWith(command + " is not available on the shared commands(): it ")
                            .hasMessageContaining("; use RedisAffinityPool.");
                    assertThat(((RefusedCommandException) error).command()).isEqualTo(command);
                    assertThat(((RefusedCommandException) error).reason()).isEqualTo(reason);
                })
                .verify(TIMEOUT);

        // Nothing was sent: only the INFO of this check itself was processed in between.
        assertThat(processedCommands() - commandsBefore).isEqualTo(1);
    }

    @Test
    void transactionRefusalNamesTheExclusiveApi() {
        StepVerifier.create(pool.commands().multi())
                .expectErrorMessage("MULTI is not available on the shared commands(): it needs a connection of its own "
                        + "for the transaction; use RedisAffinityPool.transaction(...), or withConnection(...) / "
                        + "acquire()")
                .verify(TIMEOUT);
    }

    @Test
    void connectionControlsAreRefusedByThrowing() {
        assertThatThrownBy(() -> pool.commands().setTimeout(Duration.ofSeconds(1)))
                .isInstanceOf(RefusedCommandException.class)
                .hasMessageStartingWith("setTimeout is not available on the shared commands(): the command timeout is "
                        + "set once with RedisAffinityPool.builder(..).commandTimeout(..)");
        assertThatThrownBy(() -> pool.commands().getStatefulConnection())
                .isInstanceOf(RefusedCommandException.class)
                .hasMessageContaining("use acquire() for a connection of your own");
    }

    @Test
    void nonBlockingVariantsStillRun() {
        assertThat(pool.commands().xadd("stream", "field", "value").block(TIMEOUT)).isNotBlank();
        assertThat(pool.commands().xread(XReadArgs.Builder.count(10), StreamOffset.from("stream", "0")).collectList()
                .block(TIMEOUT)).hasSize(1);
        assertThat(pool.commands().clientList().block(TIMEOUT)).contains("name=affinity-pool.refused.shared.w0");
        assertThat(pool.commands().dispatch(CommandType.PING, new StatusOutput<>(StringCodec.UTF8)).blockFirst(TIMEOUT))
                .isEqualTo("PONG");
        assertThat(pool.commands().lpop("missing").block(TIMEOUT)).isNull();
    }

    private long processedCommands() {
        return Long.parseLong(redis.info("stats").get("total_commands_processed"));
    }

    private static Arguments refused(String command, Reason reason,
            Function<RedisReactiveCommands<String, String>, Publisher<?>> call) {
        return Arguments.of(command, reason, call);
    }

    private static Publisher<?> dispatch(RedisReactiveCommands<String, String> commands, ProtocolKeyword type,
            CommandArgs<String, String> args) {
        return commands.dispatch(type, new StatusOutput<>(StringCodec.UTF8), args);
    }

    private static CommandArgs<String, String> args() {
        return new CommandArgs<>(StringCodec.UTF8);
    }
}
