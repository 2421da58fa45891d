package io.github.affinitypool.sample;

import org.springframework.http.HttpStatus;
import org.springframework.web.server.ResponseStatusException;

/** The {@code ttl} request parameter: seconds, checked before anything reaches Redis. */
final class TimeToLive {

    /** Longest TTL taken: Redis refuses an expiry whose milliseconds since the epoch overflow. */
    static final long MAX_SECONDS = Integer.MAX_VALUE;

    private TimeToLive() {
    }

    /**
     * @param seconds the {@code ttl} parameter
     * @return {@code seconds}
     * @throws ResponseStatusException 400 when it is not between 1 and {@link #MAX_SECONDS}
     */
    static long check(long seconds) {
        if (seconds < 1 || seconds > MAX_SECONDS) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
                    "ttl must be between 1 and " + MAX_SECONDS + " seconds, was " + seconds);
        }
        return seconds;
    }
}
