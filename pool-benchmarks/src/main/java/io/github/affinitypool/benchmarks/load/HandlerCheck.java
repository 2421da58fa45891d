package io.github.affinitypool.benchmarks.load;

import java.util.UUID;
import java.util.function.UnaryOperator;

import io.github.affinitypool.benchmarks.load.server.BenchOps;
import io.github.affinitypool.testing.RedisServer;

/** The benchmark's own correctness: before timing, each endpoint of a setup must return the right value. */
final class HandlerCheck {

    private HandlerCheck() {
    }

    /**
     * Checks {@code /get}, {@code /set} and {@code /mix} of a setup's server, and for setups that use Redis that the
     * SET and the INCR reached {@code redis}.
     *
     * @param get the body of a GET of a path on the server (failing unless it answers 200)
     * @throws IllegalStateException naming the setup and what was wrong
     */
    static void verify(Setup setup, UnaryOperator<String> get, RedisServer redis) {
        String label = setup.label();
        if (setup.usesRedis()) {
            readsWhatRedisHolds(label, get, redis);
            redis.command("DEL", BenchOps.SET_KEY);
        }
        expect(label, "/get", BenchOps.VALUE, get.apply("/get"));
        expect(label, "/set", "OK", get.apply("/set"));
        if (setup.usesRedis()) {
            expect(label, "GET " + BenchOps.SET_KEY + " after /set", BenchOps.VALUE,
                    redis.command("GET", BenchOps.SET_KEY));
            redis.command("DEL", BenchOps.SET_KEY);
            long counter = counter(redis);
            expect(label, "/mix", BenchOps.VALUE, get.apply("/mix"));
            expect(label, "GET " + BenchOps.SET_KEY + " after /mix", BenchOps.VALUE,
                    redis.command("GET", BenchOps.SET_KEY));
            expect(label, BenchOps.COUNTER_KEY + " after /mix", Long.toString(counter + 1),
                    Long.toString(counter(redis)));
        }
        else {
            expect(label, "/mix", BenchOps.VALUE, get.apply("/mix"));
        }
        expect(label, "/errors", "", get.apply("/errors"));
    }

    /**
     * The benchmark's value is also what a handler answering a constant returns: a probe value stored under the key
     * for a moment tells a handler that reads Redis from one that does not.
     */
    private static void readsWhatRedisHolds(String label, UnaryOperator<String> get, RedisServer redis) {
        String probe = "probe-" + UUID.randomUUID();
        redis.command("SET", BenchOps.GET_KEY, probe);
        try {
            expect(label, "/get of a probe value", probe, get.apply("/get"));
            expect(label, "/mix of a probe value", probe, get.apply("/mix"));
        }
        finally {
            redis.command("SET", BenchOps.GET_KEY, BenchOps.VALUE);
        }
    }

    private static long counter(RedisServer redis) {
        String value = redis.command("GET", BenchOps.COUNTER_KEY);
        return (value == null) ? 0 : Long.parseLong(value);
    }

    private static void expect(String setup, String what, String expected, String actual) {
        if (!expected.equals(actual)) {
            throw new IllegalStateException("Setup '" + setup + "': " + what + " returned '" + actual + "', expected '"
                    + expected + "'");
        }
    }
}
