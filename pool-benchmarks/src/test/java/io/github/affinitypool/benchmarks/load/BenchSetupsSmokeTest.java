package io.github.affinitypool.benchmarks.load;

import io.github.affinitypool.benchmarks.load.server.BenchOps;
import io.github.affinitypool.benchmarks.load.server.BenchServer;
import io.github.affinitypool.testing.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Each setup's handlers return the right values: the load benchmark's own pre-timing check, run on every setup's
 * server in this JVM (no load, nothing timed).
 */
class BenchSetupsSmokeTest {

    private static RedisServer redis;

    @BeforeAll
    static void startRedis() {
        redis = RedisServer.builder().start();
        redis.command("SET", BenchOps.GET_KEY, BenchOps.VALUE);
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @ParameterizedTest
    @EnumSource(value = Setup.class, mode = EnumSource.Mode.EXCLUDE, names = {"SDR_POOLED_SMALL", "LEASES_SMALL"})
    void handlersReturnTheRightValues(Setup setup) {
        String[] args = setup.serverArguments(redis.uri()).toArray(String[]::new);
        try (ConfigurableApplicationContext context = BenchServer.start(args)) {
            int port = ((WebServerApplicationContext) context).getWebServer().getPort();
            HandlerCheck.verify(setup, path -> ChildServer.httpGet(setup, "http://127.0.0.1:" + port + path), redis);
        }
    }
}
