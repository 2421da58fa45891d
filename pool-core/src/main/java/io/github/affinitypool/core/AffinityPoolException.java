package io.github.affinitypool.core;

/** Base of the exceptions an {@link AffinityPool} fails an acquire with. */
public abstract class AffinityPoolException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String poolName;
    private final int worker;

    AffinityPoolException(String message, String poolName, int worker, boolean writableStackTrace) {
        super(message, null, true, writableStackTrace);
        this.poolName = poolName;
        this.worker = worker;
    }

    /** @return the name of the pool that failed the acquire */
    public String poolName() {
        return poolName;
    }

    /** @return the borrower's worker, or {@code -1} when the borrower was not on a worker loop */
    public int worker() {
        return worker;
    }
}
