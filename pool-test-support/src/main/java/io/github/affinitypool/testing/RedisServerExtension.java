package io.github.affinitypool.testing;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestInstanceFactoryContext;
import org.junit.jupiter.api.extension.TestInstancePreConstructCallback;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.opentest4j.TestAbortedException;

/**
 * JUnit Jupiter extension that gives tests a fresh {@link RedisServer}: one per test class (default) or one per
 * test method, injected as a parameter of type {@link RedisServer} and into fields annotated
 * {@link RedisServerInstance}. Usually applied through {@link RedisTest}; for options an annotation cannot
 * express, register it in code:
 *
 * <pre>{@code
 * @RegisterExtension
 * static RedisServerExtension redis = RedisServerExtension.configure(b -> b
 *         .aclUser("app", "app-secret", "~*", "+@all", "-flushall")
 *         .arg("--maxclients", "50"))
 *     .perMethod();
 * }</pre>
 *
 * (Use one or the other on a class: two instances of this extension would both offer the parameter.)
 *
 * <p>The server is kept in the {@link ExtensionContext.Store} of the class (or method) it belongs to; JUnit closes
 * it, as an {@link AutoCloseable}, when that class (or method) is done.
 *
 * <p>A start that aborts (the Testcontainers backend without Docker) skips each test with the reason, so that
 * reports count them as skipped; a constructor taking the server gets {@code null} then, and the test is skipped
 * before it runs. Only a class that needs the server itself ({@code @BeforeAll}/{@code @AfterAll} parameters,
 * static fields, {@code PER_CLASS} lifecycle) is skipped as a whole, with the reason also printed to stderr,
 * since Surefire reports no reason for a skipped class.
 */
public final class RedisServerExtension
        implements TestInstancePreConstructCallback, BeforeAllCallback, BeforeEachCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(RedisServerExtension.class);

    private final Consumer<RedisServer.Builder> customizer;
    private final Boolean perMethod;

    /** The extension as {@link RedisTest} applies it: every option comes from the annotation. */
    public RedisServerExtension() {
        this(builder -> { }, null);
    }

    private RedisServerExtension(Consumer<RedisServer.Builder> customizer, Boolean perMethod) {
        this.customizer = customizer;
        this.perMethod = perMethod;
    }

    /**
     * @param customizer sets options on the builder of each server (after those of a {@link RedisTest} annotation,
     *                   if any)
     * @return an extension for {@code @RegisterExtension}, one server per class unless {@link #perMethod()}
     */
    public static RedisServerExtension configure(Consumer<RedisServer.Builder> customizer) {
        return new RedisServerExtension(customizer, null);
    }

    /** @return a copy of this extension that gives each test method its own server */
    public RedisServerExtension perMethod() {
        return new RedisServerExtension(customizer, true);
    }

    /**
     * Asks JUnit for the test method's context when it constructs a test instance per method, so that a
     * per-method server can be injected into the constructor.
     */
    @Override
    public ExtensionContextScope getTestInstantiationExtensionContextScope(ExtensionContext rootContext) {
        return ExtensionContextScope.TEST_METHOD;
    }

    @Override
    public void preConstructTestInstance(TestInstanceFactoryContext factoryContext, ExtensionContext context) {
        Scope scope = scope(context);
        if (!scope.perMethod || context.getTestMethod().isPresent()) {
            try {
                server(context, scope);
            } catch (TestAbortedException recorded) {
                // beforeEach aborts the test with this reason; the constructor gets null and is never used
            }
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        Scope scope = scope(context);
        Class<?> testClass = context.getRequiredTestClass();
        List<Field> staticFields = fields(testClass, true);
        if (scope.perMethod) {
            if (!staticFields.isEmpty()) {
                throw new ExtensionConfigurationException("static @RedisServerInstance field " + staticFields.get(0)
                        + " cannot hold a per-method server; make it an instance field or use one server per class");
            }
            return;
        }
        RedisServer server;
        try {
            server = server(context, scope);
        } catch (TestAbortedException aborted) {
            if (usedAtClassLevel(context, staticFields)) {
                // the whole class is skipped. Surefire counts no skipped test for an aborted class and prints no
                // reason, so say it on stderr, which every runner shows (a logger may have no binding here)
                System.err.println(
                        "[RedisServerExtension] skipping " + testClass.getName() + ": " + aborted.getMessage());
                throw aborted;
            }
            // each test is aborted in beforeEach with this reason, so reports count every one as skipped
            return;
        }
        staticFields.forEach(field -> inject(field, null, server));
        // with @TestInstance(PER_CLASS) the instance exists already and @BeforeAll methods may use its fields
        context.getTestInstance().ifPresent(instance -> fields(instance.getClass(), false)
                .forEach(field -> inject(field, instance, server)));
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Scope scope = scope(context);
        RedisServer server = server(context, scope);
        for (Object instance : context.getRequiredTestInstances().getAllInstances()) {
            List<Field> fields = fields(instance.getClass(), false);
            if (scope.perMethod && !fields.isEmpty() && runsConcurrently(context)
                    && context.getTestInstanceLifecycle().orElse(null) == TestInstance.Lifecycle.PER_CLASS) {
                // One instance, tests at once: each would overwrite the field, and use another test's server.
                throw new ExtensionConfigurationException("@RedisServerInstance field " + fields.get(0)
                        + " cannot hold a per-method server of tests that run concurrently on one instance "
                        + "(PER_CLASS lifecycle); take the server as a parameter of the test method instead");
            }
            fields.forEach(field -> inject(field, instance, server));
        }
    }

    /** The mode a test declares applies only where parallel execution is on; JUnit reports it either way. */
    private static boolean runsConcurrently(ExtensionContext context) {
        return context.getExecutionMode() == ExecutionMode.CONCURRENT
                && context.getConfigurationParameter("junit.jupiter.execution.parallel.enabled", Boolean::parseBoolean)
                        .orElse(false);
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == RedisServer.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        try {
            return server(extensionContext, scope(extensionContext));
        } catch (TestAbortedException aborted) {
            if (parameterContext.getDeclaringExecutable() instanceof Constructor) {
                // JUnit would turn the abort into a failure here; beforeEach aborts the test before it runs
                return null;
            }
            throw aborted;
        }
    }

    /**
     * Whether the class itself (not only its tests) uses the server: then a start that aborts must skip the
     * whole class, since {@code @BeforeAll} code or a {@code PER_CLASS} instance would otherwise get none.
     */
    private static boolean usedAtClassLevel(ExtensionContext context, List<Field> staticFields) {
        if (!staticFields.isEmpty()
                || context.getTestInstanceLifecycle().orElse(TestInstance.Lifecycle.PER_METHOD)
                        == TestInstance.Lifecycle.PER_CLASS) {
            return true;
        }
        Class<?> testClass = context.getRequiredTestClass();
        return Stream.concat(
                        AnnotationSupport.findAnnotatedMethods(testClass, BeforeAll.class,
                                HierarchyTraversalMode.TOP_DOWN).stream(),
                        AnnotationSupport.findAnnotatedMethods(testClass, AfterAll.class,
                                HierarchyTraversalMode.TOP_DOWN).stream())
                .anyMatch(method -> Arrays.asList(method.getParameterTypes()).contains(RedisServer.class));
    }

    /**
     * The server of this context, started on first use and closed by JUnit with the context that owns it. A
     * start that aborts (no Docker for the Testcontainers backend) is remembered and re-thrown to every later
     * caller, so it is tried once per class (or method).
     */
    private RedisServer server(ExtensionContext context, Scope scope) {
        ExtensionContext owner;
        if (scope.perMethod) {
            if (context.getTestMethod().isEmpty()) {
                throw new ExtensionConfigurationException("a per-method RedisServer exists only for a test method: "
                        + "take it in the test method, @BeforeEach/@AfterEach or the constructor (with the default "
                        + "PER_METHOD lifecycle), not in " + context.getDisplayName() + "'s @BeforeAll/@AfterAll");
            }
            owner = context;
        } else {
            owner = scope.classContext;
        }
        // keyed by the owner's id: stores are hierarchical, a method's store also sees its class's entries
        ExtensionContext.Store store = owner.getStore(NAMESPACE);
        String abortKey = owner.getUniqueId() + "#aborted";
        TestAbortedException aborted = store.get(abortKey, TestAbortedException.class);
        if (aborted != null) {
            throw new TestAbortedException(aborted.getMessage());
        }
        try {
            return store.computeIfAbsent(owner.getUniqueId(), id -> scope.builder().start(), RedisServer.class);
        } catch (TestAbortedException e) {
            store.put(abortKey, e);
            throw e;
        }
    }

    /**
     * Finds the options and the class that owns a per-class server: the nearest class (this one, or an
     * enclosing one for {@code @Nested} classes) annotated with {@link RedisTest}; without any, the outermost
     * class, where a {@code @RegisterExtension} field would sit.
     */
    private Scope scope(ExtensionContext context) {
        ExtensionContext outermostClass = null;
        for (ExtensionContext current = context; current != null; current = current.getParent().orElse(null)) {
            if (current.getTestClass().isEmpty() || current.getTestMethod().isPresent()) {
                continue;
            }
            outermostClass = current;
            Optional<RedisTest> annotation = AnnotationSupport.findAnnotation(current.getRequiredTestClass(),
                    RedisTest.class);
            if (annotation.isPresent()) {
                return new Scope(current, annotation.get(),
                        perMethod != null ? perMethod : annotation.get().perMethod());
            }
        }
        if (outermostClass == null) {
            throw new ExtensionConfigurationException(
                    "RedisServerExtension needs a test class; got " + context.getUniqueId());
        }
        return new Scope(outermostClass, null, perMethod != null && perMethod);
    }

    private final class Scope {
        final ExtensionContext classContext;
        final RedisTest annotation;
        final boolean perMethod;

        Scope(ExtensionContext classContext, RedisTest annotation, boolean perMethod) {
            this.classContext = classContext;
            this.annotation = annotation;
            this.perMethod = perMethod;
        }

        RedisServer.Builder builder() {
            RedisServer.Builder builder = RedisServer.builder();
            if (annotation != null) {
                builder.password(annotation.password()).databases(annotation.databases()).arg(annotation.args());
                for (String user : annotation.aclUsers()) {
                    String[] tokens = user.trim().split("\\s+");
                    if (tokens.length < 2) {
                        throw new ExtensionConfigurationException("@RedisTest aclUsers entry '" + user
                                + "' must be \"name password rule...\"");
                    }
                    builder.aclUser(tokens[0], tokens[1], Arrays.copyOfRange(tokens, 2, tokens.length));
                }
            }
            customizer.accept(builder);
            return builder;
        }
    }

    private static List<Field> fields(Class<?> type, boolean statics) {
        List<Field> fields = AnnotationSupport.findAnnotatedFields(type, RedisServerInstance.class,
                field -> Modifier.isStatic(field.getModifiers()) == statics, HierarchyTraversalMode.TOP_DOWN);
        for (Field field : fields) {
            if (field.getType() != RedisServer.class || Modifier.isFinal(field.getModifiers())) {
                throw new ExtensionConfigurationException("@RedisServerInstance field " + field
                        + " must be a non-final field of type RedisServer");
            }
        }
        return fields;
    }

    private static void inject(Field field, Object instance, RedisServer server) {
        try {
            field.setAccessible(true);
            field.set(instance, server);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExtensionConfigurationException("cannot set @RedisServerInstance field " + field, e);
        }
    }
}
