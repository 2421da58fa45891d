package io.github.affinitypool.autoconfigure;

import reactor.netty.resources.LoopResources;

/**
 * The event loops of the application's Reactor Netty web server, when it runs one.
 *
 * @param loopResources the loop resources the server runs on
 * @param preferNative the native-transport flag the server uses
 */
record ServerLoops(LoopResources loopResources, boolean preferNative) {

    /** @return number of event loops the server's group has */
    int workers() {
        int count = 0;
        for (Object ignored : loopResources.onServer(preferNative)) {
            count++;
        }
        return count;
    }
}
