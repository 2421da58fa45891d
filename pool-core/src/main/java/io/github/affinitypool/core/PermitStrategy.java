package io.github.affinitypool.core;

import java.util.concurrent.atomic.AtomicInteger;

import reactor.pool.AllocationStrategy;

/**
 * The one {@link AllocationStrategy} shared by every worker pool and the overflow pool, so that together they never
 * hold more than {@code maxOpen} resources: reactor-pool takes a permit before it opens a resource and returns it when
 * the resource is destroyed or its opening fails.
 * <p>
 * It never keeps a minimum ({@link #permitMinimum()} is 0): minimum idle resources are refilled per worker by
 * {@link AffinityPool}, because a shared minimum would be warmed up by whichever pool happened to ask first.
 */
final class PermitStrategy implements AllocationStrategy {

    private final int maxOpen;
    private final AtomicInteger granted = new AtomicInteger();

    PermitStrategy(int maxOpen) {
        this.maxOpen = maxOpen;
    }

    @Override
    public int estimatePermitCount() {
        return Math.max(0, maxOpen - granted.get());
    }

    /**
     * Grants at most one permit per call, which is all reactor-pool asks for when it opens a resource for a borrower.
     */
    @Override
    public int getPermits(int desired) {
        if (desired <= 0) {
            return 0;
        }
        for (;;) {
            int current = granted.get();
            if (current >= maxOpen) {
                return 0;
            }
            if (granted.compareAndSet(current, current + 1)) {
                return 1;
            }
        }
    }

    @Override
    public int permitGranted() {
        return granted.get();
    }

    @Override
    public int permitMinimum() {
        return 0;
    }

    @Override
    public int permitMaximum() {
        return maxOpen;
    }

    @Override
    public void returnPermits(int returned) {
        if (granted.addAndGet(-returned) < 0) {
            granted.addAndGet(returned);
            throw new IllegalArgumentException("Too many permits returned: " + returned + ", only " + granted.get()
                    + " were granted");
        }
    }

    @Override
    public String toString() {
        return "PermitStrategy{granted=" + granted.get() + "/" + maxOpen + "}";
    }
}
