package io.github.affinitypool.benchmarks.load.server;

import java.io.IOException;
import java.util.Map;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;

/**
 * The WebFlux application the load benchmark measures, started once per setup in a child JVM of its own. The setup
 * is {@code --bench.setup=...} plus the properties that switch auto-configurations on or off (see
 * {@code io.github.affinitypool.benchmarks.load.Setup}). Once it serves, it prints
 * {@value #READY} followed by its port on standard output.
 */
@SpringBootConfiguration(proxyBeanMethods = false)
@EnableAutoConfiguration
@Import({ BenchRoutes.class, BenchSetups.Commands.class, BenchSetups.Leases.class, BenchSetups.SpringDataRedis.class,
        BenchSetups.ReactorPool.class, BenchSetups.NoRedis.class })
public class BenchServer {

    /** The line prefix that tells the harness the server is up; the port follows. */
    public static final String READY = "BENCH-SERVER-READY port=";

    /**
     * Property that makes the server exit when its standard input ends, i.e. when the harness that started it (and
     * holds the other end of the pipe) is gone, however it ended.
     */
    public static final String EXIT_WITH_PARENT = "bench.exit-with-parent";

    public static void main(String[] args) {
        ConfigurableApplicationContext context = start(args);
        if (context.getEnvironment().getProperty(EXIT_WITH_PARENT, Boolean.class, false)) {
            Thread watcher = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // the harness never writes; wait for the end of the stream
                    }
                }
                catch (IOException ex) {
                    // the pipe broke: the harness is gone as well
                }
                System.exit(0);
            }, "bench-exit-with-parent");
            watcher.setDaemon(true);
            watcher.start();
        }
        int port = ((WebServerApplicationContext) context).getWebServer().getPort();
        System.out.println(READY + port);
        System.out.flush();
    }

    /**
     * Starts the application (also used in-process by the smoke test).
     *
     * @param args {@code --bench.setup=...} and the setup's properties
     * @return the running context
     */
    public static ConfigurableApplicationContext start(String... args) {
        SpringApplication application = new SpringApplication(BenchServer.class);
        application.setWebApplicationType(WebApplicationType.REACTIVE);
        application.setBannerMode(org.springframework.boot.Banner.Mode.OFF);
        application.setLogStartupInfo(false);
        application.setDefaultProperties(Map.of("server.port", "0", "logging.level.root", "WARN"));
        return application.run(args);
    }
}
