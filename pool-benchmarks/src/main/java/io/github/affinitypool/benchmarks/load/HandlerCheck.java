package io.github.affinitypool.benchmarks.load;

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
        expect(label, "/get", BenchOps.VALUE, get.apply("/get"));
        if (setup.usesRedis()) {
            redis.command("DEL", BenchOps.SET_KEY);
        }
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
