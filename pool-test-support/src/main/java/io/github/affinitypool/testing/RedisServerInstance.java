package io.github.affinitypool.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a field of type {@link RedisServer} that {@link RedisServerExtension} fills with the test's server:
 * instance fields before each test (and before {@code @BeforeAll} with {@code PER_CLASS} lifecycle), static
 * fields before all tests (per-class servers only). The field must not be final.
 */
@Target(ElementType.FIELD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface RedisServerInstance {
}
