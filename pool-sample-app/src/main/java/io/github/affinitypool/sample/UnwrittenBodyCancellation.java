package io.github.affinitypool.sample;

import java.util.function.Function;

import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;

/**
 * Cancels a streamed response body once its write has ended, so a body the server never got to write cannot stay
 * subscribed.
 * <p>
 * WebFlux subscribes to a streamed body (an event stream, say) before the server does: it waits for the first element
 * and only then hands the body to the server. When the connection closed just before (Netty marks the channel
 * inactive at once, and cancels the handler only in a task it runs later), Reactor Netty refuses the write with an
 * {@code AbortedException} without subscribing to the body; the response's write fails, the failure ends the handler
 * as a disconnected client, and the cancel that follows finds nothing left to cancel. The body, though, is still
 * subscribed with its first element's demand used up, so it is never cancelled and never asked for more: for
 * {@code GET /events/{channel}} a Pub/Sub subscriber that stays on the pool for good.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class UnwrittenBodyCancellation implements WebFilter {

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        return chain.filter(exchange.mutate().response(new CancellingResponse(exchange.getResponse())).build());
    }

    private static final class CancellingResponse extends ServerHttpResponseDecorator {

        CancellingResponse(ServerHttpResponse delegate) {
            super(delegate);
        }

        @Override
        public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
            if (body instanceof Mono) {
                return super.writeWith(body); // written or released at once: nothing stays subscribed
            }
            return cancelledWhenWritten(Flux.from(body), super::writeWith);
        }

        @Override
        public Mono<Void> writeAndFlushWith(Publisher<? extends Publisher<? extends DataBuffer>> body) {
            return cancelledWhenWritten(Flux.from(body), super::writeAndFlushWith);
        }

        /** The write, whose end (complete, error or cancel) also cancels the body if it is still subscribed. */
        private static <T> Mono<Void> cancelledWhenWritten(Flux<T> body, Function<Flux<T>, Mono<Void>> write) {
            return Mono.defer(() -> {
                Sinks.Empty<Void> ended = Sinks.empty();
                return write.apply(body.takeUntilOther(ended.asMono())).doFinally(signal -> ended.tryEmitEmpty());
            });
        }
    }
}
