package io.github.affinitypool.benchmarks.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.github.affinitypool.benchmarks.load.server.BenchServer;

/**
 * One setup's {@link BenchServer} in a child JVM: the same JVM flags and classpath for every setup, output copied
 * to a log file, stopped with SIGTERM (then SIGKILL).
 *
 * @param setup   the setup it serves
 * @param process the child JVM
 * @param port    its HTTP port on 127.0.0.1
 */
record ChildServer(Setup setup, Process process, int port) implements AutoCloseable {

    /** The child JVM's flags, identical for every setup. */
    static final List<String> JVM_FLAGS = List.of("-XX:+UseParallelGC", "-Xms512m", "-Xmx512m",
            "-Dreactor.netty.ioWorkerCount=2");

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /**
     * Starts {@code setup}'s server and waits until it serves.
     *
     * @param log where the child's output goes
     */
    static ChildServer start(Setup setup, String redisUrl, Path log) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM_FLAGS);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BenchServer.class.getName());
        command.addAll(setup.serverArguments(redisUrl));
        command.add("--" + BenchServer.EXIT_WITH_PARENT + "=true");
        Files.createDirectories(log.getParent());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<Integer> ready = new CompletableFuture<>();
        Deque<String> tail = new ArrayDeque<>();
        Thread pump = new Thread(() -> pump(process, log, ready, tail), "bench-child-output-" + setup.number());
        pump.setDaemon(true);
        pump.start();
        try {
            return new ChildServer(setup, process, ready.get(STARTUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
        }
        catch (Exception ex) {
            process.destroyForcibly();
            String output;
            synchronized (tail) {
                output = String.join("\n", tail);
            }
            throw new IllegalStateException("The server of setup '" + setup.label() + "' did not start"
                    + (ex instanceof TimeoutException ? " within " + STARTUP_TIMEOUT.toSeconds() + " s" : "")
                    + "; its last output (full log " + log + "):\n" + output, ex);
        }
    }

    private static void pump(Process process, Path log, CompletableFuture<Integer> ready, Deque<String> tail) {
        try (BufferedReader reader = process.inputReader(StandardCharsets.UTF_8);
                PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true)) {
            String line;
            while ((line = reader.readLine()) != null) {
                out.println(line);
                synchronized (tail) {
                    tail.addLast(line);
                    if (tail.size() > 60) {
                        tail.removeFirst();
                    }
                }
                if (line.startsWith(BenchServer.READY)) {
                    ready.complete(Integer.parseInt(line.substring(BenchServer.READY.length()).trim()));
                }
            }
            ready.completeExceptionally(new IllegalStateException("exited with " + process.waitFor()));
        }
        catch (IOException | RuntimeException ex) {
            ready.completeExceptionally(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            ready.completeExceptionally(ex);
        }
    }

    long pid() {
        return process.pid();
    }

    /** @return the URL of {@code path} on this server */
    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** @return the body of a plain GET of {@code path}, failing unless the status is 200 */
    String get(String path) {
        return httpGet(setup, url(path));
    }

    /** @return the body of a plain GET of {@code url} on {@code setup}'s server, failing unless the status is 200 */
    static String httpGet(Setup setup, String url) {
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException(setup.label() + ": GET " + url + " answered " + response.statusCode()
                        + ": " + response.body());
            }
            return response.body();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    /** @return the user plus system CPU time the child JVM has used so far, in milliseconds */
    long cpuMillis() {
        return ProcessCpu.millis(process.pid());
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
