package io.github.affinitypool.core;

import java.time.Clock;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Fuseable;
import reactor.core.publisher.Mono;

/**
 * Judges whether one resource of an {@link AffinityPool} is still fit for use: whether it is stale (unusable, past its
 * lifetime, or idle for too long), whether it is due a validation, and what the factory's I/O checks ({@code validate},
 * {@code reset}) answer, run on the resource's loop and bounded by the acquire timeout. It also draws each new
 * resource's jittered lifetime.
 * <p>
 * It holds nothing but the configuration: its judgements are recorded in the {@link Slot} itself, so any thread may
 * ask it about any resource.
 *
 * @param <T> the pooled resource type
 */
final class ResourceHealth<T> {

    /** The pool's logger: these are the pool's messages, and logging configured for the pool keeps covering them. */
    private static final Logger log = LoggerFactory.getLogger(AffinityPool.class);

    /** Each resource's lifetime is shortened by a random amount up to this fraction, so they do not expire together. */
    private static final double LIFETIME_JITTER = 0.10;

    /** A check's constant "keep it" answer; callers on a hot path compare with it to apply the answer at once. */
    static final Mono<Boolean> TRUE = Mono.just(true);
    private static final Mono<Boolean> FALSE = Mono.just(false);

    private final String name;
    private final PooledResourceFactory<T> factory;
    private final AffinityPoolConfig config;
    private final WorkerLoops loops;
    private final Clock clock;
    private final long maxIdleMillis;
    private final long validateAfterIdleMillis;

    /** The factory's checks, bound once: a method reference made per call would be an allocation per release. */
    private final Function<T, Mono<Boolean>> validation;
    private final Function<T, Mono<Boolean>> reset;

    /**
     * @param name the pool's name, for the log messages
     * @param factory the factory whose checks are run
     * @param config the pool's resolved configuration
     * @param loops the worker loops, on which the checks run
     */
    ResourceHealth(String name, PooledResourceFactory<T> factory, AffinityPoolConfig config, WorkerLoops loops) {
        this.name = name;
        this.factory = factory;
        this.config = config;
        this.loops = loops;
        this.clock = config.clock();
        this.maxIdleMillis = config.maxIdleTime().toMillis();
        this.validateAfterIdleMillis = config.validateAfterIdle().toMillis();
        this.validation = factory::validate;
        this.reset = factory::reset;
    }

    /** @return a new resource's lifetime: {@code maxLifetime} less a random jitter, 0 for no limit */
    long jitteredLifetimeMillis() {
        long lifetime = config.maxLifetime().toMillis();
        if (lifetime == 0) {
            return 0;
        }
        return lifetime - ThreadLocalRandom.current().nextLong((long) (lifetime * LIFETIME_JITTER) + 1);
    }

    /** @return the factory's validation of the resource (a PING for Redis); see {@link #check} */
    Mono<Boolean> validate(Slot<T> slot) {
        return check(slot, validation, "validation");
    }

    /** @return the factory's reset of a released resource, whether to keep it; see {@link #check} */
    Mono<Boolean> reset(Slot<T> slot) {
        return check(slot, reset, "reset");
    }

    /**
     * Runs a factory check on the resource's loop, bounded by the acquire timeout; an error, no answer or a timeout
     * count as {@code false}. A constant answer, such as the defaults' {@code Mono.just(true)}, is read at once: it
     * needs neither the hop nor the timer, which would cost more than the rest of a release.
     */
    private Mono<Boolean> check(Slot<T> slot, Function<T, Mono<Boolean>> check, String what) {
        try {
            Mono<Boolean> answer = check.apply(slot.resource());
            if (answer instanceof Fuseable.ScalarCallable<?> constant) {
                return Boolean.TRUE.equals(constant.call()) ? TRUE : FALSE;
            }
            // A resource always lives on a worker, so its timer runs on that worker's loop.
            return loops.onLoop(slot.worker(), () -> answer)
                    .timeout(config.acquireTimeout(), loops.scheduler(slot.worker()))
                    .onErrorResume(error -> checkFailed(slot, what, error))
                    .defaultIfEmpty(false);
        }
        catch (Exception error) {
            return checkFailed(slot, what, error);
        }
    }

    private Mono<Boolean> checkFailed(Slot<T> slot, String what, Throwable error) {
        log.debug("Pool '{}': {} of {} failed", name, what, slot, error);
        return FALSE;
    }

    /**
     * reactor-pool's eviction predicate, applied to idle resources in background eviction, on acquire and on release.
     * reactor-pool destroys every resource it rejects, so the reason is recorded here for the destroy handler.
     */
    boolean isStale(Slot<T> slot) {
        return isStale(slot, clock.millis());
    }

    /** Like {@link #isStale(Slot)}, at a given time; records the reason in the slot. */
    boolean isStale(Slot<T> slot, long now) {
        CloseReason reason = staleReason(slot, true, now);
        if (reason == null) {
            return false;
        }
        slot.closeFor(reason);
        return true;
    }

    /** @return why the resource must not be used any more, or null; idle time only counts for idle resources */
    CloseReason staleReason(Slot<T> slot, boolean idle, long now) {
        if (!usable(slot)) {
            return CloseReason.UNUSABLE;
        }
        if (slot.expired(now)) {
            return CloseReason.LIFETIME;
        }
        if (idle && maxIdleMillis > 0 && slot.idleMillis(now) >= maxIdleMillis) {
            return CloseReason.IDLE_TIME;
        }
        return null;
    }

    private boolean usable(Slot<T> slot) {
        try {
            return factory.isUsable(slot.resource());
        }
        catch (RuntimeException error) {
            log.debug("Pool '{}': usability check of {} failed", name, slot, error);
            return false;
        }
    }

    /** @return whether the resource has been neither used nor checked for {@code validateAfterIdle} */
    boolean needsValidation(Slot<T> slot, long now) {
        return slot.uncheckedMillis(now) >= validateAfterIdleMillis;
    }
}
