package io.github.affinitypool.sample.reliability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The figures a scenario saw (recovery time, peak connections, timings), printed and appended to
 * {@code target/reliability-figures.txt} for docs/reliability.md. Figures are recorded, not asserted.
 */
final class Figures {

    private final String scenario;

    private final Map<String, Object> values = new LinkedHashMap<>();

    Figures(String scenario) {
        this.scenario = scenario;
    }

    Figures put(String name, Object value) {
        values.put(name, value);
        return this;
    }

    /** Prints the figures and appends them to the figures file. */
    void report() {
        StringBuilder line = new StringBuilder("[reliability] ").append(scenario).append(':');
        values.forEach((name, value) -> line.append(' ').append(name).append('=').append(value));
        System.out.println(line);
        try {
            Files.writeString(Path.of("target", "reliability-figures.txt"), line + System.lineSeparator(),
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
