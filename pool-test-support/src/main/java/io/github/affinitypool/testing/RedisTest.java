package io.github.affinitypool.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives a test class a real Redis: a fresh {@link RedisServer} per class (default) or per test method, injected
 * as a parameter of type {@link RedisServer} (constructor, test and lifecycle methods) and into fields annotated
 * {@link RedisServerInstance}. The server is closed when its class (or method) is done.
 *
 * <pre>{@code
 * @RedisTest(password = "s3cret")
 * class MyTest {
 *     @RedisServerInstance RedisServer redis;
 *
 *     @Test void works() { assertThat(redis.command("PING")).isEqualTo("PONG"); }
 * }
 * }</pre>
 *
 * A {@code @Nested} class shares its enclosing class's server unless it carries {@code @RedisTest} itself.
 * For options an annotation cannot express, register the extension in code instead, see
 * {@link RedisServerExtension#configure}.
 */
@Target({ElementType.TYPE, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(RedisServerExtension.class)
public @interface RedisTest {

    /** @return {@code true} for a fresh server per test method, {@code false} (default) for one per class */
    boolean perMethod() default false;

    /** @return password of the {@code default} user; empty (default) for none */
    String password() default "";

    /** @return number of databases; default 16 */
    int databases() default 16;

    /**
     * @return ACL users, each as {@code "name password rule..."}, e.g. {@code "app app-secret ~app:* +@all -flushall"}
     */
    String[] aclUsers() default {};

    /**
     * @return extra redis-server arguments, e.g. {@code {"--maxclients", "20"}}, see {@link RedisServer.Builder#arg}
     */
    String[] args() default {};
}
