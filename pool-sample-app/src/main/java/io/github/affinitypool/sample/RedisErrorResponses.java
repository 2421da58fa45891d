package io.github.affinitypool.sample;

import java.util.List;

import io.github.affinitypool.core.PoolClosedException;
import io.github.affinitypool.core.PoolExhaustedException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * Answers Redis and pool failures in a way a client can act on, as RFC 9457 problem details: {@code 503 Service
 * Unavailable} when Redis cannot be reached or answer in time, or the pool has no connection to give in time (try
 * again later); {@code 409 Conflict} when Redis refused the operation on the data it holds (WRONGTYPE, an INCR that
 * would overflow). The pool's messages name the pool and its state, never the password.
 */
@RestControllerAdvice
class RedisErrorResponses {

    /**
     * Error replies that say Redis cannot serve now, rather than that the operation does not fit the data: among them
     * the writes it refuses while too few replicas are in sync (NOREPLICAS) or after a failed snapshot (MISCONF).
     */
    private static final List<String> UNAVAILABLE_REPLIES = List.of("LOADING", "BUSY", "OOM", "MASTERDOWN",
            "TRYAGAIN", "READONLY", "NOREPLICAS", "MISCONF");

    @ExceptionHandler({ RedisConnectionException.class, RedisCommandTimeoutException.class,
            PoolExhaustedException.class, PoolClosedException.class })
    ProblemDetail unavailable(RuntimeException ex) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE, ex.getMessage());
    }

    @ExceptionHandler(RedisCommandExecutionException.class)
    ProblemDetail refused(RedisCommandExecutionException ex) {
        String reply = String.valueOf(ex.getMessage());
        boolean unavailable = UNAVAILABLE_REPLIES.stream().anyMatch(reply::startsWith);
        return ProblemDetail.forStatusAndDetail(unavailable ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.CONFLICT,
                reply);
    }
}
