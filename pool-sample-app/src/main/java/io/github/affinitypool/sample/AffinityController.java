package io.github.affinitypool.sample;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /affinity}: per worker, the Redis calls made by requests and how many replies arrived on the
 * request's own loop.
 */
@RestController
class AffinityController {

    private final AffinityRecorder affinity;

    AffinityController(AffinityRecorder affinity) {
        this.affinity = affinity;
    }

    @GetMapping("/affinity")
    AffinityRecorder.Report affinity() {
        return affinity.report();
    }
}
