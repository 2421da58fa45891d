package io.github.affinitypool.benchmarks.load;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import io.github.affinitypool.benchmarks.Machine;
import io.github.affinitypool.testing.RedisServer;

/** Describes the machine, the load on it and the versions under test, for the report. */
final class Environment {

    private Environment() {
    }

    static Map<String, String> describe(LoadDriver driver, RedisServer redis) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        env.put("cpu", cpuModel());
        env.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        env.put("memory", memory());
        env.put("os", osName() + ", Linux " + firstLine(Path.of("/proc/sys/kernel/osrelease")));
        env.put("jdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        env.put("app.jvm", String.join(" ", ChildServer.JVM_FLAGS));
        env.put("redis", "redis-server " + redis.version() + " (no persistence, loopback)");
        env.put("driver", driver.describe());
        env.put("versions", String.join(", ", jar("org.springframework.boot.SpringApplication"),
                jar("org.springframework.data.redis.core.ReactiveStringRedisTemplate"),
                jar("io.lettuce.core.RedisClient"), jar("reactor.netty.http.server.HttpServer"),
                jar("io.netty.channel.Channel"), jar("reactor.pool.PoolBuilder"),
                jar("org.apache.commons.pool2.impl.GenericObjectPool")));
        env.put("load.before", Machine.loadAverage());
        return env;
    }

    private static String cpuModel() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(line -> line.startsWith("model name")).map(line -> line.split(":", 2)[1].trim())
                    .findFirst().orElse("unknown");
        }
        catch (IOException ex) {
            return "unknown";
        }
    }

    private static String memory() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            return lines.filter(line -> line.startsWith("MemTotal")).map(line -> line.replaceAll("\\D", ""))
                    .map(kb -> (Long.parseLong(kb) / 1024 / 1024) + " GiB").findFirst().orElse("unknown");
        }
        catch (IOException ex) {
            return "unknown";
        }
    }

    private static String osName() {
        try (Stream<String> lines = Files.lines(Path.of("/etc/os-release"))) {
            return lines.filter(line -> line.startsWith("PRETTY_NAME="))
                    .map(line -> line.substring(12).replace("\"", "")).findFirst().orElse("Linux");
        }
        catch (IOException ex) {
            return "Linux";
        }
    }

    private static String firstLine(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.US_ASCII).get(0).trim();
        }
        catch (IOException | IndexOutOfBoundsException ex) {
            return "unknown";
        }
    }

    /** @return the name of the jar a class comes from, e.g. {@code lettuce-core-7.5.2.RELEASE} */
    private static String jar(String className) {
        try {
            Path location = Path.of(
                    Class.forName(className).getProtectionDomain().getCodeSource().getLocation().toURI());
            return location.getFileName().toString().replaceFirst("\\.jar$", "");
        }
        catch (ClassNotFoundException | URISyntaxException | RuntimeException ex) {
            return className + " (unknown version)";
        }
    }
}
