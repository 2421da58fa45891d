package io.github.affinitypool.redis;

import static io.github.affinitypool.redis.PoolFixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import io.lettuce.core.api.reactive.RedisReactiveCommands;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import io.github.affinitypool.core.AffinityPoolConfig;
import io.github.affinitypool.core.AffinityPoolStats;

/**
 * Leases cancelled from a thread other than their connection's loop, at random moments, while that loop dispatches
 * the lease's next command or runs its reset: afterwards nothing is acquired or pending, and every lease, also one
 * taken during the storm, gets a clean connection (database 0, no MULTI, auto-flush on) whose replies are its own.
 */
class LeaseCancellationStormTest extends PoolPerTest {

    private static final int OPERATIONS = 3000;

    private static final int KNOWN_KEYS = 16;

    /** The number of kinds of cancelled operations, see {@link #operation(int)}. */
    private static final int KINDS = 14;

    LeaseCancellationStormTest() {
        // Leak detection: a lease still out after 5 s logs the stack of the call in operation(kind) that took it (no
        // such warning while one stays acquired: the resource was lost before its delivery or after its release began).
        super(builder -> exclusive(builder, "storm", 2, 4, Duration.ofSeconds(2))
                .poolConfig(AffinityPoolConfig.builder().maxOpen(4).maxIdlePerWorker(1)
                        .leakDetectionThreshold(Duration.ofSeconds(5)).build()));
    }

    @Test
    void leasesCancelledOffTheirLoopLeaveCleanConnections() {
        for (int k = 0; k < KNOWN_KEYS; k++) {
            pool.commands().set("storm:known:" + k, "value-" + k).block(TIMEOUT);
        }
        Scheduler cancellers = Schedulers.newParallel("storm-cancel", 2);
        Queue<String> defects = new ConcurrentLinkedQueue<>();
        AtomicInteger probes = new AtomicInteger();
        try {
            SplittableRandom random = new SplittableRandom(7);
            Flux.range(0, OPERATIONS)
                    .flatMap(i -> {
                        int worker = i % 2;
                        int kind = random.nextInt(KINDS + KINDS / 5);
                        if (kind >= KINDS) {
                            probes.incrementAndGet();
                            return probe(i % KNOWN_KEYS, defects).subscribeOn(pool.loops().scheduler(worker));
                        }
                        Flux<?> operation = operation(kind);
                        // Cancelled by a timer on another thread, anywhere from before the acquire to after the end.
                        long cancelAfterNanos = random.nextLong(0, 1_500_000);
                        int where = random.nextInt(4);
                        Scheduler canceller = where == 3 ? pool.loops().scheduler(1 - worker) : cancellers;
                        Scheduler subscriber = where == 2 ? Schedulers.boundedElastic()
                                : pool.loops().scheduler(worker);
                        return operation.take(Duration.ofNanos(cancelAfterNanos), canceller)
                                .subscribeOn(subscriber)
                                .then()
                                .onErrorResume(error -> Mono.empty());
                    }, 6)
                    .blockLast(Duration.ofSeconds(60));
        }
        finally {
            cancellers.dispose();
        }

        try {
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                AffinityPoolStats stats = pool.stats();
                assertThat(stats.total().acquired()).as("acquired, %s", stats).isZero();
                assertThat(stats.total().pending()).as("pending, %s", stats).isZero();
            });
        }
        catch (ConditionTimeoutException stuck) {
            // The threads tell a blocked loop (a release's reset and the timeout bounding it both wait for that loop)
            // from a lease that is simply lost; otherwise a release takes at most the 2 s acquire timeout of its reset.
            throw new AssertionError(stuck.getMessage() + "\n" + threads(), stuck);
        }
        for (int i = 0; i < 4 * KNOWN_KEYS; i++) {
            probe(i % KNOWN_KEYS, defects).block(TIMEOUT);
        }
        assertThat(probes.get()).isGreaterThan(OPERATIONS / 20);
        assertThat(defects).as("defects seen by the probes").isEmpty();
    }

    /** @return the full stacks of the pool's loops and of the threads that cancel or subscribe during the storm */
    private static String threads() {
        StringBuilder dump = new StringBuilder();
        for (ThreadInfo thread : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            String name = thread.getThreadName();
            if (!name.contains("storm") && !name.contains("boundedElastic")) {
                continue;
            }
            dump.append('"').append(name).append("\" ").append(thread.getThreadState());
            if (thread.getLockName() != null) {
                dump.append(" on ").append(thread.getLockName()).append(" owned by ").append(thread.getLockOwnerName());
            }
            dump.append('\n');
            for (StackTraceElement frame : thread.getStackTrace()) {
                dump.append("    at ").append(frame).append('\n');
            }
        }
        return dump.toString();
    }

    /** A lease that does what can go wrong on a dirty connection, by kind. */
    private Flux<?> operation(int kind) {
        return switch (kind) {
            // Five INCRs, each issued when the previous one answered.
            case 0 -> pool.withConnection(c -> c.incr("storm:n").then(c.incr("storm:n")).then(c.incr("storm:n"))
                    .then(c.incr("storm:n")).then(c.incr("storm:n")));
            case 1 -> pool.withConnection(c -> Flux.concat(c.incr("storm:n"), c.incr("storm:n"), c.incr("storm:n"),
                    c.incr("storm:n"), c.incr("storm:n")));
            // Another database, then commands in it.
            case 2 -> pool.withConnection(c -> c.select(1).then(c.incr("storm:n")).then(c.incr("storm:n"))
                    .then(c.incr("storm:n")));
            case 3 -> pool.transaction(c -> Flux.merge(c.incr("storm:n"), c.incr("storm:n"), c.incr("storm:n"),
                    c.incr("storm:n"), c.incr("storm:n"))).flux();
            case 4 -> pool.transaction(List.of("storm:n"), c -> c.get("storm:n").defaultIfEmpty("0"),
                    (c, value) -> Flux.merge(c.incr("storm:n"), c.set("storm:last", value))).flux();
            case 5 -> pool.pipelined(c -> Flux.mergeSequential(c.incr("storm:n"), c.incr("storm:n"),
                    c.incr("storm:n"), c.incr("storm:n"), c.incr("storm:n")));
            // A pipeline whose results lead to more commands.
            case 6 -> pool.pipelined(c -> c.incr("storm:n").flatMap(n -> c.incr("storm:n"))
                    .flatMap(n -> c.incr("storm:n")));
            // A lease that also uses MULTI itself, without EXEC.
            case 7 -> pool.withConnection(c -> c.multi().then(c.incr("storm:n")).then(c.incr("storm:n")));
            case 8 -> pool.withConnection(c -> {
                throw new IllegalStateException("thrown");
            });
            case 9 -> pool.transaction(c -> {
                c.getStatefulConnection().async().incr("storm:n");
                return Mono.error(new IllegalStateException("failed after issuing"));
            }).flux();
            case 10 -> pool.withConnection(c -> {
                c.getStatefulConnection().async().incr("storm:n");
                c.incr("storm:n");
                return Mono.error(new IllegalStateException("failed after issuing"));
            });
            case 11 -> pool.transaction(c -> Flux.merge(c.incr("storm:n"), Mono.never())).flux();
            case 12 -> pool.pipelined(c -> {
                c.getStatefulConnection().async().incr("storm:n");
                return Flux.merge(c.incr("storm:n"), Flux.never());
            });
            default -> pool.transaction(List.of("storm:n"), c -> c.select(1).then(c.incr("storm:n")),
                    (c, n) -> Flux.merge(c.incr("storm:n"), c.select(0)).then(Mono.error(new IllegalStateException())))
                    .flux();
        };
    }

    /**
     * A lease that checks its connection: database 0, no MULTI (a MULTI'd connection answers QUEUED), and each
     * command answered with its own reply. Any error is a defect too: a probe is never cancelled.
     */
    private Mono<Void> probe(int key, Queue<String> defects) {
        return pool.withConnection(c -> check(c, key))
                .doOnNext(defects::add)
                .onErrorResume(error -> {
                    defects.add("probe failed: " + error);
                    return Mono.empty();
                })
                .then();
    }

    private static Flux<String> check(RedisReactiveCommands<String, String> c, int key) {
        return c.clientInfo().zipWith(c.get("storm:known:" + key)).zipWith(c.echo("echo-" + key))
                .flatMapMany(answers -> {
                    String info = answers.getT1().getT1();
                    String value = answers.getT1().getT2();
                    String echo = answers.getT2();
                    Flux<String> problems = Flux.empty();
                    if (!info.contains(" db=0 ")) {
                        problems = problems.concatWithValues("not on db 0: " + info);
                    }
                    if (!info.contains(" multi=-1 ")) {
                        problems = problems.concatWithValues("in MULTI: " + info);
                    }
                    if (!("value-" + key).equals(value)) {
                        problems = problems.concatWithValues("GET storm:known:" + key + " answered " + value);
                    }
                    if (!("echo-" + key).equals(echo)) {
                        problems = problems.concatWithValues("ECHO echo-" + key + " answered " + echo);
                    }
                    return problems;
                });
    }
}
