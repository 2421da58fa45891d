package io.github.affinitypool.testing;

import java.time.Duration;
import java.util.function.Supplier;

/** Waits for a server to answer PING, by polling with a short, growing pause rather than sleeping a fixed time. */
final class Readiness {

    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);
    private static final long MAX_PAUSE_MILLIS = 50;

    private Readiness() {
    }

    /** The outcome of {@link #awaitPing}: {@code null} when the server is up, else why it is not. */
    static String awaitPing(String host, int port, long deadlineNanos, Supplier<String> whyGone) {
        long pause = 2;
        String lastReply = null;
        while (true) {
            String gone = whyGone.get();
            if (gone != null) {
                return gone;
            }
            lastReply = RawRedisConnection.probe(host, port, PROBE_TIMEOUT);
            // NOAUTH means a server is up and wants a password first; whether it is ours, the caller checks
            if (lastReply != null && (lastReply.equals("+PONG") || lastReply.startsWith("-NOAUTH"))) {
                return null;
            }
            if (System.nanoTime() - deadlineNanos > 0) {
                return "no PONG from " + host + ":" + port + " before the deadline (last reply: "
                        + (lastReply == null ? "none, connection failed" : lastReply) + ")";
            }
            sleep(pause);
            pause = Math.min(MAX_PAUSE_MILLIS, pause * 2);
        }
    }

    /** Polls {@code done} until it is true or the deadline passes; returns its last value. */
    static boolean poll(long deadlineNanos, Supplier<Boolean> done) {
        long pause = 1;
        while (!done.get()) {
            if (System.nanoTime() - deadlineNanos > 0) {
                return false;
            }
            sleep(pause);
            pause = Math.min(MAX_PAUSE_MILLIS, pause * 2);
        }
        return true;
    }

    static long deadline(Duration timeout) {
        return System.nanoTime() + timeout.toNanos();
    }

    /** A short pause between two attempts that cannot be polled for (e.g. re-binding a port). */
    static void backoff(long millis) {
        sleep(millis);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for Redis", e);
        }
    }
}
