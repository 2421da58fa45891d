package io.github.affinitypool.redis;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.protocol.RedisCommand;

/**
 * The command timeout of every pooled connection: the pool's {@code commandTimeout}, extended for a blocking command
 * by the time it may block in Redis (BLPOP's timeout, XREAD's BLOCK, WAIT's timeout, ...), and none for a blocking
 * command that may block forever (timeout 0). So a frozen Redis still fails ordinary commands within the command
 * timeout, while {@code BLPOP key 30} is not cut off after 5 s. A blocking command cancelled by its subscriber closes
 * its connection on release (see {@link PooledRedisConnection}).
 */
final class CommandTimeouts extends TimeoutOptions.TimeoutSource {

    private final long commandTimeoutNanos;

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

    @Override
    public long getTimeout(RedisCommand<?, ?, ?> command) {
        if (command == null) {
            return commandTimeoutNanos;
        }
        long blockMillis = CommandPolicy.blockMillis(command);
        if (blockMillis < 0) {
            return commandTimeoutNanos;
        }
        if (blockMillis == 0) {
            return 0; // may block forever: no timeout
        }
        long blockNanos = TimeUnit.MILLISECONDS.toNanos(blockMillis);
        return blockNanos > Long.MAX_VALUE - commandTimeoutNanos ? Long.MAX_VALUE : commandTimeoutNanos + blockNanos;
    }

    @Override
    public TimeUnit getTimeUnit() {
        return TimeUnit.NANOSECONDS;
    }
}
