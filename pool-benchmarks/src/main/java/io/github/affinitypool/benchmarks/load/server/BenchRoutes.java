package io.github.affinitypool.benchmarks.load.server;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import reactor.core.publisher.Mono;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * The endpoints, the same for every setup: {@code GET /get}, {@code GET /set}, {@code GET /mix} answer with the
 * result of the {@link BenchOps} operation as {@code text/plain}; a failed call answers 503 with the error's message
 * and is counted. {@code GET /errors} lists the errors counted since the previous call (and resets them).
 */
@Configuration(proxyBeanMethods = false)
class BenchRoutes {

    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();

    @Bean
    RouterFunction<ServerResponse> benchRoutes(BenchOps ops) {
        return RouterFunctions.route()
                .GET("/get", request -> respond(ops.get()))
                .GET("/set", request -> respond(ops.set()))
                .GET("/mix", request -> respond(ops.mix()))
                .GET("/errors", request -> ServerResponse.ok().contentType(MediaType.TEXT_PLAIN)
                        .bodyValue(drainErrors()))
                .build();
    }

    private Mono<ServerResponse> respond(Supplier<Mono<String>> call) {
        return call.get()
                .switchIfEmpty(Mono.error(() -> new IllegalStateException("no value")))
                .flatMap(value -> ServerResponse.ok().contentType(MediaType.TEXT_PLAIN).bodyValue(value))
                .onErrorResume(error -> {
                    String message = describe(error);
                    errors.computeIfAbsent(message, key -> new LongAdder()).increment();
                    return ServerResponse.status(HttpStatus.SERVICE_UNAVAILABLE).contentType(MediaType.TEXT_PLAIN)
                            .bodyValue(message);
                });
    }

    /** @return the error's type and message, and its root cause's when it has one */
    private static String describe(Throwable error) {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = error.getClass().getName() + ": " + error.getMessage();
        return (root == error) ? message
                : message + " (caused by " + root.getClass().getName() + ": " + root.getMessage() + ")";
    }

    /** @return one line per distinct error: count, a tab, the message; then the counts restart from zero */
    private String drainErrors() {
        Map<String, Long> counted = new TreeMap<>();
        errors.forEach((message, count) -> counted.put(message, count.sumThenReset()));
        StringBuilder text = new StringBuilder();
        counted.forEach((message, count) -> {
            if (count > 0) {
                text.append(count).append('\t').append(message.replace('\n', ' ')).append('\n');
            }
        });
        return text.toString();
    }
}
