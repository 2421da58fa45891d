package io.github.affinitypool.redis;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Function;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.Base16;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.ProtocolKeyword;
import org.reactivestreams.Publisher;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The {@link RedisReactiveCommands} of {@link RedisAffinityPool#commands()}: a {@link Proxy} that routes every command,
 * when it is subscribed, to a shared connection pinned to the subscribing thread's worker (off-loop: round robin).
 * <p>
 * What to do with a method is decided once per {@link Method} and cached: route it as a {@code Mono} or {@code Flux},
 * refuse it (the {@link CommandPolicy} list), run it on an exclusive lease (the blocking pops, BLPOP, BZPOPMIN, ...),
 * decide by its arguments ({@code XREAD ... BLOCK} runs on a lease, {@code dispatch(MULTI, ...)} is refused), or answer
 * it without a connection ({@code digest}, {@code getJsonParser}).
 */
final class SharedCommands<K, V> implements InvocationHandler {

    private enum Kind {
        MONO, FLUX, REFUSED_MONO, REFUSED_FLUX, LEASED_MONO, LEASED_FLUX, XREAD, DISPATCH, CONTROL, LOCAL, OBJECT,
        DELEGATE
    }

    /** Runs work on an exclusive connection, released on complete, error and cancel: the pool's withConnection. */
    interface Exclusive<K, V> {

        Flux<Object> run(Function<RedisReactiveCommands<K, V>, Publisher<Object>> work);
    }

    private static final class Route {

        final Kind kind;

        final String command;

        Route(Kind kind, String command) {
            this.kind = kind;
            this.command = command;
        }
    }

    private final SharedConnections<K, V> shared;

    private final Exclusive<K, V> exclusive;

    private final ClientOptions options;

    private final String description;

    private final ConcurrentMap<Method, Route> routes = new ConcurrentHashMap<>();

    private SharedCommands(SharedConnections<K, V> shared, Exclusive<K, V> exclusive, ClientOptions options,
            String description) {
        this.shared = shared;
        this.exclusive = exclusive;
        this.options = options;
        this.description = description;
    }

    /**
     * @param shared the shared connections plain commands are routed to
     * @param exclusive runs blocking commands on an exclusive lease
     * @param options the connections' client options: script charset and JSON parser
     * @param description the proxy's {@code toString()}
     * @return the shared commands
     */
    @SuppressWarnings("unchecked")
    static <K, V> RedisReactiveCommands<K, V> create(SharedConnections<K, V> shared, Exclusive<K, V> exclusive,
            ClientOptions options, String description) {
        return (RedisReactiveCommands<K, V>) Proxy.newProxyInstance(RedisReactiveCommands.class.getClassLoader(),
                new Class<?>[] { RedisReactiveCommands.class },
                new SharedCommands<>(shared, exclusive, options, description));
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        Route route = routes.get(method);
        if (route == null) {
            route = routes.computeIfAbsent(method, SharedCommands::routeOf);
        }
        switch (route.kind) {
            case MONO:
                return Mono.defer(() -> (Mono<?>) route(method, args, false));
            case FLUX:
                return Flux.defer(() -> route(method, args, true));
            case REFUSED_MONO:
                return Mono.error(CommandPolicy.sharedRefusal(route.command));
            case REFUSED_FLUX:
                return Flux.error(CommandPolicy.sharedRefusal(route.command));
            case LEASED_MONO:
                return onLease(method, args).singleOrEmpty();
            case LEASED_FLUX:
                return onLease(method, args);
            case XREAD:
                return CommandPolicy.blocks(args) ? onLease(method, args) : Flux.defer(() -> route(method, args, true));
            case DISPATCH: {
                ProtocolKeyword type = (ProtocolKeyword) args[0];
                CommandArgs<?, ?> commandArgs = args.length > 2 ? (CommandArgs<?, ?>) args[2] : null;
                RefusedCommandException refusal = CommandPolicy.sharedRefusal(type, commandArgs);
                if (refusal != null) {
                    return Flux.error(refusal);
                }
                return CommandPolicy.runsOnLease(type, commandArgs) ? onLease(method, args)
                        : Flux.defer(() -> route(method, args, true));
            }
            case CONTROL:
                throw CommandPolicy.controlRefusal(method.getName());
            case LOCAL:
                return local(method, args);
            case OBJECT:
                return objectMethod(proxy, method, args);
            default:
                return delegate(method, args);
        }
    }

    /**
     * Picks the caller's worker's slot when subscribed; waits for its (re)connect only when it is not open.
     * <p>
     * Lettuce fails the commands of a broken socket with the bare I/O error (often without a message), or with a plain
     * "Connection disconnected" / "Currently not connected" RedisException naming nothing: the slot makes those clear,
     * and a timeout makes it check that its connection still answers. A command that was refused before it was written
     * is sent again, once, on a new connection: for a loop tick after its socket closed, a connection still says it
     * is open (Lettuce learns of the close a task later) but rejects every write, and without the retry every command
     * of that tick would fail although Redis never saw it.
     * <p>
     * A command sent after waiting for a connect, or sent again, fails on the caller's loop too: it can time out like
     * any other, and Lettuce signals the timeout on its computation thread.
     */
    private Publisher<?> route(Method method, Object[] args, boolean flux) {
        SharedConnections<K, V>.Slot slot = shared.pick();
        StatefulRedisConnection<K, V> connection = slot.openConnection();
        Thread caller = Thread.currentThread();
        if (flux) {
            if (connection == null) {
                return slot.connection().flatMapMany(c -> flux(method, c, args))
                        .onErrorResume(error -> slot.failedMany(caller, error)).onTerminateDetach();
            }
            return flux(method, connection, args).onErrorResume(error -> RedisUris.wasNotSent(error)
                    ? slot.replace(connection).flatMapMany(c -> flux(method, c, args))
                            .onErrorResume(retryError -> slot.failedMany(caller, retryError))
                    : slot.failedMany(caller, error)).onTerminateDetach();
        }
        // Detached on termination: Lettuce's command stays referenced by its timeout timer until the timer's next tick
        // (~100 ms) after it completed, and without the detach it would keep the whole finished request (subscriber
        // chain, HTTP exchange) reachable that long. Under load those survive young collections and are promoted:
        // measured behind WebFlux, GC pauses took the throughput down by a quarter and the p99 up fivefold.
        if (connection == null) {
            return slot.connection().flatMap(c -> mono(method, c, args))
                    .onErrorResume(error -> slot.failed(caller, error)).onTerminateDetach();
        }
        return mono(method, connection, args).onErrorResume(error -> RedisUris.wasNotSent(error)
                ? slot.replace(connection).flatMap(c -> mono(method, c, args))
                        .onErrorResume(retryError -> slot.failed(caller, retryError))
                : slot.failed(caller, error)).onTerminateDetach();
    }

    @SuppressWarnings("unchecked")
    private static Mono<Object> mono(Method method, StatefulRedisConnection<?, ?> connection, Object[] args) {
        return (Mono<Object>) call(method, connection, args);
    }

    /**
     * Buffered here whatever the caller's demand: Lettuce applies a reply's back-pressure to the whole connection (it
     * stops reading the socket while a subscriber has undelivered elements), so one slow reader of a large reply would
     * stall every other caller of the worker's shared connection until its own command timed out.
     */
    @SuppressWarnings("unchecked")
    private static Flux<Object> flux(Method method, StatefulRedisConnection<?, ?> connection, Object[] args) {
        return ((Flux<Object>) call(method, connection, args)).onBackpressureBuffer();
    }

    /**
     * A blocking command on an exclusive lease of the caller's worker, released when the command completes, fails or
     * is cancelled; a cancelled (still blocked) command closes that connection instead of returning it.
     */
    @SuppressWarnings("unchecked")
    private Flux<Object> onLease(Method method, Object[] args) {
        return exclusive.run(commands -> (Publisher<Object>) invoke(method, commands, args));
    }

    private static Object call(Method method, StatefulRedisConnection<?, ?> connection, Object[] args) {
        return invoke(method, connection.reactive(), args);
    }

    private static Object invoke(Method method, RedisReactiveCommands<?, ?> commands, Object[] args) {
        try {
            return method.invoke(commands, args);
        }
        catch (InvocationTargetException ex) {
            throw Exceptions.propagate(ex.getCause());
        }
        catch (IllegalAccessException ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** {@code digest} and {@code getJsonParser}: what Lettuce's commands compute from the client options alone. */
    private Object local(Method method, Object[] args) {
        if (method.getName().equals("getJsonParser")) {
            return options.getJsonParser().get();
        }
        byte[] script = (args[0] instanceof String) ? ((String) args[0]).getBytes(options.getScriptCharset())
                : (byte[]) args[0];
        return Base16.digest(script);
    }

    private Object delegate(Method method, Object[] args) {
        StatefulRedisConnection<K, V> connection = shared.pick().openConnection();
        if (connection == null) {
            throw new IllegalStateException(
                    method.getName() + "() needs a connected shared connection; none is open yet");
        }
        return call(method, connection, args);
    }

    private Object objectMethod(Object proxy, Method method, Object[] args) {
        switch (method.getName()) {
            case "equals":
                return proxy == args[0];
            case "hashCode":
                return System.identityHashCode(proxy);
            default:
                return description;
        }
    }

    private static Route routeOf(Method method) {
        if (method.getDeclaringClass() == Object.class) {
            return new Route(Kind.OBJECT, null);
        }
        String name = method.getName();
        Class<?> returns = method.getReturnType();
        boolean mono = Mono.class.isAssignableFrom(returns);
        boolean flux = Flux.class.isAssignableFrom(returns);
        String refused = CommandPolicy.refusedCommandOf(method);
        if (refused != null && (mono || flux)) {
            return new Route(mono ? Kind.REFUSED_MONO : Kind.REFUSED_FLUX, refused);
        }
        String leased = CommandPolicy.leasedCommandOf(method);
        if (leased != null && (mono || flux)) {
            return new Route(mono ? Kind.LEASED_MONO : Kind.LEASED_FLUX, leased);
        }
        if (CommandPolicy.dependsOnBlockArgument(method) && flux) {
            return new Route(Kind.XREAD, name);
        }
        if (name.equals("dispatch") && flux) {
            return new Route(Kind.DISPATCH, name);
        }
        if (mono) {
            return new Route(Kind.MONO, name);
        }
        if (flux) {
            return new Route(Kind.FLUX, name);
        }
        switch (name) {
            case "setTimeout":
            case "getStatefulConnection":
                return new Route(Kind.CONTROL, name);
            case "digest":
            case "getJsonParser":
                return new Route(Kind.LOCAL, name);
            default:
                return new Route(Kind.DELEGATE, name);
        }
    }
}
