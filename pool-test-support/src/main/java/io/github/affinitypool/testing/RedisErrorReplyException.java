package io.github.affinitypool.testing;

/**
 * An error reply ({@code -ERR ...}, {@code -NOPERM ...}, {@code -NOAUTH ...}) received by a
 * {@link RawRedisConnection}. The connection stays usable: an error reply is a complete reply.
 */
public final class RedisErrorReplyException extends RuntimeException {

    /** Serialisation version. */
    private static final long serialVersionUID = 1L;

    /** The error text without the leading {@code -}. */
    private final String reply;

    /**
     * @param reply the error text as the server sent it, without the leading {@code -}
     */
    public RedisErrorReplyException(String reply) {
        super(reply);
        this.reply = reply;
    }

    /**
     * @return the error text as the server sent it, without the leading {@code -}, e.g.
     *         {@code NOPERM User app has no permissions to run the 'flushall' command}
     */
    public String reply() {
        return reply;
    }

    /**
     * @return the error code: the first word of the reply, e.g. {@code ERR}, {@code NOPERM}, {@code NOAUTH},
     *         {@code WRONGPASS}
     */
    public String code() {
        int space = reply.indexOf(' ');
        return space < 0 ? reply : reply.substring(0, space);
    }
}
