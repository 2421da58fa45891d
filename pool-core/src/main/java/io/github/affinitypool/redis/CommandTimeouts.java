package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.protocol.DecoratedCommand;
import io.lettuce.core.protocol.RedisCommand;

/**
 * The command timeout of every pooled connection: the pool's {@code commandTimeout}, or on a lease the timeout its
 * borrower set with {@code setTimeout}, extended for a blocking command by the time it may block in Redis (BLPOP's
 * timeout, XREAD's BLOCK, WAIT's timeout, ...), and none for a blocking command that may block forever (timeout 0). So
 * a frozen Redis still fails ordinary commands within the command timeout, while {@code BLPOP key 30} is not cut off
 * after 5 s. A blocking command cancelled by its subscriber closes its connection on release (see
 * {@link PooledRedisConnection}).
 * <p>
 * A timeout source replaces the connection's own timeout: with one, Lettuce's {@code CommandExpiryWriter} ignores
 * {@code StatefulConnection.setTimeout}. So a lease's timeout reaches the commands here, through the
 * {@link LeaseCommand} each of its commands is wrapped in.
 */
final class CommandTimeouts extends TimeoutOptions.TimeoutSource {

    /** {@link LeaseCommand#leaseTimeoutNanos()} of a command whose lease did not change its timeout. */
    static final long NO_LEASE_TIMEOUT = -1;

    private final long commandTimeoutNanos;

    /**
     * Whether a lease of the pool has changed its timeout. Until one does, no command can carry a timeout of its own,
     * and a command's timeout costs this one read instead of a look through its wrappers. Never reset: a lease's
     * timeout ends with its release or with its connection, and counting those is not worth the bookkeeping.
     */
    private volatile boolean leaseTimeouts;

    private CommandTimeouts(Duration commandTimeout) {
        this.commandTimeoutNanos = commandTimeout.toNanos();
    }

    /**
     * @param commandTimeout the timeout of a non-blocking command
     * @return timeout options applying it, extended for blocking commands
     */
    static TimeoutOptions options(Duration commandTimeout) {
        return TimeoutOptions.builder().timeoutCommands().timeoutSource(new CommandTimeouts(commandTimeout)).build();
    }

    /**
     * Called by a lease before its commands carry a timeout of their own: from now on every command of the pool is
     * looked at for one.
     */
    void leaseTimeoutChanged() {
        if (!leaseTimeouts) {
            leaseTimeouts = true;
        }
    }

    /**
     * Called by Lettuce on the thread that dispatches the command, as it is written (for a lease, while the
     * {@link PooledRedisConnection} dispatches it): that is when the lease's timeout is read.
     */
    @Override
    public long getTimeout(RedisCommand<?, ?, ?> command) {
        if (command == null) {
            return commandTimeoutNanos;
        }
        long timeoutNanos = leaseTimeouts ? leaseTimeoutNanos(command) : NO_LEASE_TIMEOUT;
        if (timeoutNanos == NO_LEASE_TIMEOUT) {
            timeoutNanos = commandTimeoutNanos;
        }
        else if (timeoutNanos == 0) {
            return 0; // setTimeout(Duration.ZERO): no timeout, as Lettuce's own connection timeout means it
        }
        long blockMillis = CommandPolicy.blockMillis(command);
        if (blockMillis < 0) {
            return timeoutNanos;
        }
        if (blockMillis == 0) {
            return 0; // may block forever: no timeout
        }
        long blockNanos = TimeUnit.MILLISECONDS.toNanos(blockMillis);
        return blockNanos > Long.MAX_VALUE - timeoutNanos ? Long.MAX_VALUE : timeoutNanos + blockNanos;
    }

    /**
     * The lease's command may be wrapped by Lettuce after the lease dispatched it: in a transaction (a queued command,
     * which times out only with EXEC's reply), for tracing, or for command listeners.
     *
     * @return the timeout of the lease that dispatched the command, or {@link #NO_LEASE_TIMEOUT}
     */
    private static long leaseTimeoutNanos(RedisCommand<?, ?, ?> command) {
        RedisCommand<?, ?, ?> current = command;
        while (true) {
            if (current instanceof LeaseCommand) {
                return ((LeaseCommand) current).leaseTimeoutNanos();
            }
            if (!(current instanceof DecoratedCommand)) {
                return NO_LEASE_TIMEOUT;
            }
            current = ((DecoratedCommand<?, ?, ?>) current).getDelegate();
        }
    }

    @Override
    public TimeUnit getTimeUnit() {
        return TimeUnit.NANOSECONDS;
    }

    /** A command dispatched on a lease, which knows the timeout the lease set. */
    interface LeaseCommand {

        /** @return the timeout the lease set, in nanoseconds (0: none), or {@link #NO_LEASE_TIMEOUT} */
        long leaseTimeoutNanos();
    }
}
