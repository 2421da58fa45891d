package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The clean-up after a test JVM that died without running its shutdown hook. */
class ServerRegistryTest {

    @TempDir
    Path root;

    @Test
    void killsTheServerOfAJvmThatIsGoneAndLeavesEverythingElseAlone() throws Exception {
        // a "JVM" that has ended: a process we start, note and end
        Process deadJvm = new ProcessBuilder("sleep", "60").start();
        String deadJvmRecord = deadJvm.pid() + " " + startMillis(deadJvm.toHandle());
        deadJvm.destroyForcibly().waitFor();

        Path orphanDir = Files.createDirectories(root.resolve(ServerRegistry.DIR_PREFIX + "orphan"));
        Process orphan = startRedis(orphanDir);
        write(orphanDir, deadJvmRecord + " " + orphan.pid() + " " + startMillis(orphan.toHandle()));

        // owned by this JVM, which runs: untouched
        Path ownedDir = Files.createDirectories(root.resolve(ServerRegistry.DIR_PREFIX + "owned"));
        Process owned = startRedis(ownedDir);
        ServerRegistry.writeOwner(ownedDir, owned.toHandle());

        // owned by a JVM that runs, whose start times are a second off ours (it read another boot time): untouched
        Path shiftedDir = Files.createDirectories(root.resolve(ServerRegistry.DIR_PREFIX + "shifted"));
        Process shifted = startRedis(shiftedDir);
        ProcessHandle self = ProcessHandle.current();
        write(shiftedDir, self.pid() + " " + (startMillis(self) + 1_000) + " " + shifted.pid() + " "
                + (startMillis(shifted.toHandle()) + 1_000));

        // the recorded redis pid now belongs to another process (other start time): the dir goes, the process stays
        Path reusedDir = Files.createDirectories(root.resolve(ServerRegistry.DIR_PREFIX + "reused"));
        Process bystander = new ProcessBuilder("sleep", "60").start();
        write(reusedDir, deadJvmRecord + " " + bystander.pid() + " " + (startMillis(bystander.toHandle()) - 10_000));

        // no owner record (still being set up): untouched
        Path settingUp = Files.createDirectories(root.resolve(ServerRegistry.DIR_PREFIX + "new"));
        try {
            assertThat(orphan.isAlive()).isTrue();
            assertThat(owned.isAlive()).isTrue();

            ServerRegistry.reapOrphans(root);

            assertThat(orphan.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(orphanDir).doesNotExist();
            assertThat(owned.isAlive()).isTrue();
            assertThat(ownedDir.resolve(ServerRegistry.OWNER_FILE)).exists();
            assertThat(bystander.isAlive()).isTrue();
            assertThat(reusedDir).doesNotExist();
            assertThat(settingUp).exists();
            assertThat(shifted.isAlive()).isTrue();
            assertThat(shiftedDir.resolve(ServerRegistry.OWNER_FILE)).exists();
        } finally {
            shifted.destroyForcibly().waitFor();
            owned.destroyForcibly().waitFor();
            bystander.destroyForcibly().waitFor();
            orphan.destroyForcibly().waitFor();
        }
    }

    private static Process startRedis(Path dir) throws IOException {
        // no TCP listener at all (a unix socket in its dir instead), so this test cannot collide with anything
        return new ProcessBuilder(RedisBinary.resolve().toString(), "--port", "0",
                "--unixsocket", dir.resolve("redis.sock").toString(), "--appendonly", "no")
                .directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("redis.log").toFile()).start();
    }

    private static void write(Path dir, String record) throws IOException {
        Files.writeString(dir.resolve(ServerRegistry.OWNER_FILE), record + "\n", StandardCharsets.US_ASCII);
    }

    private static long startMillis(ProcessHandle handle) {
        return handle.info().startInstant().map(Instant::toEpochMilli).orElseThrow();
    }
}
