package io.github.affinitypool.sample.reliability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import java.util.function.Predicate;

import reactor.core.publisher.Mono;

/**
 * {@code clients} HTTP clients, each sending one request after the other until stopped, recording every outcome
 * (path, start, end, status, body, or the client-side error). A client that got a failure pauses 2–6 ms before its
 * next request, so that a down Redis does not turn the load into a busy loop on this small machine.
 */
final class HttpLoad implements AutoCloseable {

    /**
     * One request.
     *
     * @param path the path requested
     * @param startNanos {@link System#nanoTime()} when it was sent
     * @param endNanos when its outcome arrived
     * @param status the HTTP status, 0 when there was no response
     * @param body the response body, or the client-side error's description
     * @param error the client-side error (no response), or {@code null}
     */
    record Outcome(String path, long startNanos, long endNanos, int status, String body, Throwable error) {

        boolean ok() {
            return error == null && status == 200;
        }

        long millis() {
            return TimeUnit.NANOSECONDS.toMillis(endNanos - startNanos);
        }
    }

    private final Queue<Outcome> outcomes = new ConcurrentLinkedQueue<>();

    private final AtomicBoolean running = new AtomicBoolean(true);

    private final CountDownLatch finished;

    /**
     * Starts the clients.
     *
     * @param app the app to send to
     * @param clients number of concurrent clients
     * @param pathOf the path client {@code i} requests
     * @param clientTimeout how long a client waits for a response before it records a timeout (a hang)
     */
    HttpLoad(ReliabilityApp app, int clients, IntFunction<String> pathOf, Duration clientTimeout) {
        finished = new CountDownLatch(clients);
        for (int client = 0; client < clients; client++) {
            String path = pathOf.apply(client);
            Mono.defer(() -> request(app, path, clientTimeout))
                    .repeat(running::get)
                    .subscribe(null, error -> finished.countDown(), finished::countDown);
        }
    }

    private Mono<Outcome> request(ReliabilityApp app, String path, Duration clientTimeout) {
        long start = System.nanoTime();
        return app.get(path, clientTimeout)
                .map(reply -> new Outcome(path, start, System.nanoTime(), reply.status(), reply.body(), null))
                .onErrorResume(error -> Mono.just(new Outcome(path, start, System.nanoTime(), 0, String.valueOf(error),
                        error)))
                .flatMap(outcome -> {
                    outcomes.add(outcome);
                    return outcome.ok() ? Mono.just(outcome)
                            : Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(2, 7)))
                                    .thenReturn(outcome);
                });
    }

    /** @return the outcomes recorded so far */
    List<Outcome> outcomes() {
        return new ArrayList<>(outcomes);
    }

    /** @return how many recorded outcomes match */
    long count(Predicate<Outcome> filter) {
        return outcomes.stream().filter(filter).count();
    }

    /**
     * Stops the clients after their current request.
     *
     * @param within how long to wait for every client's last request
     * @return whether every client finished within that time
     */
    boolean stop(Duration within) throws InterruptedException {
        running.set(false);
        return finished.await(within.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        stop(Duration.ofSeconds(15));
    }
}
