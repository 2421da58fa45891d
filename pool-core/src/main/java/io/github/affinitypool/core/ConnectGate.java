package io.github.affinitypool.core;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import reactor.core.publisher.Mono;

/**
 * Admits resource openings so that at most {@code maxConnecting} run at once ({@code maxConcurrentConnects}: a restart
 * or a burst does not open a storm of connections), and so that resources opened but not yet closed never exceed
 * {@code maxOpen}.
 * <p>
 * The second bound is what makes the {@code maxOpen} cap exact. reactor-pool returns a resource's permit before it
 * calls the destroy handler, so between the two a new resource could be opened while the old one is not closed yet; the
 * gate holds such an opening back until {@link #closed()} reports that the old resource's close has started.
 * <p>
 * Lock-free: a queue of deferred openings drained by whichever thread wins the work-in-progress counter.
 */
final class ConnectGate {

    private final int maxConnecting;
    private final int maxOpen;
    private final AtomicInteger connecting = new AtomicInteger();
    /** Openings in {@link #deferred}, waiting for their turn: counted in the pool's open resources already. */
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger wip = new AtomicInteger();
    private final Queue<Runnable> deferred = new ConcurrentLinkedQueue<>();

    ConnectGate(int maxConnecting, int maxOpen) {
        this.maxConnecting = maxConnecting;
        this.maxOpen = maxOpen;
    }

    /**
     * @param connect opens one resource; a successful one counts as open until {@link #closed()} is called for it
     * @return {@code connect}, subscribed once both bounds allow it
     */
    <R> Mono<R> admit(Mono<R> connect) {
        return Mono.create(sink -> {
            // Counted in before it can be taken out, so that the count never goes below the queue.
            waiting.incrementAndGet();
            deferred.offer(() -> connect
                    .switchIfEmpty(Mono.error(() -> new IllegalStateException("Opening completed without a resource")))
                    .subscribe(
                    resource -> {
                        connecting.decrementAndGet();
                        sink.success(resource);
                        drain();
                    },
                    error -> {
                        connecting.decrementAndGet();
                        open.decrementAndGet();
                        sink.error(error);
                        drain();
                    }));
            drain();
        });
    }

    /** Reports that the close of a resource admitted earlier has started, making room for another. */
    void closed() {
        open.decrementAndGet();
        drain();
    }

    /**
     * @return openings not finished yet, started or waiting for their turn: a borrower that waits for either is helped
     *         by a faster server or more concurrent connects, not by a higher cap
     */
    int connecting() {
        return connecting.get() + waiting.get();
    }

    private void drain() {
        if (wip.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        do {
            // Only this loop increments the counters, so checking and incrementing them need no compare-and-set.
            while (connecting.get() < maxConnecting && open.get() < maxOpen) {
                Runnable next = deferred.poll();
                if (next == null) {
                    break;
                }
                connecting.incrementAndGet();
                waiting.decrementAndGet();
                open.incrementAndGet();
                next.run();
            }
            missed = wip.addAndGet(-missed);
        }
        while (missed != 0);
    }
}
