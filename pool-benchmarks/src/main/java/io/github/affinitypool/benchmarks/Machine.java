package io.github.affinitypool.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the benchmarks note about the machine while they run. */
public final class Machine {

    private Machine() {
    }

    /** @return the 1, 5 and 15 minute load averages from {@code /proc/loadavg}, e.g. {@code 2.10 / 1.80 / 1.50} */
    public static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII).split(" ");
            return fields[0] + " / " + fields[1] + " / " + fields[2];
        }
        catch (IOException | IndexOutOfBoundsException ex) {
            return "unknown";
        }
    }
}
