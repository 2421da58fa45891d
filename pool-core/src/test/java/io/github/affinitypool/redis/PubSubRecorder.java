package io.github.affinitypool.redis;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;

/** Records what a Pub/Sub subscriber receives, and on which threads. */
final class PubSubRecorder extends BaseSubscriber<PubSubMessage<String, String>> {

    private final long initialRequest;

    private final List<PubSubMessage<String, String>> messages = new ArrayList<>();

    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();

    final AtomicReference<Throwable> error = new AtomicReference<>();

    final AtomicBoolean completed = new AtomicBoolean();

    /** A subscriber with unbounded demand. */
    PubSubRecorder() {
        this(Long.MAX_VALUE);
    }

    /** A subscriber that requests {@code initialRequest} at first and more only when told to. */
    PubSubRecorder(long initialRequest) {
        this.initialRequest = initialRequest;
    }

    /**
     * Subscribes a new recorder with unbounded demand on worker {@code worker}'s loop.
     *
     * @return the recorder
     */
    static PubSubRecorder onWorker(RedisAffinityPool<String, String> pool, int worker,
            Flux<PubSubMessage<String, String>> messages) {
        PubSubRecorder recorder = new PubSubRecorder();
        messages.subscribeOn(pool.loops().scheduler(worker)).subscribe(recorder);
        return recorder;
    }

    @Override
    protected void hookOnSubscribe(Subscription subscription) {
        subscription.request(initialRequest);
    }

    @Override
    protected void hookOnNext(PubSubMessage<String, String> message) {
        threads.add(Thread.currentThread());
        synchronized (messages) {
            messages.add(message);
        }
    }

    @Override
    protected void hookOnError(Throwable throwable) {
        threads.add(Thread.currentThread());
        error.set(throwable);
    }

    @Override
    protected void hookOnComplete() {
        completed.set(true);
    }

    List<PubSubMessage<String, String>> messages() {
        synchronized (messages) {
            return List.copyOf(messages);
        }
    }

    List<String> payloads() {
        return messages().stream().map(PubSubMessage::payload).toList();
    }

    /** @return the threads that delivered messages or the error */
    Set<Thread> threads() {
        return Set.copyOf(threads);
    }

    int count() {
        synchronized (messages) {
            return messages.size();
        }
    }
}
