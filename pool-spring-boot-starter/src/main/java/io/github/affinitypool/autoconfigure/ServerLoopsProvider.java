package io.github.affinitypool.autoconfigure;

/**
 * Finds the Reactor Netty web server's event loops, looked up when the pool is created.
 */
@FunctionalInterface
interface ServerLoopsProvider {

    /** @return the server's loops, or {@code null} when the application runs no Reactor Netty web server */
    ServerLoops serverLoops();
}
