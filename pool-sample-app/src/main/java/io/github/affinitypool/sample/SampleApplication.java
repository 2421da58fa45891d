package io.github.affinitypool.sample;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * WebFlux demo of the Redis affinity pool: key/value, a transactional counter, server-sent events from Pub/Sub and
 * a page that shows how many Redis replies were decoded on the request's own event loop.
 */
@SpringBootApplication
public class SampleApplication {

    public static void main(String[] args) {
        SpringApplication.run(SampleApplication.class, args);
    }
}
