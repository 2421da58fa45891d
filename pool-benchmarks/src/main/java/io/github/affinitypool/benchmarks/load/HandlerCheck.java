package io.github.affinitypool.benchmarks.load;

import io.github.affinitypool.benchmarks.load.server.BenchOps;
import io.github.affinitypool.testing.RedisServer;

/** The benchmark's own correctness: before timing, each endpoint of a setup must return the right value. */
final class HandlerCheck {

    private HandlerCheck() {
    }

    /**
     * Checks {@code /get}, {@code /set} and {@code /mix} of {@code server}, and for setups that use Redis that the SET
     * and the INCR reached {@code redis}.
     *
     * @throws IllegalStateException naming the setup and what was wrong
     */
    static void verify(ChildServer server, RedisServer redis) {
        String setup = server.setup().label();
        expect(setup, "/get", BenchOps.VALUE, server.get("/get"));
        if (server.setup().usesRedis()) {
            redis.command("DEL", BenchOps.SET_KEY);
        }
        expect(setup, "/set", "OK", server.get("/set"));
        if (server.setup().usesRedis()) {
            expect(setup, "GET " + BenchOps.SET_KEY + " after /set", BenchOps.VALUE, redis.command("GET", BenchOps.SET_KEY));
            redis.command("DEL", BenchOps.SET_KEY);
            long counter = counter(redis);
            expect(setup, "/mix", BenchOps.VALUE, server.get("/mix"));
            expect(setup, "GET " + BenchOps.SET_KEY + " after /mix", BenchOps.VALUE, redis.command("GET", BenchOps.SET_KEY));
            expect(setup, BenchOps.COUNTER_KEY + " after /mix", Long.toString(counter + 1), Long.toString(counter(redis)));
        }
        else {
            expect(setup, "/mix", BenchOps.VALUE, server.get("/mix"));
        }
        expect(setup, "/errors", "", server.get("/errors"));
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
