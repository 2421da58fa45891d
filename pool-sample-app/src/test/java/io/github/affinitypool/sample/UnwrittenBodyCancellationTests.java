package io.github.affinitypool.sample;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.netty.channel.Channel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Sinks;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

import org.springframework.core.ResolvableType;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEventHttpMessageWriter;
import org.springframework.http.server.reactive.AbstractServerHttpRequest;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebHandler;
import org.springframework.web.server.adapter.WebHttpHandlerBuilder;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An event stream on Reactor Netty whose first event comes after its connection closed, before Netty told the
 * handler (the same event-loop task closes the channel and emits the event, as when a client leaves while its
 * subscription is being confirmed): the stream must still be cancelled.
 */
class UnwrittenBodyCancellationTests {

    private DisposableServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.disposeNow();
        }
    }

    @Test
    void aStreamWhoseFirstEventComesAfterTheConnectionClosedIsCancelled() throws Exception {
        Stream stream = serve(new UnwrittenBodyCancellation());
        try (Socket client = request()) {
            Channel channel = stream.channel.get(10, TimeUnit.SECONDS);
            channel.eventLoop().submit(() -> {
                channel.close(); // inactive at once; channelInactive (which cancels the handler) is a later task
                stream.events.tryEmitNext("first");
            }).get(10, TimeUnit.SECONDS);
            // Runs after the channelInactive task queued by the close: the handler has been told by now.
            channel.eventLoop().submit(() -> { }).get(10, TimeUnit.SECONDS);
            assertThat(channel.isActive()).isFalse();
            assertThat(stream.cancelled).as("the events' subscription was cancelled").isTrue();
        }
    }

    @Test
    void withoutTheFilterTheStreamStaysSubscribed() throws Exception {
        // The web stack's behaviour the filter makes up for; if this starts failing, the filter may be unnecessary.
        Stream stream = serve(null);
        try (Socket client = request()) {
            Channel channel = stream.channel.get(10, TimeUnit.SECONDS);
            channel.eventLoop().submit(() -> {
                channel.close();
                stream.events.tryEmitNext("first");
            }).get(10, TimeUnit.SECONDS);
            channel.eventLoop().submit(() -> { }).get(10, TimeUnit.SECONDS);
            assertThat(stream.cancelled).as("the events' subscription was cancelled").isFalse();
        }
    }

    @Test
    void aStreamIsWrittenAndCancelledWhenTheClientLeaves() throws Exception {
        Stream stream = serve(new UnwrittenBodyCancellation());
        try (Socket client = request()) {
            Channel channel = stream.channel.get(10, TimeUnit.SECONDS);
            channel.eventLoop().submit(() -> stream.events.tryEmitNext("first")).get(10, TimeUnit.SECONDS);
            BufferedReader response = new BufferedReader(
                    new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
            assertThat(response.readLine()).isEqualTo("HTTP/1.1 200 OK");
            String line;
            do {
                line = response.readLine();
            }
            while (line != null && !line.startsWith("data:"));
            assertThat(line).isEqualTo("data:first");
            channel.eventLoop().submit(() -> channel.close()).get(10, TimeUnit.SECONDS);
            channel.eventLoop().submit(() -> { }).get(10, TimeUnit.SECONDS);
            assertThat(stream.cancelled).isTrue();
        }
    }

    /** Serves an event stream of {@link Stream#events} at every path, through {@code filter} if not null. */
    private Stream serve(WebFilter filter) {
        Stream stream = new Stream();
        ServerSentEventHttpMessageWriter writer = new ServerSentEventHttpMessageWriter();
        WebHandler handler = exchange -> {
            stream.channel.complete(((Connection) ((AbstractServerHttpRequest) exchange.getRequest())
                    .getNativeRequest()).channel());
            return writer.write(stream.events.asFlux().doOnCancel(() -> stream.cancelled = true),
                    ResolvableType.forClass(String.class), MediaType.TEXT_EVENT_STREAM, exchange.getResponse(),
                    Map.of());
        };
        WebHttpHandlerBuilder builder = WebHttpHandlerBuilder.webHandler(handler);
        if (filter != null) {
            builder.filter(filter);
        }
        HttpHandler httpHandler = builder.build();
        server = HttpServer.create().host("127.0.0.1").port(0).handle(new ReactorHttpHandlerAdapter(httpHandler))
                .bindNow();
        return stream;
    }

    private Socket request() throws Exception {
        Socket client = new Socket("127.0.0.1", server.port());
        OutputStream out = client.getOutputStream();
        out.write("GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return client;
    }

    private static final class Stream {

        final CompletableFuture<Channel> channel = new CompletableFuture<>();

        final Sinks.Many<String> events = Sinks.many().unicast().onBackpressureBuffer();

        volatile boolean cancelled;
    }
}
