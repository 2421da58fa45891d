package io.github.affinitypool.testing;

import java.time.Duration;

/** What runs a {@link RedisServer}: a local process or a container. All calls are made under the server's lock. */
interface ServerBackend {

    /**
     * Starts the server (on the same port as before if it ran before) and returns once it answers PING. Only
     * called when it is not running.
     */
    void start(Duration timeout);

    /** Stops the server gracefully and waits until it is gone. No-op when it is not running. */
    void stop();

    /** Kills the server at once (SIGKILL) and waits until it is gone. */
    void kill();

    /** Freezes the server (SIGSTOP): connections are accepted by the kernel, nothing is answered. */
    void pause();

    /** Unfreezes a paused server (SIGCONT). */
    void resume();

    boolean isRunning();

    boolean isPaused();

    long pid();

    String host();

    /** @return the port clients connect to, or -1 before the first start */
    int port();

    /** @return the TLS port clients connect to, or -1 before the first start or without TLS */
    int tlsPort();

    /** @return what the server has logged so far */
    String log();

    /** Stops the server and releases everything (temp dirs). */
    void close();

    /**
     * For the JVM shutdown hook: ends the server as fast as possible and releases what it can. Called without
     * the server's lock (another thread may hold it), so it must be safe to run concurrently.
     */
    void killNow();
}
