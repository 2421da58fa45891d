package io.github.affinitypool.autoconfigure;

import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServer;

import org.springframework.boot.reactor.netty.NettyServerCustomizer;

/**
 * Keeps track of the Reactor Netty web server's connections, so that {@link AffinityPoolLifecycle} can close the ones
 * the server's stop left open before it closes the pool.
 * <p>
 * Why: Reactor Netty's graceful stop waits for the requests in flight and closes idle connections, but a kept-alive
 * HTTP/1.1 connection whose request finished during the wait stays open, and the server goes on reading and serving
 * requests on it until the event loops are disposed. Those requests would reach a closed pool and fail (logged by
 * WebFlux as 500 errors). Found by the reliability suite (ShutdownUnderLoadTest): clients sending on kept-alive
 * connections got "Redis pool '…' is closed" up to 0.7 s after "Graceful shutdown complete". Closing the leftover
 * connections completes the server's stop, at the moment it is documented to be complete.
 */
final class ServerConnections implements NettyServerCustomizer {

    private static final Log logger = LogFactory.getLog(ServerConnections.class);

    /** Open connections; a channel leaves the group by itself when it closes. */
    private final ChannelGroup connections = new DefaultChannelGroup("affinity-pool-server-connections",
            GlobalEventExecutor.INSTANCE);

    @Override
    public HttpServer apply(HttpServer server) {
        return server.doOnChannelInit((observer, channel, remoteAddress) -> connections.add(channel));
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
