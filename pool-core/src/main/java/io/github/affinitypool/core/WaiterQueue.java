package io.github.affinitypool.core;

import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The FIFO queue of borrowers waiting for a resource from any pool, bounded by {@code maxPendingAcquires}.
 * <p>
 * A borrower is counted from {@link Borrower#enterQueue()} to the one {@link Borrower#leaveQueue()} that succeeds, so a
 * borrower that times out or cancels while being queued or polled is counted out exactly once.
 *
 * @param <T> the resource type
 */
final class WaiterQueue<T> {

    private final Deque<Borrower<T>> queue = new ConcurrentLinkedDeque<>();
    private final AtomicInteger size = new AtomicInteger();

    /** @return false, without queueing, when {@code limit} borrowers wait already */
    boolean offer(Borrower<T> borrower, int limit) {
        // Counted in only below the limit, never tentatively: a concurrent borrower failing at the limit reports the
        // queue's size in its message, and a count raised and taken back would show a waiter that never was.
        int current;
        do {
            current = size.get();
            if (current >= limit) {
                return false;
            }
        }
        while (!size.compareAndSet(current, current + 1));
        borrower.enterQueue();
        queue.offerLast(borrower);
        dropIfDone(borrower);
        return true;
    }

    /** Puts back at the head a borrower that was polled but could not be served after all; not bounded. */
    void offerFirst(Borrower<T> borrower) {
        size.incrementAndGet();
        borrower.enterQueue();
        queue.offerFirst(borrower);
        dropIfDone(borrower);
    }

    /** @return the longest-waiting borrower that is still pending, removed from the queue, or null */
    Borrower<T> poll() {
        Borrower<T> borrower;
        while ((borrower = queue.pollFirst()) != null) {
            if (borrower.leaveQueue()) {
                size.decrementAndGet();
                if (borrower.isPending()) {
                    return borrower;
                }
            }
        }
        return null;
    }

    /** Removes a borrower that stopped waiting (timed out, cancelled or failed); does nothing if it was not queued. */
    void remove(Borrower<T> borrower) {
        if (borrower.leaveQueue()) {
            size.decrementAndGet();
            queue.remove(borrower);
        }
    }

    int size() {
        return size.get();
    }

    boolean isEmpty() {
        return size.get() == 0;
    }

    /** A borrower that terminated while being queued missed its own removal: it saw it was not queued yet. */
    private void dropIfDone(Borrower<T> borrower) {
        if (!borrower.isPending()) {
            remove(borrower);
        }
    }
}
