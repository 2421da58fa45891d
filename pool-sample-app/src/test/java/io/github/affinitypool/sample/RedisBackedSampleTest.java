package io.github.affinitypool.sample;

import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisServerInstance;
import io.github.affinitypool.testing.RedisTest;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The sample app on a random port, pointed at a real redis-server of its own (one per test class). The context is
 * closed after each class: its server is, and a cached context would point the next class at a dead port.
 */
@RedisTest
// The Redis URL comes from a @DynamicPropertySource, which the embedded-Redis switch cannot see: turn it off.
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT, properties = "sample.embedded-redis.enabled=false")
@DirtiesContext
abstract class RedisBackedSampleTest {

    @RedisServerInstance
    static RedisServer redis;

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void redisUrl(DynamicPropertyRegistry registry) {
        registry.add("affinity-pool.redis.url", () -> redis.uri());
    }

    /** @return the app's base URL */
    String baseUrl() {
        return "http://localhost:" + port;
    }
}
