package io.github.affinitypool.autoconfigure;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Mono;

/**
 * Keeps track of the Reactor Netty web server's connections, so that {@link AffinityPoolLifecycle} can close the ones
 * the server's stop left open before it closes the pool. A {@code NettyServerCustomizer}, which the auto-configuration
 * adds to the server factory, hands it each connection; this class itself uses nothing of the web stack, so that the
 * auto-configuration, which refers to it, loads in an application without WebFlux.
 * <p>
 * Why: Reactor Netty's graceful stop waits for the requests in flight and closes idle connections, but a kept-alive
 * HTTP/1.1 connection whose request finished during the wait stays open, and the server goes on reading and serving
 * requests on it until the event loops are disposed. Those requests would reach a closed pool and fail (logged by
 * WebFlux as 500 errors). Found by the reliability suite (ShutdownUnderLoadTest): clients sending on kept-alive
 * connections got "Redis pool '…' is closed" up to 0.7 s after "Graceful shutdown complete". Closing the leftover
 * connections completes the server's stop, at the moment it is documented to be complete.
 */
final class ServerConnections {

    private static final Log logger = LogFactory.getLog(ServerConnections.class);

    /** Open connections; a channel leaves the group by itself when it closes. */
    private final ChannelGroup connections = new DefaultChannelGroup("affinity-pool-server-connections",
            GlobalEventExecutor.INSTANCE);

    /**
     * @param connection a connection the web server has accepted; it is forgotten once closed
     */
    void track(Channel connection) {
        connections.add(connection);
    }

    /**
     * Closes every server connection still open. Called after the web server has stopped.
     *
     * @return completion of the closes
     */
    Mono<Void> closeRemaining() {
        return Mono.defer(() -> {
            int open = connections.size();
            if (open == 0) {
                return Mono.empty();
            }
            logger.debug("Closing " + open + " HTTP connection(s) the stopped web server left open");
            return Mono.create(sink -> connections.close().addListener(done -> sink.success()));
        });
    }
}
