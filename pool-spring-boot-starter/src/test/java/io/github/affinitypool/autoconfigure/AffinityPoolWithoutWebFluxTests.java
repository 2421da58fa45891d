package io.github.affinitypool.autoconfigure;

import java.io.File;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisServerInstance;
import io.github.affinitypool.testing.RedisTest;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.NestedExceptionUtils;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The starter in an application without WebFlux: Spring Web, Spring Boot's Reactor Netty support and Reactor Netty's
 * HTTP server, optional dependencies of the starter, are not on its class path. A {@code FilteredClassLoader} cannot
 * show what is missing there: the auto-configuration classes would still be loaded, and linked, by the test's own
 * class loader; so the context runs in a class loader of its own, built from the test class path without those jars.
 */
@RedisTest
class AffinityPoolWithoutWebFluxTests {

    /** The jars of WebFlux on Reactor Netty, by the start of their file names. */
    private static final List<String> WEB_JARS = List.of("spring-web-", "spring-webflux-", "spring-boot-webflux",
            "spring-boot-starter-webflux", "spring-boot-reactor-netty", "spring-boot-starter-reactor-netty",
            "spring-boot-web-server", "reactor-netty-http");

    @RedisServerInstance
    RedisServer redis;

    @Test
    void aNonWebApplicationGetsAStandalonePoolAndTheRoutedCommands() throws Exception {
        try (URLClassLoader loader = new URLClassLoader(classPathWithoutWebJars(),
                ClassLoader.getPlatformClassLoader())) {
            assertThat(loader.getResource("org/springframework/boot/reactor/netty/NettyServerCustomizer.class"))
                    .isNull();
            Thread thread = Thread.currentThread();
            ClassLoader previous = thread.getContextClassLoader();
            thread.setContextClassLoader(loader);
            try {
                Class<?> application = Class.forName(NonWebApplication.class.getName(), true, loader);
                assertThat(application.getMethod("run", String.class).invoke(null, redis.uri()))
                        .isEqualTo("STANDALONE PONG");
            }
            finally {
                thread.setContextClassLoader(previous);
            }
        }
    }

    private static URL[] classPathWithoutWebJars() throws MalformedURLException {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<URL> urls = new ArrayList<>();
        for (String entry : classPath.split(File.pathSeparator)) {
            File file = new File(entry);
            if (WEB_JARS.stream().noneMatch(file.getName()::startsWith)) {
                urls.add(file.toURI().toURL());
            }
        }
        return urls.toArray(URL[]::new);
    }

    /** Runs in the class loader without the web jars: everything it touches is loaded there. */
    public static final class NonWebApplication {

        private NonWebApplication() {
        }

        /**
         * @param url the Redis URL
         * @return the pool's mode and the reply to a PING through the commands bean, or the start-up failure
         */
        public static String run(String url) {
            AtomicReference<String> result = new AtomicReference<>();
            new ApplicationContextRunner()
                    .withConfiguration(AutoConfigurations.of(AffinityPoolAutoConfiguration.class))
                    .withPropertyValues("affinity-pool.redis.url=" + url, "affinity-pool.redis.workers=1")
                    .run(context -> {
                        if (context.getStartupFailure() != null) {
                            result.set(String.valueOf(
                                    NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure())));
                            return;
                        }
                        @SuppressWarnings("unchecked")
                        RedisReactiveCommands<String, String> commands = context.getBean(RedisReactiveCommands.class);
                        result.set(context.getBean(AffinityPoolSettings.class).mode() + " "
                                + commands.ping().block(Duration.ofSeconds(5)));
                    });
            return result.get();
        }
    }
}
