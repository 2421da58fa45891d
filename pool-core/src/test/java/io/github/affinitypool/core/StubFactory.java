package io.github.affinitypool.core;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import io.netty.channel.EventLoop;
import reactor.core.publisher.Mono;

/**
 * A {@link PooledResourceFactory} of {@link StubResource}s that counts what the pool does with them: how many are open
 * at any instant (from the start of an opening to the start of a close) and the most ever seen, how many openings run
 * at once, and checks, so tests can assert bounds that must hold at every instant.
 */
final class StubFactory implements PooledResourceFactory<StubResource> {

    final List<StubResource> created = new CopyOnWriteArrayList<>();
    final AtomicInteger openNow = new AtomicInteger();
    final AtomicInteger maxOpenSeen = new AtomicInteger();
    final AtomicInteger connectingNow = new AtomicInteger();
    final AtomicInteger maxConnectingSeen = new AtomicInteger();
    final AtomicInteger openedOffLoop = new AtomicInteger();
    final AtomicInteger doubleCloses = new AtomicInteger();
    final AtomicInteger validations = new AtomicInteger();
    final AtomicInteger resets = new AtomicInteger();
    private final AtomicInteger ids = new AtomicInteger();

    /** How long an opening takes; zero completes it synchronously. */
    volatile Duration openDelay = Duration.ZERO;
    /** When positive, each opening takes a random time up to this many microseconds instead. */
    volatile int randomOpenDelayMicros;
    volatile RuntimeException openError;
    /** When set, openings wait for it to complete, as a connect to a slow server does; its error fails them. */
    volatile Mono<Void> openGate;
    /** Answers validations; null: validations never answer. */
    volatile Predicate<StubResource> validation = resource -> true;
    /** When set, validations wait for it to complete, as a PING does for its reply. */
    volatile Mono<Void> validationGate;
    volatile Predicate<StubResource> reset = resource -> true;
    /** When set, resets wait for it to complete, as a reset that needs a round trip does. */
    volatile Mono<Void> resetGate;
    /** Whether resets answer a constant, as the Redis factory's does for a clean lease (no hop to the loop). */
    volatile boolean constantReset;

    @Override
    public Mono<StubResource> open(int worker, EventLoop loop) {
        Mono<Void> gate = openGate;
        Mono<StubResource> opening = Mono.defer(() -> {
            if (!loop.inEventLoop()) {
                openedOffLoop.incrementAndGet();
            }
            if (openError != null) {
                return Mono.error(openError);
            }
            maxOpenSeen.accumulateAndGet(openNow.incrementAndGet(), Math::max);
            maxConnectingSeen.accumulateAndGet(connectingNow.incrementAndGet(), Math::max);
            StubResource resource = new StubResource(ids.incrementAndGet(), worker, Thread.currentThread());
            created.add(resource);
            Duration delay = delay();
            if (delay.isZero()) {
                connectingNow.decrementAndGet();
                return Mono.just(resource);
            }
            // Counted out before the resource is emitted, since the pool may start the next opening on emission.
            return Mono.delay(delay, new LoopScheduler(loop, worker)).map(tick -> {
                connectingNow.decrementAndGet();
                return resource;
            });
        });
        return gate == null ? opening : gate.then(opening);
    }

    private Duration delay() {
        int randomMicros = randomOpenDelayMicros;
        if (randomMicros > 0) {
            return Duration.ofNanos(ThreadLocalRandom.current().nextLong(randomMicros * 1000L));
        }
        return openDelay;
    }

    @Override
    public Mono<Void> close(StubResource resource) {
        return Mono.fromRunnable(() -> {
            if (resource.closed.getAndSet(true)) {
                doubleCloses.incrementAndGet();
            }
            else {
                resource.closedOn = Thread.currentThread();
                openNow.decrementAndGet();
            }
        });
    }

    @Override
    public boolean isUsable(StubResource resource) {
        return resource.usable;
    }

    @Override
    public Mono<Boolean> validate(StubResource resource) {
        validations.incrementAndGet();
        Predicate<StubResource> answer = validation;
        if (answer == null) {
            return Mono.never();
        }
        Mono<Void> gate = validationGate;
        Mono<Boolean> check = Mono.fromCallable(() -> answer.test(resource));
        return gate == null ? check : gate.then(check);
    }

    @Override
    public Mono<Boolean> reset(StubResource resource) {
        if (constantReset) {
            resets.incrementAndGet();
            return Mono.just(true);
        }
        Mono<Boolean> answer = Mono.fromCallable(() -> {
            resets.incrementAndGet();
            resource.lastResetOn = Thread.currentThread();
            return reset.test(resource);
        });
        Mono<Void> gate = resetGate;
        return gate == null ? answer : gate.then(answer);
    }

    int openResources() {
        return (int) created.stream().filter(resource -> !resource.isClosed()).count();
    }
}
