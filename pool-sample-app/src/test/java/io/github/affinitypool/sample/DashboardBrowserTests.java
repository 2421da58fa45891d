package io.github.affinitypool.sample;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;


import static org.assertj.core.api.Assertions.assertThat;

/**
 * Loads the dashboard in headless Chromium and checks that the script drew one group of bars per worker from the
 * two JSON endpoints. Skipped, with a message, where Chromium is not installed ({@code apt-get install chromium};
 * {@code .ci/run} installs it).
 */
class DashboardBrowserTests extends RedisBackedSampleTest {

    private static final int BROWSER_ATTEMPTS = 2;

    private static final Duration BROWSER_TIMEOUT = Duration.ofSeconds(30);

    private static final List<String> CHROMIUM_CANDIDATES = List.of("/usr/bin/chromium", "/usr/bin/chromium-browser",
            "/usr/bin/google-chrome");

    @Test
    void dashboardDrawsPerWorkerBars(@TempDir Path profile) throws Exception {
        Path chromium = CHROMIUM_CANDIDATES.stream().map(Path::of).filter(Files::isExecutable).findFirst()
                .orElse(null);
        Assumptions.assumeTrue(chromium != null,
                "Chromium not installed (apt-get install chromium): skipping the headless dashboard check");
        String dom = dumpDom(chromium, profile, baseUrl() + "/");
        assertThat(dom).contains("data-worker=\"0\"").contains("data-worker=\"overflow\"");
        for (String kind : new String[] { "open", "idle", "acquired", "pending", "shared", "ratio" }) {
            assertThat(dom).contains("data-kind=\"" + kind + "\"");
        }
        assertThat(dom).contains("workers, max-open").contains("<p id=\"status\">updated ");
    }

    /**
     * Headless Chromium has been seen to hang, rarely, before it loaded anything (one run in some dozens, with no
     * output): a hung browser is retried once, with a fresh profile; what the page drew is asserted either way.
     */
    private static String dumpDom(Path chromium, Path profile, String url) throws IOException, InterruptedException {
        for (int attempt = 1;; attempt++) {
            String dom = dumpDomOnce(chromium, profile.resolve("attempt-" + attempt), url);
            if (dom != null) {
                return dom;
            }
            if (attempt == BROWSER_ATTEMPTS) {
                throw new IllegalStateException("Chromium did not finish within " + BROWSER_TIMEOUT.toSeconds()
                        + " s, " + BROWSER_ATTEMPTS + " times; its last output: "
                        + Files.readString(profile.resolve("attempt-" + attempt).resolve("stderr.txt")));
            }
        }
    }

    /** @return the DOM Chromium dumped, or {@code null} when it did not finish in time */
    private static String dumpDomOnce(Path chromium, Path dir, String url) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path out = dir.resolve("dom.html");
        // The virtual-time budget lets the page's fetches and first render finish before the DOM is dumped.
        Process process = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + dir.resolve("user-data"),
                "--virtual-time-budget=5000", "--dump-dom", url)
                .redirectOutput(out.toFile())
                .redirectError(dir.resolve("stderr.txt").toFile())
                .start();
        if (!process.waitFor(BROWSER_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            return null;
        }
        return Files.readString(out, StandardCharsets.UTF_8);
    }
}
