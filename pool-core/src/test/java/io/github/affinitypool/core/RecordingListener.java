package io.github.affinitypool.core;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A listener that records every pool event as a line of text, for the core and the Redis pool tests. */
public final class RecordingListener implements AffinityPoolListener {

    /** The events in order, e.g. {@code opened 0}, {@code acquired 1 STOLEN}, {@code closed 0 POOL_CLOSED}. */
    public final List<String> events = new CopyOnWriteArrayList<>();

    @Override
    public void acquired(int worker, Locality locality, long nanos) {
        events.add("acquired " + worker + " " + locality);
    }

    @Override
    public void acquireFailed(int worker, AcquireOutcome outcome, long nanos) {
        events.add("failed " + worker + " " + outcome);
    }

    @Override
    public void opened(int poolIndex) {
        events.add("opened " + poolIndex);
    }

    @Override
    public void closed(int poolIndex, CloseReason reason) {
        events.add("closed " + poolIndex + " " + reason);
    }
}
