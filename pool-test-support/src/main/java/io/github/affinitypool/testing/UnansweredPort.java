package io.github.affinitypool.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback port where a TCP connect is never answered, as with a Redis host behind a firewall that drops packets or
 * on the far side of a network partition: the client's SYN gets no reply, so the connect hangs until the client's own
 * connect timeout, instead of failing at once with "connection refused" as with a stopped server.
 * <p>
 * How: a listener with the smallest accept queue that never accepts, whose queue is then filled by connections of its
 * own. Linux drops the SYNs of further connects while the queue is full (with the default
 * {@code net.ipv4.tcp_abort_on_overflow = 0}), which is what a blackholed host looks like from the client.
 * <pre>{@code
 * try (UnansweredPort port = UnansweredPort.open()) {
 *     String uri = port.uri();   // redis://127.0.0.1:<port>; connects to it time out
 * }
 * }</pre>
 */
public final class UnansweredPort implements AutoCloseable {

    /** How long a filling connect may take before the queue counts as full (a queued one completes in microseconds). */
    private static final int FILL_CONNECT_TIMEOUT_MILLIS = 200;

    /** More than any accept queue of backlog 1 holds (the kernel allows backlog + 1). */
    private static final int MAX_FILLING_CONNECTIONS = 8;

    private final ServerSocket listener;

    private final List<Socket> queued;

    private UnansweredPort(ServerSocket listener, List<Socket> queued) {
        this.listener = listener;
        this.queued = queued;
    }

    /**
     * Opens the port and fills its accept queue.
     *
     * @return the open port
     * @throws IllegalStateException when connects to it are still answered after filling (a kernel that does not drop
     *         SYNs on a full accept queue)
     */
    public static UnansweredPort open() {
        ServerSocket listener;
        try {
            listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        }
        catch (IOException ex) {
            throw new UncheckedIOException("could not open an unanswered loopback port", ex);
        }
        List<Socket> queued = new ArrayList<>();
        try {
            for (int attempt = 0; attempt < MAX_FILLING_CONNECTIONS; attempt++) {
                Socket socket = new Socket();
                try {
                    socket.connect(listener.getLocalSocketAddress(), FILL_CONNECT_TIMEOUT_MILLIS);
                    queued.add(socket);
                }
                catch (SocketTimeoutException full) {
                    socket.close();
                    return new UnansweredPort(listener, queued);
                }
                catch (IOException ex) {
                    socket.close();
                    throw ex;
                }
            }
        }
        catch (IOException ex) {
            throw closedAfter(new UncheckedIOException("could not open an unanswered loopback port", ex), listener,
                    queued);
        }
        throw closedAfter(new IllegalStateException("connects to " + listener.getLocalSocketAddress()
                + " were still answered after " + MAX_FILLING_CONNECTIONS
                + " queued connections; this kernel does not drop SYNs on a full accept queue"), listener, queued);
    }

    /** @return {@code failure}, once the listener and the queued connections are closed */
    private static RuntimeException closedAfter(RuntimeException failure, ServerSocket listener, List<Socket> queued) {
        try {
            closeAll(listener, queued);
        }
        catch (IOException ex) {
            failure.addSuppressed(ex);
        }
        return failure;
    }

    /** @return the port's number on the loopback address */
    public int port() {
        return listener.getLocalPort();
    }

    /** @return {@code 127.0.0.1:<port>} (the loopback address) */
    public InetSocketAddress address() {
        return new InetSocketAddress(listener.getInetAddress(), port());
    }

    /** @return {@code redis://<loopback>:<port>}, a Redis URL whose connects time out */
    public String uri() {
        return "redis://" + listener.getInetAddress().getHostAddress() + ":" + port();
    }

    /** Closes the listener and the connections that fill its queue; connects to the port are then refused. */
    @Override
    public void close() {
        try {
            closeAll(listener, queued);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static void closeAll(ServerSocket listener, List<Socket> queued) throws IOException {
        for (Socket socket : queued) {
            socket.close();
        }
        listener.close();
    }
}
