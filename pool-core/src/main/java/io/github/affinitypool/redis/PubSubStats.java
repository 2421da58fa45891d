package io.github.affinitypool.redis;

import java.util.List;

/**
 * An immutable snapshot of a {@link RedisAffinityPool}'s Pub/Sub side, taken without stopping it.
 *
 * @param maxOpen the cap on open Pub/Sub connections ({@code pubSubMaxOpen}); at most one per worker is ever used
 * @param bufferSize the per-subscriber buffer; when it is full the oldest message is dropped
 * @param workers one entry per worker, in worker order
 */
public record PubSubStats(int maxOpen, int bufferSize, List<Worker> workers) {

    public PubSubStats {
        workers = List.copyOf(workers);
    }

    /** @return open Pub/Sub connections, all workers */
    public int open() {
        return workers.stream().mapToInt(Worker::open).sum();
    }

    /** @return open Pub/Sub connections without any subscription, all workers */
    public int idle() {
        return workers.stream().mapToInt(Worker::idle).sum();
    }

    /** @return channels and patterns subscribed on the server, all workers (each worker subscribes its own) */
    public int subscriptions() {
        return workers.stream().mapToInt(Worker::subscriptions).sum();
    }

    /** @return local subscribers ({@code Flux} subscriptions) attached to a Pub/Sub connection, all workers */
    public int subscribers() {
        return workers.stream().mapToInt(Worker::subscribers).sum();
    }

    /** @return subscribers waiting for a Pub/Sub connection to open, all workers */
    public int pending() {
        return workers.stream().mapToInt(Worker::pending).sum();
    }

    /** @return messages received from Redis, all workers (each once, however many local subscribers got it) */
    public long received() {
        return workers.stream().mapToLong(Worker::received).sum();
    }

    /** @return messages dropped because a subscriber's buffer was full, all workers */
    public long dropped() {
        return workers.stream().mapToLong(Worker::dropped).sum();
    }

    /**
     * One worker's Pub/Sub connection (pinned to the worker's loop) and what runs on it. Gauges map as
     * {@code allocated} = {@link #open()}, {@code acquired} = {@link #acquired()}, {@code idle} = {@link #idle()},
     * {@code pending} = {@link #pending()}.
     *
     * @param worker the worker index
     * @param open 1 when the worker's Pub/Sub connection is open (or opening), else 0
     * @param channels channels subscribed on the connection
     * @param patterns patterns subscribed on the connection
     * @param subscribers local subscribers attached to the connection (including subscribers of other workers that
     *        share it because the cap left their own worker without one)
     * @param pending subscribers waiting for the connection to open
     * @param received messages received on the connection
     * @param dropped messages dropped, for subscribers attached to this connection, because their buffer was full
     */
    public record Worker(int worker, int open, int channels, int patterns, int subscribers, int pending, long received,
            long dropped) {

        /** @return channels plus patterns subscribed on the connection */
        public int subscriptions() {
            return channels + patterns;
        }

        /** @return open connections with at least one subscription (0 or 1) */
        public int acquired() {
            return open > 0 && subscriptions() > 0 ? open : 0;
        }

        /** @return open connections without any subscription (0 or 1) */
        public int idle() {
            return open - acquired();
        }
    }
}
