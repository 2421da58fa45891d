package io.github.affinitypool.redis;

import java.util.List;

/**
 * An immutable snapshot of the shared, multiplexed connections behind {@link RedisAffinityPool#commands()}, taken
 * without stopping them.
 *
 * @param perWorker shared connections per worker ({@code sharedConnectionsPerWorker})
 * @param workers one entry per worker, in worker order
 */
public record SharedStats(int perWorker, List<Worker> workers) {

    public SharedStats {
        workers = List.copyOf(workers);
    }

    /** @return open shared connections, all workers */
    public int open() {
        return workers.stream().mapToInt(Worker::open).sum();
    }

    /** @return shared connections being opened, all workers */
    public int connecting() {
        return workers.stream().mapToInt(Worker::connecting).sum();
    }

    /** @return shared connections whose last connect failed, all workers */
    public int unavailable() {
        return workers.stream().mapToInt(Worker::unavailable).sum();
    }

    /**
     * One worker's shared connections. A connection is in at most one of the three states; one that is in none is
     * closed and is opened again by the next call that needs it.
     *
     * @param worker the worker index
     * @param open connections open
     * @param connecting connections being opened (a first connect, or a reconnect after one was lost)
     * @param unavailable connections whose last connect failed: calls fail fast until the back-off has passed, then
     *        the next call tries again
     */
    public record Worker(int worker, int open, int connecting, int unavailable) {

        /** @return connections open or being opened, the {@code allocated} gauge */
        public int allocated() {
            return open + connecting;
        }
    }
}
