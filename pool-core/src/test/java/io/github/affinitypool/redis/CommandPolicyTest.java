package io.github.affinitypool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.time.Duration;

import io.github.affinitypool.redis.CommandPolicy.LeaseEffect;
import io.github.affinitypool.redis.RefusedCommandException.Reason;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandKeyword;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolKeyword;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CommandPolicyTest {

    @ParameterizedTest
    @CsvSource({ "MULTI,TRANSACTION", "EXEC,TRANSACTION", "DISCARD,TRANSACTION", "WATCH,TRANSACTION",
            "UNWATCH,TRANSACTION", "SELECT,CONNECTION_STATE", "SWAPDB,CONNECTION_STATE", "AUTH,CONNECTION_STATE",
            "HELLO,CONNECTION_STATE", "RESET,CONNECTION_STATE", "QUIT,CONNECTION_STATE",
            "CLIENT TRACKING,CONNECTION_STATE", "CLIENT REPLY,CONNECTION_STATE", "SCRIPT DEBUG,CONNECTION_STATE",
            "SUBSCRIBE,PUSH_MODE",
            "PSUBSCRIBE,PUSH_MODE", "SSUBSCRIBE,PUSH_MODE", "MONITOR,PUSH_MODE", "SYNC,PUSH_MODE", "PSYNC,PUSH_MODE",
            "REPLCONF,PUSH_MODE", "WAIT,BLOCKING", "WAITAOF,BLOCKING" })
    void refusesStateChangingAndConnectionScopedCommandsOnTheSharedPath(String command, Reason reason) {
        RefusedCommandException refusal = CommandPolicy.sharedRefusal(command);

        assertThat(refusal).isNotNull();
        assertThat(refusal.command()).isEqualTo(command);
        assertThat(refusal.reason()).isEqualTo(reason);
        assertThat(refusal).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith(command + " is not available on the shared commands(): it ")
                .hasMessageContaining("; use RedisAffinityPool.");
    }

    @Test
    void eachRefusalNamesTheApiThatDoesWhatTheCommandWasFor() {
        assertThat(CommandPolicy.sharedRefusal("MULTI")).hasMessageEndingWith(
                "; use RedisAffinityPool.transaction(...), or withConnection(...) / acquire()");
        assertThat(CommandPolicy.sharedRefusal("SUBSCRIBE")).hasMessageEndingWith(
                "; use RedisAffinityPool.subscribe(...) or psubscribe(...)");
        assertThat(CommandPolicy.sharedRefusal("MONITOR")).hasMessageEndingWith(
                "; use RedisAffinityPool.withConnection(...) or acquire()");
        assertThat(CommandPolicy.sharedRefusal("SYNC")).hasMessageEndingWith(
                "; use RedisAffinityPool.withConnection(...) or acquire()");
        assertThat(CommandPolicy.sharedRefusal("SELECT")).hasMessageEndingWith(
                "(put the database, credentials and client name in the Redis URI); use "
                        + "RedisAffinityPool.withConnection(...) or acquire()");
    }

    @Test
    void waitRefusalExplainsWhyAndNamesWithConnection() {
        assertThat(CommandPolicy.sharedRefusal("WAIT")).hasMessage("WAIT is not available on the shared commands(): it "
                + "counts the replicas that acknowledged the writes of the connection it runs on, and commands() sends "
                + "your writes over shared connections; use RedisAffinityPool.withConnection(...) or acquire()");
    }

    @Test
    void plainAndBlockingCommandsAreAllowed() {
        for (String command : new String[] { "GET", "SET", "HGETALL", "EVALSHA", "PUBLISH", "XREAD", "CLIENT LIST",
                "CLIENT ID", "PING", "INFO", "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX", "BLMPOP",
                "BZMPOP" }) {
            assertThat(CommandPolicy.sharedRefusal(command)).as(command).isNull();
        }
    }

    @Test
    void blockingPopsRunOnALease() {
        int leased = 0;
        for (Method method : RedisReactiveCommands.class.getMethods()) {
            String command = CommandPolicy.leasedCommandOf(method);
            if (command != null) {
                leased++;
                assertThat(CommandPolicy.refusedCommandOf(method)).as(method.getName()).isNull();
                assertThat(CommandPolicy.runsOnLease(PoolFixtures.keyword(command), args())).as(command).isTrue();
            }
        }
        assertThat(leased).isGreaterThanOrEqualTo(8);
        assertThat(CommandPolicy.runsOnLease(CommandType.GET, args("k"))).isFalse();
    }

    @Test
    void blockTimeExtendsTheCommandTimeout() {
        assertThat(blockMillis(CommandType.BLPOP, args("a", "b").add(2))).isEqualTo(2000);
        assertThat(blockMillis(CommandType.BRPOP, args("a").add(0.25))).isEqualTo(250);
        assertThat(blockMillis(CommandType.BLPOP, args("a").add(0))).isZero();
        assertThat(blockMillis(CommandType.BLMPOP, args().add(1.5).add(1).addKey("a").add("LEFT"))).isEqualTo(1500);
        assertThat(blockMillis(CommandType.XREAD, args().add("COUNT").add(1).add("BLOCK").add(300).add("STREAMS")
                .addKey("s").add("$"))).isEqualTo(300);
        assertThat(blockMillis(CommandType.XREAD, args().add("STREAMS").addKey("s").add("0"))).isEqualTo(-1);
        // A stream named BLOCK with ID 0: keys and IDs follow STREAMS and are no options.
        assertThat(blockMillis(CommandType.XREAD, args().add("STREAMS").addKey("BLOCK").add("0"))).isEqualTo(-1);
        assertThat(blockMillis(CommandType.XREADGROUP, args().add("GROUP").add("g").add("c").add("STREAMS")
                .addKey("BLOCK").add(">"))).isEqualTo(-1);
        // A group or consumer named BLOCK is no option either.
        assertThat(blockMillis(CommandType.XREADGROUP, args().add("GROUP").add("BLOCK").add("c1").add("BLOCK")
                .add(2000).add("STREAMS").addKey("s").add(">"))).isEqualTo(2000);
        assertThat(blockMillis(CommandType.XREADGROUP, args().add("GROUP").add("g").add("BLOCK").add("STREAMS")
                .addKey("s").add(">"))).isEqualTo(-1);
        assertThat(blockMillis(CommandType.WAIT, args().add(1).add(100))).isEqualTo(100);
        assertThat(blockMillis(CommandType.GET, args("k"))).isEqualTo(-1);
        assertThat(blockMillis(PoolFixtures.keyword("BZMPOP"), args().add(3).add(1).addKey("z").add("MIN")))
                .isEqualTo(3000);
    }

    @Test
    void everyRefusedMethodMapsToARefusal() {
        int refused = 0;
        for (Method method : RedisReactiveCommands.class.getMethods()) {
            String command = CommandPolicy.refusedCommandOf(method);
            if (command != null) {
                refused++;
                assertThat(CommandPolicy.sharedRefusal(command)).as(method.getName()).isNotNull();
            }
        }
        assertThat(refused).isGreaterThanOrEqualTo(15);
    }

    @Test
    void xreadRunsOnALeaseOnlyWithBlock() throws Exception {
        Method xread = RedisReactiveCommands.class.getMethod("xread", XReadArgs.class, XReadArgs.StreamOffset[].class);
        assertThat(CommandPolicy.dependsOnBlockArgument(xread)).isTrue();

        assertThat(CommandPolicy.blocks(new Object[] { XReadArgs.Builder.block(Duration.ofSeconds(1)),
                new XReadArgs.StreamOffset[0] })).isTrue();
        assertThat(CommandPolicy.blocks(new Object[] { XReadArgs.Builder.count(10), new XReadArgs.StreamOffset[0] }))
                .isFalse();
    }

    @Test
    void dispatchedCommandsAreClassifiedByKeywordAndSubCommand() {
        assertThat(CommandPolicy.sharedRefusal(CommandType.SUBSCRIBE, args("channel")).reason())
                .isEqualTo(Reason.PUSH_MODE);
        assertThat(CommandPolicy.sharedRefusal(PoolFixtures.keyword("reset"), null).command()).isEqualTo("RESET");
        assertThat(CommandPolicy.sharedRefusal(CommandType.CLIENT, args().add(CommandKeyword.TRACKING).add("ON"))
                .command()).isEqualTo("CLIENT TRACKING");
        assertThat(CommandPolicy.sharedRefusal(CommandType.CLIENT, args().add(CommandKeyword.LIST))).isNull();
        assertThat(CommandPolicy.sharedRefusal(CommandType.SCRIPT, args().add("DEBUG").add("YES")).command())
                .isEqualTo("SCRIPT DEBUG");
        assertThat(CommandPolicy.sharedRefusal(PoolFixtures.keyword("script"), args().add("debug").add("sync"))
                .reason()).isEqualTo(Reason.CONNECTION_STATE);
        assertThat(CommandPolicy.sharedRefusal(CommandType.SCRIPT, args().add("FLUSH"))).isNull();
        assertThat(CommandPolicy.sharedRefusal(CommandType.XREAD, args().add("BLOCK").add(100).add("STREAMS")
                .add("s").add("$"))).isNull();
        assertThat(CommandPolicy.runsOnLease(CommandType.XREAD, args().add("BLOCK").add(100).add("STREAMS")
                .add("s").add("$"))).isTrue();
        assertThat(CommandPolicy.runsOnLease(CommandType.XREAD, args().add("STREAMS").add("s").add("$"))).isFalse();
        assertThat(CommandPolicy.runsOnLease(CommandType.XREADGROUP, args().add("GROUP").add("BLOCK").add("c1")
                .add("BLOCK").add(100).add("STREAMS").add("s").add(">"))).isTrue();
        assertThat(CommandPolicy.runsOnLease(CommandType.XREAD, args().add("STREAMS").add("BLOCK").add("0"))).isFalse();
        assertThat(CommandPolicy.sharedRefusal(CommandType.SYNC, null).reason()).isEqualTo(Reason.PUSH_MODE);
        assertThat(CommandPolicy.sharedRefusal(PoolFixtures.keyword("PSYNC"), args().add("?").add(-1)).command())
                .isEqualTo("PSYNC");
        assertThat(CommandPolicy.sharedRefusal(PoolFixtures.keyword("replconf"), args().add("listening-port").add(1))
                .command()).isEqualTo("REPLCONF");
        assertThat(CommandPolicy.sharedRefusal(CommandType.GET, args("k"))).isNull();
    }

    @Test
    void leaseEffectsDriveTheReset() {
        assertThat(CommandPolicy.leaseEffect(CommandType.SELECT, args().add(3))).isEqualTo(LeaseEffect.SELECT);
        assertThat(CommandPolicy.leaseEffect(CommandType.WATCH, args("k"))).isEqualTo(LeaseEffect.WATCH);
        assertThat(CommandPolicy.leaseEffect(CommandType.MULTI, null)).isEqualTo(LeaseEffect.OPENS_TRANSACTION);
        assertThat(CommandPolicy.leaseEffect(CommandType.EXEC, null)).isEqualTo(LeaseEffect.ENDS_TRANSACTION);
        assertThat(CommandPolicy.leaseEffect(CommandType.DISCARD, null)).isEqualTo(LeaseEffect.ENDS_TRANSACTION);
        assertThat(CommandPolicy.leaseEffect(CommandType.UNWATCH, null)).isEqualTo(LeaseEffect.CLEARS_WATCH);
        assertThat(CommandPolicy.leaseEffect(CommandType.SUBSCRIBE, args("c"))).isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(CommandType.AUTH, args("x"))).isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(PoolFixtures.keyword("RESET"), null)).isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(CommandType.SYNC, null)).isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(PoolFixtures.keyword("psync"), args().add("?").add(-1)))
                .isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(CommandType.CLIENT, args().add(CommandKeyword.SETNAME).add("x")))
                .isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(CommandType.CLIENT, args().add(CommandKeyword.ID)))
                .isEqualTo(LeaseEffect.NONE);
        assertThat(CommandPolicy.leaseEffect(CommandType.SCRIPT, args().add("DEBUG").add("YES")))
                .isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(PoolFixtures.keyword("SCRIPT"), args().add("DEBUG").add("YES")))
                .isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(CommandType.SCRIPT, args().add("LOAD").add("return 1")))
                .isEqualTo(LeaseEffect.NONE);
        assertThat(CommandPolicy.leaseEffect(CommandType.BLPOP, args("k"))).isEqualTo(LeaseEffect.NONE);
        assertThat(CommandPolicy.leaseEffect(CommandType.GET, args("k"))).isEqualTo(LeaseEffect.NONE);
    }

    private static long blockMillis(ProtocolKeyword type, CommandArgs<String, String> args) {
        return CommandPolicy.blockMillis(new Command<>(type, null, args));
    }

    private static CommandArgs<String, String> args(String... keys) {
        CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8);
        for (String key : keys) {
            args.addKey(key);
        }
        return args;
    }
}
