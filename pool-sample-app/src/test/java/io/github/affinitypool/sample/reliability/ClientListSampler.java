package io.github.affinitypool.sample.reliability;

import java.util.ArrayList;
import java.util.List;
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
            maximum.accumulateAndGet(clientNames(redis, prefix).size(), Math::max);
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

    /** @return the {@code name=} of every client in {@code CLIENT LIST} that starts with {@code prefix} */
    static List<String> clientNames(RedisServer redis, String prefix) {
        List<String> names = new ArrayList<>();
        for (String line : redis.command("CLIENT", "LIST").split("\n")) {
            for (String field : line.trim().split(" ")) {
                if (field.startsWith("name=") && field.substring(5).startsWith(prefix)) {
                    names.add(field.substring(5));
                }
            }
        }
        return names;
    }
}
