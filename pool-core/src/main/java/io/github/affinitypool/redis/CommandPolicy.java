package io.github.affinitypool.redis;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.github.affinitypool.redis.RefusedCommandException.Reason;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolKeyword;
import io.lettuce.core.protocol.RedisCommand;

/**
 * The one place that classifies Redis commands for the pool.
 * <ul>
 *     <li>{@linkplain #sharedRefusal which commands the shared {@code commands()} path refuses} (state-changing, push
 *     mode, blocking), with the message naming the API to use instead;</li>
 *     <li>{@linkplain #leaseEffect what a command does to an exclusive connection}, so that a release knows what to
 *     reset without a round trip when nothing needs resetting.</li>
 * </ul>
 * <p>
 * Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN/MAX, BLMPOP, BZMPOP, XREAD/XREADGROUP with BLOCK) are
 * not refused there: {@linkplain #leasedCommandOf they run transparently on an exclusive lease}, and their
 * {@linkplain #blockMillis block time} extends the command timeout. WAIT and WAITAOF stay refused: they count the
 * acknowledgements of the writes of the connection they run on, which on the shared path is not the caller's.
 */
final class CommandPolicy {

    /** Effect of a command on an exclusive connection, as far as the clean-state rules care. */
    enum LeaseEffect {
        /** Nothing to undo. */
        NONE,
        /** SELECT: the database must be selected back. */
        SELECT,
        /** WATCH: keys must be unwatched. */
        WATCH,
        /**
         * UNWATCH: all keys are unwatched once it succeeded. Not before: an error reply leaves them watched.
         */
        CLEARS_WATCH,
        /** MULTI: a transaction is open until EXEC or DISCARD, even when a nested MULTI fails. */
        OPENS_TRANSACTION,
        /**
         * EXEC, DISCARD: the transaction ends, and all keys are unwatched once it succeeded (an EXEC or DISCARD without
         * MULTI is answered with an error and leaves them watched).
         */
        ENDS_TRANSACTION,
        /** Push mode, other credentials, client tracking, RESET, ...: the connection is closed instead of reused. */
        TAINT
    }

    private static final String LEASE = "RedisAffinityPool.withConnection(...) or acquire()";

    private static final String TRANSACTION_API =
            "RedisAffinityPool.transaction(...), or withConnection(...) / acquire()";

    private static final String SUBSCRIBE_API = "RedisAffinityPool.subscribe(...) or psubscribe(...)";

    /** Blocking commands that the shared path runs on an exclusive lease; their timeout is the last argument. */
    private static final Set<String> BLOCKING_TIMEOUT_LAST = Set.of("BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH",
            "BZPOPMIN", "BZPOPMAX");

    /** Blocking commands that the shared path runs on an exclusive lease; their timeout is the first argument. */
    private static final Set<String> BLOCKING_TIMEOUT_FIRST = Set.of("BLMPOP", "BZMPOP");

    /** Reactive-API method name to the blocking command it sends, for the methods run on an exclusive lease. */
    private static final Map<String, String> LEASED_METHODS = new HashMap<>();

    /** Command name to the reason it is refused on the shared path. */
    private static final Map<String, Reason> SHARED_REFUSED = new HashMap<>();

    /**
     * Per command, the sub-commands that change the state of the connection: CLIENT TRACKING and the like, and
     * SCRIPT DEBUG, which hands the connection's next EVAL to Redis's Lua debugger (every later reply would be its).
     */
    private static final Map<String, Set<String>> STATEFUL_SUBCOMMANDS = Map.of(
            "CLIENT", Set.of("TRACKING", "REPLY", "CACHING", "SETNAME", "SETINFO", "NO-EVICT", "NO-TOUCH"),
            "SCRIPT", Set.of("DEBUG"));

    /** Command names whose effect on a lease is not {@link LeaseEffect#NONE}. */
    private static final Map<String, LeaseEffect> LEASE_EFFECTS = new HashMap<>();

    private static final Map<CommandType, LeaseEffect> LEASE_EFFECTS_BY_TYPE = new EnumMap<>(CommandType.class);

    /**
     * Command types that may block in Redis (the blocking pops, XREAD/XREADGROUP, WAIT, WAITAOF when Lettuce has it).
     */
    private static final Set<CommandType> BLOCKING_TYPES = EnumSet.noneOf(CommandType.class);

    /** Reactive-API method name to the command it sends, for the methods refused whatever their arguments. */
    private static final Map<String, String> REFUSED_METHODS = new HashMap<>();

    static {
        for (String name : new String[] { "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH" }) {
            SHARED_REFUSED.put(name, Reason.TRANSACTION);
        }
        for (String name : new String[] { "SELECT", "SWAPDB", "AUTH", "HELLO", "RESET", "QUIT", "READONLY",
                "READWRITE" }) {
            SHARED_REFUSED.put(name, Reason.CONNECTION_STATE);
        }
        for (String name : new String[] { "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE",
                "SUNSUBSCRIBE", "MONITOR", "SYNC", "PSYNC", "REPLCONF" }) {
            SHARED_REFUSED.put(name, Reason.PUSH_MODE);
        }
        for (String name : new String[] { "WAIT", "WAITAOF" }) {
            SHARED_REFUSED.put(name, Reason.BLOCKING);
        }

        LEASE_EFFECTS.put("SELECT", LeaseEffect.SELECT);
        LEASE_EFFECTS.put("WATCH", LeaseEffect.WATCH);
        LEASE_EFFECTS.put("UNWATCH", LeaseEffect.CLEARS_WATCH);
        LEASE_EFFECTS.put("MULTI", LeaseEffect.OPENS_TRANSACTION);
        LEASE_EFFECTS.put("EXEC", LeaseEffect.ENDS_TRANSACTION);
        LEASE_EFFECTS.put("DISCARD", LeaseEffect.ENDS_TRANSACTION);
        for (String name : new String[] { "AUTH", "HELLO", "RESET", "QUIT", "READONLY", "READWRITE", "SUBSCRIBE",
                "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR", "SYNC", "PSYNC", "REPLCONF" }) {
            LEASE_EFFECTS.put(name, LeaseEffect.TAINT);
        }
        for (CommandType type : CommandType.values()) {
            LeaseEffect effect = LEASE_EFFECTS.get(type.name());
            if (effect != null) {
                LEASE_EFFECTS_BY_TYPE.put(type, effect);
            }
            String name = type.name();
            if (BLOCKING_TIMEOUT_LAST.contains(name) || BLOCKING_TIMEOUT_FIRST.contains(name) || "XREAD".equals(name)
                    || "XREADGROUP".equals(name) || "WAIT".equals(name) || "WAITAOF".equals(name)) {
                BLOCKING_TYPES.add(type);
            }
        }

        String[][] methods = { { "multi", "MULTI" }, { "exec", "EXEC" }, { "discard", "DISCARD" }, { "watch", "WATCH" },
                { "unwatch", "UNWATCH" }, { "select", "SELECT" }, { "swapdb", "SWAPDB" }, { "auth", "AUTH" },
                { "quit", "QUIT" }, { "readOnly", "READONLY" }, { "readWrite", "READWRITE" },
                { "clientTracking", "CLIENT TRACKING" }, { "clientCaching", "CLIENT CACHING" },
                { "clientSetname", "CLIENT SETNAME" }, { "clientSetinfo", "CLIENT SETINFO" },
                { "clientNoEvict", "CLIENT NO-EVICT" },
                { "waitForReplication", "WAIT" } };
        for (String[] method : methods) {
            REFUSED_METHODS.put(method[0], method[1]);
        }
        String[][] leased = { { "blpop", "BLPOP" }, { "brpop", "BRPOP" }, { "blmove", "BLMOVE" },
                { "brpoplpush", "BRPOPLPUSH" }, { "bzpopmin", "BZPOPMIN" }, { "bzpopmax", "BZPOPMAX" },
                { "blmpop", "BLMPOP" }, { "bzmpop", "BZMPOP" } };
        for (String[] method : leased) {
            LEASED_METHODS.put(method[0], method[1]);
        }
    }

    private CommandPolicy() {
    }

    /**
     * @param command a command name, upper case, sub-command included for CLIENT and SCRIPT (for example
     *        {@code CLIENT TRACKING})
     * @return the refusal for the shared path, or {@code null} when the command may run there
     */
    static RefusedCommandException sharedRefusal(String command) {
        Reason reason = SHARED_REFUSED.get(command);
        if (reason == null && isStatefulSubcommand(command)) {
            reason = Reason.CONNECTION_STATE;
        }
        return reason == null ? null : refusal(command, reason);
    }

    /** @return whether {@code command} ("CLIENT TRACKING", "SCRIPT DEBUG") is a sub-command that changes state */
    private static boolean isStatefulSubcommand(String command) {
        int space = command.indexOf(' ');
        return space > 0 && STATEFUL_SUBCOMMANDS.getOrDefault(command.substring(0, space), Set.of())
                .contains(command.substring(space + 1));
    }

    /**
     * Refusal of a command sent through {@code dispatch(type, output, args)} on the shared path.
     *
     * @param type the command keyword
     * @param args its arguments, may be {@code null}
     * @return the refusal, or {@code null} when the command may run on the shared path (on a shared connection, or on
     *         an exclusive lease when {@link #runsOnLease(ProtocolKeyword, CommandArgs)})
     */
    static RefusedCommandException sharedRefusal(ProtocolKeyword type, CommandArgs<?, ?> args) {
        String name = name(type);
        if (STATEFUL_SUBCOMMANDS.containsKey(name)) {
            String sub = firstArgument(args);
            return sub == null ? null : sharedRefusal(name + " " + sub);
        }
        return sharedRefusal(name);
    }

    /**
     * @param type the keyword of a command sent through {@code dispatch(type, output, args)} on the shared path
     * @param args its arguments, may be {@code null}
     * @return whether it blocks, and therefore runs on an exclusive lease instead of a shared connection
     */
    static boolean runsOnLease(ProtocolKeyword type, CommandArgs<?, ?> args) {
        String name = name(type);
        if (BLOCKING_TIMEOUT_LAST.contains(name) || BLOCKING_TIMEOUT_FIRST.contains(name)) {
            return true;
        }
        return ("XREAD".equals(name) || "XREADGROUP".equals(name)) && args != null && blockArgument(args) >= 0;
    }

    /**
     * The blocking command a reactive-API method sends, which the shared path runs on an exclusive lease.
     *
     * @param method a method of {@code RedisReactiveCommands}
     * @return the command name, or {@code null} when the method is not one of the blocking pops
     */
    static String leasedCommandOf(Method method) {
        return LEASED_METHODS.get(method.getName());
    }

    /**
     * The command a reactive-API method sends when it is refused whatever its arguments.
     *
     * @param method a method of {@code RedisReactiveCommands}
     * @return the command name, or {@code null} when the method is allowed or depends on its arguments
     */
    static String refusedCommandOf(Method method) {
        return REFUSED_METHODS.get(method.getName());
    }

    /**
     * @param method a method of {@code RedisReactiveCommands}
     * @return whether refusing the method depends on an {@link XReadArgs} argument ({@code BLOCK})
     */
    static boolean dependsOnBlockArgument(Method method) {
        if (!method.getName().equals("xread") && !method.getName().equals("xreadgroup")) {
            return false;
        }
        for (Class<?> parameter : method.getParameterTypes()) {
            if (parameter == XReadArgs.class) {
                return true;
            }
        }
        return false;
    }

    /**
     * @param args the arguments of a call of {@code xread} or {@code xreadgroup}
     * @return whether its {@link XReadArgs} ask for {@code BLOCK}, so that it runs on an exclusive lease
     */
    static boolean blocks(Object[] args) {
        for (Object arg : args) {
            if (arg instanceof XReadArgs) {
                CommandArgs<String, String> built = new CommandArgs<>(StringCodec.UTF8);
                ((XReadArgs) arg).build(built);
                if (blockArgument(built) >= 0) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * How long a command may block in Redis before it answers, so that its timeout can be extended by that much.
     * Cheap for every other command: one look-up of its type.
     *
     * @param command a command about to be written
     * @return {@code -1} when it does not block, {@code 0} when it may block forever, else the block time in
     *         milliseconds
     */
    static long blockMillis(RedisCommand<?, ?, ?> command) {
        ProtocolKeyword type = command.getType();
        String name;
        if (type instanceof CommandType) {
            if (!BLOCKING_TYPES.contains(type)) {
                return -1;
            }
            name = ((CommandType) type).name();
        }
        else {
            name = name(type);
        }
        CommandArgs<?, ?> args = command.getArgs();
        if (args == null) {
            return -1;
        }
        try {
            if (BLOCKING_TIMEOUT_LAST.contains(name)) {
                return secondsToMillis(lastArgument(args));
            }
            if (BLOCKING_TIMEOUT_FIRST.contains(name)) {
                return secondsToMillis(firstArgument(args));
            }
            if ("XREAD".equals(name) || "XREADGROUP".equals(name)) {
                return blockArgument(args);
            }
            if ("WAIT".equals(name) || "WAITAOF".equals(name)) {
                return Math.max(0, Long.parseLong(lastArgument(args)));
            }
        }
        catch (RuntimeException unparsable) {
            return -1;
        }
        return -1;
    }

    private static long secondsToMillis(String seconds) {
        double value = Double.parseDouble(seconds);
        return value <= 0 ? 0 : Math.max(1, (long) Math.ceil(value * 1000));
    }

    /**
     * @return the milliseconds after {@code BLOCK} in XREAD/XREADGROUP arguments, or {@code -1} without BLOCK; only the
     *         options before {@code STREAMS} count, as the keys and IDs after it may be spelled "BLOCK" too, and the
     *         group and consumer names after {@code GROUP} are skipped for the same reason
     */
    private static long blockArgument(CommandArgs<?, ?> args) {
        List<String> arguments = EncodedArguments.of(args);
        for (int i = 0; i < arguments.size() - 1 && !"STREAMS".equalsIgnoreCase(arguments.get(i)); i++) {
            String option = arguments.get(i);
            if ("GROUP".equalsIgnoreCase(option)) {
                i += 2;
            }
            else if ("BLOCK".equalsIgnoreCase(option)) {
                try {
                    return Math.max(0, Long.parseLong(arguments.get(i + 1)));
                }
                catch (NumberFormatException notANumber) {
                    // Redis refuses it with an error reply; as a command that does not block, the caller gets it.
                    return -1;
                }
            }
        }
        return -1;
    }

    /**
     * Refusal of a connection-level control method of the shared commands.
     *
     * @param method {@code setTimeout} or {@code getStatefulConnection}
     * @return the refusal
     */
    static RefusedCommandException controlRefusal(String method) {
        String advice;
        switch (method) {
            case "setTimeout":
                advice = "the command timeout is set once with RedisAffinityPool.builder(..).commandTimeout(..)";
                break;
            default:
                advice = "commands() is routed over several connections (whose flushes are coalesced per loop tick); "
                        + "use acquire() for a connection of your own, to pipeline or set auto-flush";
                break;
        }
        return new RefusedCommandException(method, Reason.CONNECTION_CONTROL,
                method + " is not available on the shared commands(): " + advice);
    }

    /**
     * @param type the keyword of a command dispatched on an exclusive connection
     * @param args its arguments, may be {@code null}
     * @return what the release has to undo
     */
    static LeaseEffect leaseEffect(ProtocolKeyword type, CommandArgs<?, ?> args) {
        if (type instanceof CommandType) {
            if (type == CommandType.CLIENT || type == CommandType.SCRIPT) {
                return subcommandEffect(((CommandType) type).name(), args);
            }
            LeaseEffect effect = LEASE_EFFECTS_BY_TYPE.get(type);
            return effect == null ? LeaseEffect.NONE : effect;
        }
        String name = name(type);
        if (STATEFUL_SUBCOMMANDS.containsKey(name)) {
            return subcommandEffect(name, args);
        }
        if ("MULTI".equals(name) && !"MULTI".equals(type.toString())) {
            // Lettuce's isMulti(), which tells the release to DISCARD, only notices a keyword whose toString() is
            // exactly "MULTI"; a transaction the release cannot see must not reach the next borrower.
            return LeaseEffect.TAINT;
        }
        LeaseEffect effect = LEASE_EFFECTS.get(name);
        return effect == null ? LeaseEffect.NONE : effect;
    }

    private static LeaseEffect subcommandEffect(String name, CommandArgs<?, ?> args) {
        String sub = firstArgument(args);
        return sub != null && STATEFUL_SUBCOMMANDS.get(name).contains(sub) ? LeaseEffect.TAINT : LeaseEffect.NONE;
    }

    private static RefusedCommandException refusal(String command, Reason reason) {
        String what;
        switch (reason) {
            case TRANSACTION:
                what = " needs a connection of its own for the transaction";
                break;
            case PUSH_MODE:
                what = " would switch a connection shared by other callers to push mode";
                break;
            case BLOCKING:
                what = " counts the replicas that acknowledged the writes of the connection it runs on, and commands()"
                        + " sends your writes over shared connections";
                break;
            default:
                what = " would change the state of a connection shared by other callers"
                        + " (put the database, credentials and client name in the Redis URI)";
                break;
        }
        return new RefusedCommandException(command, reason, command + " is not available on the shared commands(): it"
                + what + "; use " + alternative(command, reason));
    }

    /** @return the API that does what the refused command was meant for */
    private static String alternative(String command, Reason reason) {
        if (reason == Reason.TRANSACTION) {
            return TRANSACTION_API;
        }
        if (reason == Reason.PUSH_MODE && command.endsWith("SUBSCRIBE")) {
            return SUBSCRIBE_API;
        }
        return LEASE;
    }

    static String name(ProtocolKeyword type) {
        if (type instanceof CommandType) {
            return ((CommandType) type).name();
        }
        return new String(type.getBytes(), StandardCharsets.US_ASCII).toUpperCase(Locale.ROOT);
    }

    private static String lastArgument(CommandArgs<?, ?> args) {
        return EncodedArguments.last(args);
    }

    /** @return the first argument, upper case (a sub-command), or {@code null} when there are none */
    private static String firstArgument(CommandArgs<?, ?> args) {
        String first = EncodedArguments.first(args);
        return first == null ? null : first.toUpperCase(Locale.ROOT);
    }
}
