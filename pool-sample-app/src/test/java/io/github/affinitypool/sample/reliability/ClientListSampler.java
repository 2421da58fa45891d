package io.github.affinitypool.sample.reliability;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import io.github.affinitypool.testing.RedisServer;

/**
 * Samples {@code CLIENT LIST} in the background (every 10 ms, on a raw connection of its own) and keeps the most
 * clients whose name starts with a prefix seen in one sample.
 */
final class ClientListSampler implements AutoCloseable {

    private final AtomicInteger maximum = new AtomicInteger();

    private final AtomicInteger samples = new AtomicInteger();

    private final Thread thread;

    private volatile boolean running = true;

    private volatile String lastSample = "";

    ClientListSampler(RedisServer redis, String prefix) {
        thread = new Thread(() -> {
            while (running) {
                try {
                    String list = redis.command("CLIENT", "LIST");
                    lastSample = list;
                    maximum.accumulateAndGet(clientNames(list, prefix).size(), Math::max);
                    samples.incrementAndGet();
                }
                catch (RuntimeException redisDown) {
                    // Killed or restarting: nothing to count in this sample.
                }
                // Sampling cadence, not synchronisation: leave the small machine to the load.
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }, "client-list-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    /** @return the most matching clients seen in one sample */
    int maximum() {
        return maximum.get();
    }

    /** @return the last {@code CLIENT LIST} reply sampled */
    String lastSample() {
        return lastSample;
    }

    /** @return the samples taken */
    int samples() {
        return samples.get();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(10_000);
    }

    /** @return the {@code name=} of every client in {@code CLIENT LIST} that starts with {@code prefix} */
    static List<String> clientNames(RedisServer redis, String prefix) {
        return clientNames(redis.command("CLIENT", "LIST"), prefix);
    }

    /** @return the {@code name=} of every client of a {@code CLIENT LIST} reply that starts with {@code prefix} */
    static List<String> clientNames(String clientList, String prefix) {
        List<String> names = new ArrayList<>();
        for (String line : clientList.split("\n")) {
            for (String field : line.trim().split(" ")) {
                if (field.startsWith("name=") && field.substring(5).startsWith(prefix)) {
                    names.add(field.substring(5));
                }
            }
        }
        return names;
    }
}
