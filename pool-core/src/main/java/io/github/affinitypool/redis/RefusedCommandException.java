package io.github.affinitypool.redis;

/**
 * A command that {@link RedisAffinityPool#commands()} does not run, because it would change the state of a connection
 * that other callers share, or block it. The message names the API to use instead.
 * <p>
 * Signalled as the error of the returned {@code Mono}/{@code Flux} (thrown directly only by the two methods that do
 * not return a publisher, {@code setTimeout} and {@code getStatefulConnection}).
 */
public class RefusedCommandException extends UnsupportedOperationException {

    private static final long serialVersionUID = 1L;

    /** Why a command is refused on the shared path. */
    public enum Reason {
        /** MULTI/EXEC/DISCARD/WATCH/UNWATCH: a transaction needs a connection of its own. */
        TRANSACTION,
        /** SELECT, SWAPDB, AUTH, HELLO, RESET, QUIT, CLIENT TRACKING/REPLY/SETNAME, ...: would change shared state. */
        CONNECTION_STATE,
        /** SUBSCRIBE family, MONITOR, SYNC/PSYNC/REPLCONF: the connection would switch to push mode. */
        PUSH_MODE,
        /**
         * WAIT, WAITAOF: they count the acknowledgements of the writes of the connection they run on, which on the
         * shared path are not the caller's. (Blocking pops and XREAD ... BLOCK are not refused: they run on a lease.)
         */
        BLOCKING,
        /** setTimeout, getStatefulConnection: connection-level controls, thrown rather than signalled. */
        CONNECTION_CONTROL
    }

    private final String command;

    private final Reason reason;

    /**
     * @param command the refused command (for example {@code BLPOP}) or method name
     * @param reason why it is refused
     * @param message the full message, naming the API to use instead
     */
    public RefusedCommandException(String command, Reason reason, String message) {
        super(message);
        this.command = command;
        this.reason = reason;
    }

    /** @return the refused command, for example {@code BLPOP}, or the method name for connection controls */
    public String command() {
        return command;
    }

    /** @return why the command is refused */
    public Reason reason() {
        return reason;
    }
}
