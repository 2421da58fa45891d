package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the harness finds redis-server, and that the binary shipped in embedded-redis really serves. */
class RedisBinaryTest {

    @TempDir
    Path temp;

    @Test
    void theEnvironmentVariableWinsOverPath() throws IOException {
        Path fake = executable(temp.resolve("bin/redis-server"));
        Path mine = executable(temp.resolve("mine/my-redis"));
        assertThat(RedisBinary.resolve(Map.of("REDIS_SERVER_BIN", mine.toString(), "PATH", fake.getParent().toString()),
                temp.resolve("cache"))).isEqualTo(mine);
    }

    @Test
    void anEnvironmentVariableThatNamesNoExecutableIsAnError() throws IOException {
        Path notExecutable = Files.writeString(temp.resolve("redis-server"), "");
        assertThatThrownBy(() -> RedisBinary.resolve(Map.of("REDIS_SERVER_BIN", notExecutable.toString()), temp))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("REDIS_SERVER_BIN=" + notExecutable + " is not an executable file");
    }

    @Test
    void pathIsSearchedInOrderForAnExecutableRedisServer() throws IOException {
        Files.createDirectories(temp.resolve("empty"));
        Files.createDirectories(temp.resolve("plain"));
        Files.writeString(temp.resolve("plain/redis-server"), ""); // not executable: skipped
        Path second = executable(temp.resolve("second/redis-server"));
        executable(temp.resolve("third/redis-server"));
        String path = String.join(java.io.File.pathSeparator, temp.resolve("empty").toString(), "",
                temp.resolve("plain").toString(), second.getParent().toString(), temp.resolve("third").toString());
        assertThat(RedisBinary.onPath(path)).contains(second);
        assertThat(RedisBinary.resolve(Map.of("PATH", path), temp.resolve("cache"))).isEqualTo(second);
        assertThat(RedisBinary.onPath(temp.resolve("empty").toString())).isEqualTo(Optional.empty());
    }

    @Test
    void mapsEachPlatformToItsEmbeddedBinary() {
        assertThat(RedisBinary.platformSuffix("Linux", "amd64")).isEqualTo("-linux-amd64");
        assertThat(RedisBinary.platformSuffix("Linux", "x86_64")).isEqualTo("-linux-amd64");
        assertThat(RedisBinary.platformSuffix("Linux", "aarch64")).isEqualTo("-linux-arm64");
        assertThat(RedisBinary.platformSuffix("Linux", "i386")).isEqualTo("-linux-386");
        assertThat(RedisBinary.platformSuffix("Mac OS X", "aarch64")).isEqualTo("-darwin-arm64");
        assertThat(RedisBinary.embeddedResource("-linux-amd64")).isEqualTo("redis-server-6.2.6-v5-linux-amd64");
        assertThat(RedisBinary.embeddedResource("-linux-arm64")).isEqualTo("redis-server-6.2.7-linux-arm64");
        assertThatThrownBy(() -> RedisBinary.platformSuffix("Windows 11", "amd64"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("REDIS_SERVER_BIN");
        assertThatThrownBy(() -> RedisBinary.platformSuffix("Linux", "s390x"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("Linux/s390x");
    }

    @Test
    void withNothingOnPathTheEmbeddedBinaryIsExtractedOnceAndServes() throws IOException {
        assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"), "embedded binary test runs on Linux");
        String suffix = RedisBinary.platformSuffix(System.getProperty("os.name"), System.getProperty("os.arch"));
        Path cache = temp.resolve("cache");

        Path binary = RedisBinary.resolve(Map.of("PATH", ""), cache);

        assertThat(binary.getParent()).isEqualTo(cache);
        assertThat(binary.getFileName().toString()).startsWith("redis-server-").endsWith(suffix);
        assertThat(Files.isExecutable(binary)).isTrue();
        FileTime written = Files.getLastModifiedTime(binary);
        assertThat(RedisBinary.resolve(Map.of("PATH", ""), cache)).isEqualTo(binary);
        assertThat(Files.getLastModifiedTime(binary)).isEqualTo(written);
        try (var files = Files.list(cache)) {
            assertThat(files).containsExactly(binary); // no partial files left
        }

        try (RedisServer redis = RedisServerTest.process().binary(binary).password("pw")
                .aclUser("app", "app-secret", "~*", "+@all", "-flushall").start()) {
            // the resource says 6.2.6 / 6.2.7, the binary inside reports a later 6.2 patch release
            assertThat(redis.version()).startsWith("6.2.").isEqualTo(RedisBinary.version(binary));
            assertThat(redis.command("PING")).isEqualTo("PONG");
            assertThat(redis.command("DEBUG", "SLEEP", "0")).isEqualTo("OK");
            assertThat(redis.command("CONFIG", "GET", "save")).isEqualTo("save\n");
            try (RawRedisConnection app = redis.connectAs("app", RedisServer.DEFAULT_TIMEOUT)) {
                assertThat(app.command("SET", "k", "v")).isEqualTo("OK");
                assertThatThrownBy(() -> app.command("FLUSHALL"))
                        .isInstanceOfSatisfying(RedisErrorReplyException.class,
                                e -> assertThat(e.code()).isEqualTo("NOPERM"));
            }
            int port = redis.port();
            redis.kill();
            redis.restart();
            assertThat(redis.port()).isEqualTo(port);
            assertThat(redis.command("GET", "k")).isNull();
        }
    }

    @Test
    void theCacheDirectoryIsKeptWhateverUserNameTheJvmWasGiven() {
        // -Duser.name=..., or "?" for a uid without a passwd entry: not the directory owner's name.
        Path first = RedisBinary.cacheDir(temp, "someone-else");
        assertThat(first).isEqualTo(temp.resolve("affinity-pool-redis-bin-someone-else"));
        assertThat(RedisBinary.cacheDir(temp, "someone-else")).isEqualTo(first);
        assertThat(RedisBinary.cacheDir(temp, "?")).isEqualTo(temp.resolve("affinity-pool-redis-bin-_"));
    }

    @Test
    void readsTheVersionOfABinary() {
        Path binary = RedisBinary.resolve();
        assertThat(RedisBinary.version(binary)).matches("\\d+\\.\\d+\\.\\d+");
        assertThat(RedisBinary.majorVersion(binary))
                .isEqualTo(Integer.parseInt(RedisBinary.version(binary).split("\\.")[0]));
    }

    @Test
    void aBinaryThatHangsOnVersionIsKilledAfterTheTimeout() throws IOException {
        // never exits by itself: it waits for a line on stdin, which nobody writes
        Path hanging = temp.resolve("hanging-redis-server");
        Files.writeString(hanging, "#!/bin/sh\necho 'Redis server v=7.0.0'\nread line\n");
        assertThat(hanging.toFile().setExecutable(true)).isTrue();

        // the guard turns a hang (output read to its end before any bounded wait) into a failure
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThatThrownBy(
                () -> RedisBinary.version(hanging, Duration.ofMillis(200)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(hanging + ", --version] did not finish within PT0.2S; killed it")
                .hasMessageContaining("v=7.0.0"));
    }

    private static Path executable(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "#!/bin/sh\n");
        assertThat(file.toFile().setExecutable(true)).isTrue();
        return file;
    }
}
