package io.github.affinitypool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.time.Duration;

import io.github.affinitypool.redis.CommandPolicy.LeaseEffect;
import io.github.affinitypool.redis.RefusedCommandException.Reason;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandKeyword;
import io.lettuce.core.protocol.CommandType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CommandPolicyTest {

    @ParameterizedTest
    @CsvSource({ "MULTI,TRANSACTION", "EXEC,TRANSACTION", "DISCARD,TRANSACTION", "WATCH,TRANSACTION",
            "UNWATCH,TRANSACTION", "SELECT,CONNECTION_STATE", "SWAPDB,CONNECTION_STATE", "AUTH,CONNECTION_STATE",
            "HELLO,CONNECTION_STATE", "RESET,CONNECTION_STATE", "QUIT,CONNECTION_STATE",
            "CLIENT TRACKING,CONNECTION_STATE", "CLIENT REPLY,CONNECTION_STATE", "SUBSCRIBE,PUSH_MODE",
            "PSUBSCRIBE,PUSH_MODE", "SSUBSCRIBE,PUSH_MODE", "MONITOR,PUSH_MODE", "BLPOP,BLOCKING", "BRPOP,BLOCKING",
            "BLMOVE,BLOCKING", "BRPOPLPUSH,BLOCKING", "BZPOPMIN,BLOCKING", "BZPOPMAX,BLOCKING", "BLMPOP,BLOCKING",
            "BZMPOP,BLOCKING", "WAIT,BLOCKING", "WAITAOF,BLOCKING" })
    void refusesStateChangingAndBlockingCommandsOnTheSharedPath(String command, Reason reason) {
        RefusedCommandException refusal = CommandPolicy.sharedRefusal(command);

        assertThat(refusal).isNotNull();
        assertThat(refusal.command()).isEqualTo(command);
        assertThat(refusal.reason()).isEqualTo(reason);
        assertThat(refusal).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith(command + " is not available on the shared commands(): it ")
                .hasMessageEndingWith("; use RedisAffinityPool.withConnection(...) or acquire()");
    }

    @Test
    void blockingRefusalNamesWithConnection() {
        assertThat(CommandPolicy.sharedRefusal("BLPOP")).hasMessage("BLPOP is not available on the shared commands(): it "
                + "blocks the connection it runs on, and with it every caller sharing it; use "
                + "RedisAffinityPool.withConnection(...) or acquire()");
    }

    @Test
    void plainCommandsAreAllowed() {
        for (String command : new String[] { "GET", "SET", "HGETALL", "EVALSHA", "PUBLISH", "XREAD", "CLIENT LIST",
                "CLIENT ID", "PING", "INFO" }) {
            assertThat(CommandPolicy.sharedRefusal(command)).as(command).isNull();
        }
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
        assertThat(refused).isGreaterThanOrEqualTo(24);
    }

    @Test
    void xreadIsRefusedOnlyWithBlock() throws Exception {
        Method xread = RedisReactiveCommands.class.getMethod("xread", XReadArgs.class, XReadArgs.StreamOffset[].class);
        assertThat(CommandPolicy.dependsOnBlockArgument(xread)).isTrue();

        RefusedCommandException blocking = CommandPolicy.blockRefusal(xread,
                new Object[] { XReadArgs.Builder.block(Duration.ofSeconds(1)), new XReadArgs.StreamOffset[0] });
        assertThat(blocking).isNotNull();
        assertThat(blocking.command()).isEqualTo("XREAD BLOCK");
        assertThat(blocking.reason()).isEqualTo(Reason.BLOCKING);
        assertThat(CommandPolicy.blockRefusal(xread, new Object[] { XReadArgs.Builder.count(10), new XReadArgs.StreamOffset[0] }))
                .isNull();
    }

    @Test
    void dispatchedCommandsAreClassifiedByKeywordAndSubCommand() {
        assertThat(CommandPolicy.sharedRefusal(CommandType.SUBSCRIBE, args("channel")).reason()).isEqualTo(Reason.PUSH_MODE);
        assertThat(CommandPolicy.sharedRefusal(PoolFixtures.keyword("reset"), null).command()).isEqualTo("RESET");
        assertThat(CommandPolicy.sharedRefusal(CommandType.CLIENT, args().add(CommandKeyword.TRACKING).add("ON")).command())
                .isEqualTo("CLIENT TRACKING");
        assertThat(CommandPolicy.sharedRefusal(CommandType.CLIENT, args().add(CommandKeyword.LIST))).isNull();
        assertThat(CommandPolicy.sharedRefusal(CommandType.XREAD, args().add("BLOCK").add(100).add("STREAMS").add("s").add("$"))
                .command()).isEqualTo("XREAD BLOCK");
        assertThat(CommandPolicy.sharedRefusal(CommandType.XREAD, args().add("STREAMS").add("s").add("$"))).isNull();
        assertThat(CommandPolicy.sharedRefusal(CommandType.GET, args("k"))).isNull();
    }

    @Test
    void leaseEffectsDriveTheReset() {
        assertThat(CommandPolicy.leaseEffect(CommandType.SELECT, args().add(3))).isEqualTo(LeaseEffect.SELECT);
        assertThat(CommandPolicy.leaseEffect(CommandType.WATCH, args("k"))).isEqualTo(LeaseEffect.WATCH);
        assertThat(CommandPolicy.leaseEffect(CommandType.EXEC, null)).isEqualTo(LeaseEffect.CLEARS_WATCH);
        assertThat(CommandPolicy.leaseEffect(CommandType.DISCARD, null)).isEqualTo(LeaseEffect.CLEARS_WATCH);
        assertThat(CommandPolicy.leaseEffect(CommandType.UNWATCH, null)).isEqualTo(LeaseEffect.CLEARS_WATCH);
        assertThat(CommandPolicy.leaseEffect(CommandType.SUBSCRIBE, args("c"))).isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(CommandType.AUTH, args("x"))).isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(PoolFixtures.keyword("RESET"), null)).isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(CommandType.CLIENT, args().add(CommandKeyword.SETNAME).add("x")))
                .isEqualTo(LeaseEffect.TAINT);
        assertThat(CommandPolicy.leaseEffect(CommandType.CLIENT, args().add(CommandKeyword.ID))).isEqualTo(LeaseEffect.NONE);
        assertThat(CommandPolicy.leaseEffect(CommandType.BLPOP, args("k"))).isEqualTo(LeaseEffect.NONE);
        assertThat(CommandPolicy.leaseEffect(CommandType.GET, args("k"))).isEqualTo(LeaseEffect.NONE);
    }

    private static CommandArgs<String, String> args(String... keys) {
        CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8);
        for (String key : keys) {
            args.addKey(key);
        }
        return args;
    }
}
