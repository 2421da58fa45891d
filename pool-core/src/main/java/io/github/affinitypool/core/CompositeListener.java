package io.github.affinitypool.core;

import java.util.List;

/**
 * Passes every event to several listeners in order: see {@link AffinityPoolListener#guarded(List, String)}. Each
 * part is guarded on its own, so one that throws does not keep the event from the ones after it.
 */
final class CompositeListener implements AffinityPoolListener {

    private final AffinityPoolListener[] parts;

    CompositeListener(List<AffinityPoolListener> guardedParts) {
        this.parts = guardedParts.toArray(new AffinityPoolListener[0]);
    }

    @Override
    public void acquired(int worker, Locality locality, long nanos) {
        for (AffinityPoolListener part : parts) {
            part.acquired(worker, locality, nanos);
        }
    }

    @Override
    public void acquireFailed(int worker, AcquireOutcome outcome, long nanos) {
        for (AffinityPoolListener part : parts) {
            part.acquireFailed(worker, outcome, nanos);
        }
    }

    @Override
    public void opened(int poolIndex) {
        for (AffinityPoolListener part : parts) {
            part.opened(poolIndex);
        }
    }

    @Override
    public void closed(int poolIndex, CloseReason reason) {
        for (AffinityPoolListener part : parts) {
            part.closed(poolIndex, reason);
        }
    }

    @Override
    public void leakSuspected(int worker) {
        for (AffinityPoolListener part : parts) {
            part.leakSuspected(worker);
        }
    }

    @Override
    public String toString() {
        return "CompositeListener" + List.of(parts);
    }
}
