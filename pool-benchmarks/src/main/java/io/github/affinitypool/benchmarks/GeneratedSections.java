package io.github.affinitypool.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Rewrites the generated parts of a Markdown document: the text between {@code <!-- generated:NAME -->} and
 * {@code <!-- /generated:NAME -->}. Everything else (the hand-written method and findings) stays as it is.
 */
public final class GeneratedSections {

    private GeneratedSections() {
    }

    /**
     * @param doc      the document
     * @param sections section name to new content
     * @throws IllegalStateException if a section's markers are missing
     */
    public static void rewrite(Path doc, Map<String, String> sections) throws IOException {
        String text = Files.readString(doc);
        for (Map.Entry<String, String> section : sections.entrySet()) {
            String begin = "<!-- generated:" + section.getKey() + " -->";
            String end = "<!-- /generated:" + section.getKey() + " -->";
            int from = text.indexOf(begin);
            int to = text.indexOf(end);
            if (from < 0 || to < from) {
                throw new IllegalStateException(doc + " has no section " + begin + " … " + end);
            }
            String content = section.getValue().endsWith("\n") ? section.getValue() : section.getValue() + "\n";
            text = text.substring(0, from + begin.length()) + "\n" + content + text.substring(to);
        }
        Files.writeString(doc, text);
    }
}
