package io.github.affinitypool.sample.reliability;

import java.util.concurrent.atomic.AtomicInteger;

import io.github.affinitypool.testing.RedisServer;

/**
 * Samples {@code CLIENT LIST} in the background (every 10 ms, on a fresh raw connection each time) and keeps the most
 * clients whose name starts with a prefix seen in one sample. Samples taken while Redis is down are skipped.
 */
final class ClientListSampler implements AutoCloseable {

    private final AtomicInteger maximum = new AtomicInteger();

    private final AtomicInteger samples = new AtomicInteger();

    private final BackgroundSampler sampler;

    ClientListSampler(RedisServer redis, String prefix) {
        sampler = new BackgroundSampler("client-list-sampler", 10, () -> {
            maximum.accumulateAndGet(redis.clientNames(prefix).size(), Math::max);
            samples.incrementAndGet();
        });
    }

    /** @return the most matching clients seen in one sample */
    int maximum() {
        return maximum.get();
    }

    /** @return the samples taken */
    int samples() {
        return samples.get();
    }

    @Override
    public void close() throws InterruptedException {
        sampler.close();
    }

}
