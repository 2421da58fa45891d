package io.github.affinitypool.core;

import java.util.concurrent.atomic.AtomicBoolean;

/** A fake pooled resource that remembers the loop it was opened on and whether it was closed. */
final class StubResource {

    final int id;
    final int worker;
    final Thread openedOn;
    final AtomicBoolean closed = new AtomicBoolean();
    volatile boolean usable = true;
    volatile Thread closedOn;
    volatile Thread lastResetOn;

    StubResource(int id, int worker, Thread openedOn) {
        this.id = id;
        this.worker = worker;
        this.openedOn = openedOn;
    }

    boolean isClosed() {
        return closed.get();
    }

    @Override
    public String toString() {
        return "StubResource#" + id + "@" + worker;
    }
}
