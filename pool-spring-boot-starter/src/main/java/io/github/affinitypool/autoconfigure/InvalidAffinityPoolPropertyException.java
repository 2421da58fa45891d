package io.github.affinitypool.autoconfigure;

/**
 * Thrown at start-up when an {@code affinity-pool.redis.*} property has a value the pool cannot work with.
 * {@link InvalidAffinityPoolPropertyFailureAnalyzer} turns it into a failure report naming the property and the fix.
 * The value it carries is already masked when it could hold a password.
 */
public class InvalidAffinityPoolPropertyException extends IllegalStateException {

    private final String property;

    private final String value;

    private final String reason;

    private final String action;

    /**
     * @param property full property name, e.g. {@code affinity-pool.redis.pool.max-open}
     * @param value the offending value, masked when it could hold a password
     * @param reason why the value is invalid
     * @param action how to fix it
     */
    public InvalidAffinityPoolPropertyException(String property, Object value, String reason, String action) {
        super("Invalid value '" + value + "' for property '" + property + "': " + reason);
        this.property = property;
        this.value = String.valueOf(value);
        this.reason = reason;
        this.action = action;
    }

    /** @return full name of the offending property */
    public String getProperty() {
        return this.property;
    }

    /** @return the offending value, masked when it could hold a password */
    public String getValue() {
        return this.value;
    }

    /** @return why the value is invalid */
    public String getReason() {
        return this.reason;
    }

    /** @return how to fix it */
    public String getAction() {
        return this.action;
    }
}
