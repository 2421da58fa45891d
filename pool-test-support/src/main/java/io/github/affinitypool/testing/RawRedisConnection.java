package io.github.affinitypool.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A deliberately tiny, blocking Redis client over a plain socket: one command, one reply. Tests use it to look
 * at a server from outside the code under test ({@code CLIENT LIST}, {@code INFO}, {@code CONFIG SET},
 * {@code DEBUG SLEEP}, ...), so it shares nothing with Lettuce.
 *
 * <p>Arguments are sent as a RESP array of bulk strings (UTF-8), so values with spaces, quotes or CRLF are
 * safe. {@link #call(String...)} returns the reply decoded into Java values:
 * <ul>
 *   <li>simple string ({@code +OK}) and bulk string ({@code $3 foo}): {@link String};</li>
 *   <li>integer ({@code :1}): {@link Long};</li>
 *   <li>null bulk string / null array ({@code $-1}, {@code *-1}): {@code null};</li>
 *   <li>array ({@code *2 ...}): {@link List} of the above (an error inside an array, as {@code EXEC} may return,
 *       is a {@link RedisErrorReplyException} element, not thrown);</li>
 *   <li>RESP3 types, should a test switch with {@code HELLO 3}: null, boolean ({@link Boolean}), double and
 *       verbatim string ({@link String}), big number ({@link BigInteger}), map ({@link Map}), set and push
 *       ({@link List}); attributes are skipped.</li>
 * </ul>
 * A top-level error reply is thrown as {@link RedisErrorReplyException}; the connection stays usable.
 * I/O failures (refused connection, read timeout, server gone) are thrown as {@link UncheckedIOException} whose
 * cause is the original exception (e.g. {@link java.net.ConnectException}, {@link SocketTimeoutException}).
 * After an I/O failure the connection is closed: a late reply would otherwise be read as the answer to the next
 * command.
 *
 * <p>Not thread-safe: one connection per thread.
 */
public final class RawRedisConnection implements AutoCloseable {

    private static final byte[] CRLF = {'\r', '\n'};

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String address;

    private RawRedisConnection(Socket socket, String address) throws IOException {
        this.socket = socket;
        this.address = address;
        this.in = new BufferedInputStream(socket.getInputStream());
        this.out = new BufferedOutputStream(socket.getOutputStream());
    }

    /**
     * Opens an unauthenticated connection.
     *
     * @param host    host name or address
     * @param port    TCP port
     * @param timeout used both as connect timeout and as read timeout for every reply
     * @return the open connection
     * @throws UncheckedIOException if the connection cannot be made (cause: {@link java.net.ConnectException}
     *                              when nothing listens)
     */
    public static RawRedisConnection open(String host, int port, Duration timeout) {
        int millis = toMillis(timeout);
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(millis);
            socket.connect(new InetSocketAddress(host, port), millis);
            return new RawRedisConnection(socket, host + ":" + port);
        } catch (IOException e) {
            closeQuietly(socket);
            throw new UncheckedIOException("cannot connect to Redis at " + host + ":" + port + ": " + e, e);
        }
    }

    /**
     * Changes the read timeout for the following replies (e.g. shorter, to see that a paused server does not
     * answer).
     *
     * @param timeout the new read timeout, more than zero
     * @return this connection
     */
    public RawRedisConnection timeout(Duration timeout) {
        try {
            socket.setSoTimeout(toMillis(timeout));
        } catch (IOException e) {
            throw failure("cannot set the timeout", e);
        }
        return this;
    }

    /**
     * Sends {@code AUTH password} (the {@code default} user).
     *
     * @param password the password
     * @return this connection
     * @throws RedisErrorReplyException if the server refuses it
     */
    public RawRedisConnection auth(String password) {
        call("AUTH", password);
        return this;
    }

    /**
     * Sends {@code AUTH user password} (an ACL user).
     *
     * @param user     the ACL user name
     * @param password its password
     * @return this connection
     * @throws RedisErrorReplyException if the server refuses it
     */
    public RawRedisConnection auth(String user, String password) {
        call("AUTH", user, password);
        return this;
    }

    /**
     * Sends one command and reads its reply, decoded as described in the class comment.
     *
     * @param args the command and its arguments, e.g. {@code "CONFIG", "GET", "save"}
     * @return the decoded reply
     * @throws RedisErrorReplyException for an error reply
     * @throws UncheckedIOException     for an I/O failure or a read timeout (the connection is then closed)
     */
    public Object call(String... args) {
        write(args);
        return read();
    }

    /**
     * Sends one command and returns its reply as text: a string as is, an integer in decimal, {@code null} for a
     * null reply, and an array as its elements' text, one per line ({@code (nil)} for a null element).
     *
     * @param args the command and its arguments, e.g. {@code "CLIENT", "LIST"}
     * @return the reply as text
     * @throws RedisErrorReplyException for an error reply
     * @throws UncheckedIOException     for an I/O failure or a read timeout (the connection is then closed)
     */
    public String command(String... args) {
        return toText(call(args));
    }

    /**
     * Sends one command without reading its reply; read it later with {@link #read()}. For pipelining or for
     * commands whose replies keep coming ({@code SUBSCRIBE}, {@code MONITOR}).
     *
     * @param args the command and its arguments
     * @throws UncheckedIOException for an I/O failure (the connection is then closed)
     */
    public void write(String... args) {
        if (args.length == 0) {
            throw new IllegalArgumentException("a command needs at least its name");
        }
        ensureOpen();
        try {
            out.write(('*' + Integer.toString(args.length)).getBytes(StandardCharsets.US_ASCII));
            out.write(CRLF);
            for (String arg : args) {
                byte[] bytes = Objects.requireNonNull(arg, "a command argument is null")
                        .getBytes(StandardCharsets.UTF_8);
                out.write(('$' + Integer.toString(bytes.length)).getBytes(StandardCharsets.US_ASCII));
                out.write(CRLF);
                out.write(bytes);
                out.write(CRLF);
            }
            out.flush();
        } catch (IOException e) {
            throw failure("cannot send " + args[0], e);
        }
    }

    /**
     * Reads the next reply, decoded as described in the class comment.
     *
     * @return the decoded reply
     * @throws RedisErrorReplyException for an error reply
     * @throws UncheckedIOException     for an I/O failure or a read timeout (the connection is then closed)
     */
    public Object read() {
        ensureOpen();
        Object reply;
        try {
            reply = readReply();
        } catch (IOException e) {
            throw failure(e instanceof SocketTimeoutException ? "no reply in time" : "cannot read the reply", e);
        }
        if (reply instanceof RedisErrorReplyException) {
            throw (RedisErrorReplyException) reply;
        }
        return reply;
    }

    /**
     * @return whether this connection can still be used (not closed, no I/O failure)
     */
    public boolean isOpen() {
        return !socket.isClosed();
    }

    /** Closes the socket. Idempotent. */
    @Override
    public void close() {
        closeQuietly(socket);
    }

    @Override
    public String toString() {
        return "RawRedisConnection[" + address + (isOpen() ? "" : ", closed") + "]";
    }

    /**
     * Renders a decoded reply as text the way {@link #command(String...)} does.
     *
     * @param reply a value returned by {@link #call(String...)} or {@link #read()}
     * @return its text, or {@code null} for a null reply
     */
    public static String toText(Object reply) {
        if (reply == null) {
            return null;
        }
        if (reply instanceof List) {
            return ((List<?>) reply).stream().map(RawRedisConnection::elementText).collect(Collectors.joining("\n"));
        }
        if (reply instanceof Map) {
            return ((Map<?, ?>) reply).entrySet().stream()
                    .map(e -> elementText(e.getKey()) + "\n" + elementText(e.getValue()))
                    .collect(Collectors.joining("\n"));
        }
        if (reply instanceof RedisErrorReplyException) {
            return "-" + ((RedisErrorReplyException) reply).reply();
        }
        return reply.toString();
    }

    private static String elementText(Object element) {
        return element == null ? "(nil)" : toText(element);
    }

    /**
     * Sends a PING and returns the first line of the reply (e.g. {@code +PONG}, {@code -NOAUTH ...}), or
     * {@code null} when nothing answers: a cheap readiness probe that needs no credentials.
     */
    static String probe(String host, int port, Duration timeout) {
        try (RawRedisConnection connection = open(host, port, timeout)) {
            connection.out.write("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
            connection.out.flush();
            return connection.readLine();
        } catch (IOException | UncheckedIOException e) {
            return null;
        }
    }

    private Object readReply() throws IOException {
        String line = readLine();
        if (line.isEmpty()) {
            throw new IOException("empty reply line from " + address);
        }
        char type = line.charAt(0);
        String rest = line.substring(1);
        switch (type) {
            case '+':
                return rest;
            case '-':
                return new RedisErrorReplyException(rest);
            case ':':
                return Long.parseLong(rest);
            case '$':
            case '=':
            case '!': {
                byte[] bytes = readBulk(Integer.parseInt(rest));
                if (bytes == null) {
                    return null;
                }
                String text = new String(bytes, StandardCharsets.UTF_8);
                if (type == '!') {
                    return new RedisErrorReplyException(text);
                }
                // a verbatim string starts with its format, e.g. "txt:"
                return type == '=' && text.length() >= 4 ? text.substring(4) : text;
            }
            case '*':
            case '~':
            case '>': {
                int count = Integer.parseInt(rest);
                if (count < 0) {
                    return null;
                }
                List<Object> items = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    items.add(readReply());
                }
                return items;
            }
            case '%': {
                int count = Integer.parseInt(rest);
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < count; i++) {
                    Object key = readReply();
                    map.put(key, readReply());
                }
                return map;
            }
            case '|': {
                // attributes describe the reply that follows; a test has no use for them
                int count = Integer.parseInt(rest);
                for (int i = 0; i < 2 * count; i++) {
                    readReply();
                }
                return readReply();
            }
            case '_':
                return null;
            case '#':
                return "t".equals(rest);
            case ',':
                return rest;
            case '(':
                return new BigInteger(rest);
            default:
                throw new IOException(
                        "unknown RESP type '" + type + "' in reply line \"" + line + "\" from " + address);
        }
    }

    private byte[] readBulk(int length) throws IOException {
        if (length < 0) {
            return null;
        }
        byte[] bytes = in.readNBytes(length);
        if (bytes.length < length || in.read() != '\r' || in.read() != '\n') {
            throw new EOFException("connection to " + address + " closed inside a bulk reply");
        }
        return bytes;
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(64);
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("connection to " + address + " closed by the server");
            }
            if (b == '\r') {
                if (in.read() != '\n') {
                    throw new IOException("malformed reply line from " + address + ": CR without LF");
                }
                return line.toString(StandardCharsets.UTF_8);
            }
            line.write(b);
        }
    }

    private void ensureOpen() {
        if (socket.isClosed()) {
            throw new IllegalStateException(this + " is closed (after close() or an I/O failure); open a new one");
        }
    }

    private UncheckedIOException failure(String what, IOException e) {
        // a reply may still arrive later and would be taken for the answer to the next command: close
        close();
        return new UncheckedIOException("Redis at " + address + ": " + what + ": " + e, e);
    }

    private static int toMillis(Duration timeout) {
        long millis = timeout.toMillis();
        if (millis <= 0 || millis > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "timeout must be between 1 ms and " + Integer.MAX_VALUE + " ms: " + timeout);
        }
        return (int) millis;
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
