package io.github.affinitypool.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Reports an invalid {@code affinity-pool.redis.*} property with its name, its (masked) value and the fix.
 */
class InvalidAffinityPoolPropertyFailureAnalyzer extends AbstractFailureAnalyzer<InvalidAffinityPoolPropertyException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, InvalidAffinityPoolPropertyException cause) {
        return new FailureAnalysis(cause.getMessage() + ".", cause.getAction(), cause);
    }
}
