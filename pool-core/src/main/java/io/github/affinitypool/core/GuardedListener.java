package io.github.affinitypool.core;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Exceptions;

/** Keeps a failing listener from breaking the pool: see {@link AffinityPoolListener#guarded}. */
final class GuardedListener implements AffinityPoolListener {

    private static final Logger log = LoggerFactory.getLogger(GuardedListener.class);

    private final AffinityPoolListener delegate;

    private final String poolName;

    GuardedListener(AffinityPoolListener delegate, String poolName) {
        this.delegate = delegate;
        this.poolName = poolName;
    }

    @Override
    public void acquired(int worker, Locality locality, long nanos) {
        notify(() -> delegate.acquired(worker, locality, nanos));
    }

    @Override
    public void acquireFailed(int worker, AcquireOutcome outcome, long nanos) {
        notify(() -> delegate.acquireFailed(worker, outcome, nanos));
    }

    @Override
    public void opened(int poolIndex) {
        notify(() -> delegate.opened(poolIndex));
    }

    @Override
    public void closed(int poolIndex, CloseReason reason) {
        notify(() -> delegate.closed(poolIndex, reason));
    }

    @Override
    public void leakSuspected(int worker) {
        notify(() -> delegate.leakSuspected(worker));
    }

    private void notify(Runnable event) {
        try {
            event.run();
        }
        catch (Throwable error) {
            // An AssertionError or another Error of a listener must not skip the pool's own bookkeeping that follows
            // the event (a close that is not counted would keep its connect slot for good); only the JVM's fatal
            // errors go on.
            Exceptions.throwIfJvmFatal(error);
            log.warn("Pool '{}': listener {} failed", poolName, delegate, error);
        }
    }
}
