package io.github.affinitypool.core;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.resources.LoopResources;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WorkerLoopsTest {

    @Test
    void eachLoopThreadKnowsItsWorkerAndOtherThreadsAreOffLoop() {
        try (WorkerLoops loops = WorkerLoops.standalone("loops-test", 3)) {
            for (int worker = 0; worker < 3; worker++) {
                assertThat(Mono.fromCallable(loops::currentWorker).subscribeOn(loops.scheduler(worker))
                        .block(Duration.ofSeconds(5))).isEqualTo(worker);
            }
            assertThat(loops.currentWorker()).isEqualTo(-1);
            assertThat(loops.size()).isEqualTo(3);
            assertThat(loops.isOwned()).isTrue();
        }
    }

    @Test
    void offLoopCallersGetTheWorkersInTurn() {
        try (WorkerLoops loops = WorkerLoops.standalone("loops-test", 3)) {
            assertThat(new int[] {loops.currentOrNextWorker(), loops.nextWorker(), loops.nextWorker(),
                    loops.nextWorker()}).containsExactly(0, 1, 2, 0);
        }
    }

    @Test
    void standaloneLoopsAreShutDownOnCloseIntegratedOnesAreNot() {
        LoopResources server = LoopResources.create("server-test", 1, 2, true);
        try {
            WorkerLoops integrated = WorkerLoops.integrated(server, LoopResources.DEFAULT_NATIVE);
            integrated.close();
            assertThat(integrated.isOwned()).isFalse();
            assertThat(integrated.loop(0).isShuttingDown()).isFalse();

            WorkerLoops standalone = WorkerLoops.standalone("loops-test", 1);
            standalone.close();
            assertThat(standalone.loop(0).isShuttingDown()).isTrue();
            assertThat(standalone.scheduler(0).isDisposed()).isTrue();
            assertThatThrownBy(() -> standalone.scheduler(0).schedule(() -> { }, 1, TimeUnit.MILLISECONDS))
                    .isInstanceOf(RejectedExecutionException.class)
                    .hasMessage("Scheduler of worker 0 is disposed: its loop shuts down");
        }
        finally {
            server.dispose();
        }
    }

    @Test
    void atLeastOneWorkerIsRequired() {
        assertThatIllegalArgumentException().isThrownBy(() -> WorkerLoops.standalone("loops-test", 0))
                .withMessage("workers must be at least 1, was 0");
    }
}
