package io.github.affinitypool.redis;

import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
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
 * refuse it (the {@link CommandPolicy} list), refuse it depending on its arguments ({@code XREAD ... BLOCK},
 * {@code dispatch(MULTI, ...)}), or handle a connection-level method locally.
 */
final class SharedCommands<K, V> implements InvocationHandler {

    private enum Kind {
        MONO, FLUX, REFUSED_MONO, REFUSED_FLUX, XREAD, DISPATCH, CONTROL, OBJECT, DELEGATE
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

    private final String description;

    private final ConcurrentMap<Method, Route> routes = new ConcurrentHashMap<>();

    private SharedCommands(SharedConnections<K, V> shared, String description) {
        this.shared = shared;
        this.description = description;
    }

    @SuppressWarnings("unchecked")
    static <K, V> RedisReactiveCommands<K, V> create(SharedConnections<K, V> shared, String description) {
        return (RedisReactiveCommands<K, V>) Proxy.newProxyInstance(RedisReactiveCommands.class.getClassLoader(),
                new Class<?>[] { RedisReactiveCommands.class }, new SharedCommands<>(shared, description));
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
            case XREAD: {
                RefusedCommandException refusal = CommandPolicy.blockRefusal(method, args);
                return refusal != null ? Flux.error(refusal) : Flux.defer(() -> route(method, args, true));
            }
            case DISPATCH: {
                RefusedCommandException refusal = CommandPolicy.sharedRefusal((ProtocolKeyword) args[0],
                        args.length > 2 ? (CommandArgs<?, ?>) args[2] : null);
                return refusal != null ? Flux.error(refusal) : Flux.defer(() -> route(method, args, true));
            }
            case CONTROL:
                throw CommandPolicy.controlRefusal(method.getName());
            case OBJECT:
                return objectMethod(proxy, method, args);
            default:
                return delegate(method, args);
        }
    }

    /** Picks the caller's worker's slot when subscribed; waits for its (re)connect only when it is not open. */
    private Publisher<?> route(Method method, Object[] args, boolean flux) {
        SharedConnections<K, V>.Slot slot = shared.pick();
        StatefulRedisConnection<K, V> connection = slot.openConnection();
        // Lettuce fails the commands of a broken socket with the bare I/O error (often without a message).
        if (flux) {
            Flux<?> commands = connection != null ? (Flux<?>) call(method, connection, args)
                    : slot.connection().flatMapMany(c -> (Flux<?>) call(method, c, args));
            return commands.onErrorMap(IOException.class, slot::lost);
        }
        Mono<?> command = connection != null ? (Mono<?>) call(method, connection, args)
                : slot.connection().flatMap(c -> (Mono<?>) call(method, c, args));
        return command.onErrorMap(IOException.class, slot::lost);
    }

    private static Object call(Method method, StatefulRedisConnection<?, ?> connection, Object[] args) {
        try {
            return method.invoke(connection.reactive(), args);
        }
        catch (InvocationTargetException ex) {
            throw Exceptions.propagate(ex.getCause());
        }
        catch (IllegalAccessException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private Object delegate(Method method, Object[] args) {
        StatefulRedisConnection<K, V> connection = shared.pick().openConnection();
        if (connection == null) {
            throw new IllegalStateException(method.getName() + "() needs a connected shared connection; none is open yet");
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
            default:
                return new Route(Kind.DELEGATE, name);
        }
    }
}
