package io.github.affinitypool.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import io.github.affinitypool.autoconfigure.metrics.AffinityPoolTagValues;
import io.github.affinitypool.core.CloseReason;
import io.github.affinitypool.core.Locality;
import io.github.affinitypool.redis.RedisAffinityPool;
import io.github.affinitypool.redis.RedisLease;
import io.github.affinitypool.testing.RedisServer;
import io.github.affinitypool.testing.RedisServerInstance;
import io.github.affinitypool.testing.RedisTest;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.json.JsonParserFactory;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code docs/configuration.md} and {@code docs/metrics.md} are the reference users write their {@code application.yml}
 * and dashboards against: their tables must match what the code registers, in both directions.
 */
@RedisTest
class ReferenceDocumentationTests {

    private static final Path DOCS = Path.of("..", "docs");

    /** A table row whose first cell is a name in backquotes: {@code | `name` | ... |}. */
    private static final Pattern ROW = Pattern.compile("^\\| `([a-z.-]+)` \\|.*");

    @RedisServerInstance
    RedisServer redis;

    @Test
    void configurationReferenceListsEveryPropertyWithItsDefault() throws IOException {
        Map<String, String> documented = firstTable(DOCS.resolve("configuration.md"),
                "| property | default | meaning |");
        Map<String, Map<String, Object>> properties = propertiesFromMetadata();
        assertThat(documented.keySet()).as("properties in docs/configuration.md")
                .containsExactlyInAnyOrderElementsOf(properties.keySet());
        properties.forEach((name, property) -> {
            assertThat((String) property.get("description")).as("javadoc of " + name).isNotBlank();
            Object defaultValue = property.get("defaultValue");
            String documentedDefault = documented.get(name);
            if (defaultValue != null) {
                assertThat(documentedDefault).as("default of " + name)
                        .contains("`" + String.valueOf(defaultValue).toLowerCase(Locale.ROOT) + "`");
            }
            else {
                assertThat(documentedDefault).as("default of " + name + " (computed, so described)").isNotBlank();
            }
        });
    }

    /**
     * The switch of the health indicator is the starter's own property, as {@code management.health.redis.enabled} is
     * Spring Boot's: without an entry in the metadata an IDE flags it as unknown in {@code application.yml}.
     */
    @Test
    void theHealthIndicatorSwitchOfTheMetricsReferenceIsInTheMetadata() throws IOException {
        String name = "management.health.redisaffinitypool.enabled";
        assertThat(Files.readString(DOCS.resolve("metrics.md"))).contains("`" + name + "=false`");
        assertThat(allPropertiesFromMetadata().get(name)).as(name + " in the metadata").isNotNull()
                .containsEntry("type", "java.lang.Boolean").containsEntry("defaultValue", true)
                .hasEntrySatisfying("description", description -> assertThat((String) description).isNotBlank());
    }

    @Test
    void metricsReferenceListsEveryMeterWithItsTypeAndTags() throws IOException {
        Path reference = DOCS.resolve("metrics.md");
        Map<String, String> documented = firstTable(reference, "| meter | type | extra tags | meaning |");
        Map<String, List<Meter.Id>> registered = exercisePool(new SimpleMeterRegistry()).stream()
                .collect(Collectors.groupingBy(Meter.Id::getName, TreeMap::new, Collectors.toList()));
        assertThat(documented.keySet()).as("meters in docs/metrics.md")
                .containsExactlyInAnyOrderElementsOf(registered.keySet());
        Map<String, String> extraTags = columns(reference, "| meter | type | extra tags | meaning |", 3);
        registered.forEach((name, ids) -> {
            assertThat(documented.get(name).trim()).as("type of " + name)
                    .isEqualTo(ids.get(0).getType().name().toLowerCase(Locale.ROOT));
            Set<String> tags = ids.stream().flatMap(id -> id.getTags().stream()).map(Tag::getKey)
                    .filter(key -> !key.equals("name") && !key.equals("kind"))
                    .collect(Collectors.toCollection(TreeSet::new));
            assertThat(tags).as("extra tags of " + name).isEqualTo(backquoted(extraTags.get(name)));
        });
        String text = Files.readString(reference);
        for (CloseReason reason : CloseReason.values()) {
            assertThat(text).as("reason tag value").contains("`" + AffinityPoolTagValues.of(reason) + "`");
        }
        for (Locality locality : Locality.values()) {
            assertThat(text).as("locality tag value").contains("`" + AffinityPoolTagValues.of(locality) + "`");
        }
    }

    /** A lease held past the leak threshold, then a close: every meter the starter can register shows up. */
    /**
     * Runs a pool through every event that has a meter, and its close.
     *
     * @return every meter it had: the gauges as the pool ran (they are removed when it closes), the rest afterwards
     */
    private Set<Meter.Id> exercisePool(MeterRegistry registry) {
        Set<Meter.Id> seen = new HashSet<>();
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AffinityPoolAutoConfiguration.class))
                .withBean(MeterRegistry.class, () -> registry)
                .withPropertyValues("affinity-pool.redis.url=" + redis.uri(), "affinity-pool.redis.workers=1",
                        "affinity-pool.redis.pool.leak-detection-threshold=50ms")
                .run(context -> {
                    RedisAffinityPool<?, ?> pool = context.getBean(RedisAffinityPool.class);
                    RedisLease<?, ?> lease = pool.acquire().block(Duration.ofSeconds(5));
                    await().atMost(Duration.ofSeconds(5))
                            .until(() -> registry.find("redis.pool.leaks.suspected").counter() != null);
                    lease.release().block(Duration.ofSeconds(5));
                    registry.getMeters().forEach(meter -> seen.add(meter.getId()));
                });
        await().atMost(Duration.ofSeconds(5))
                .until(() -> registry.find("redis.pool.connections.closed").tag("kind", "command").counter() != null);
        registry.getMeters().forEach(meter -> seen.add(meter.getId()));
        return seen;
    }

    /** @return the {@code affinity-pool.redis.*} properties of the metadata, by name without the prefix */
    private static Map<String, Map<String, Object>> propertiesFromMetadata() throws IOException {
        Map<String, Map<String, Object>> properties = new LinkedHashMap<>();
        allPropertiesFromMetadata().forEach((name, property) -> {
            if (name.startsWith(AffinityPoolProperties.PREFIX + ".")) {
                properties.put(name.substring(AffinityPoolProperties.PREFIX.length() + 1), property);
            }
        });
        return properties;
    }

    /** @return every property of the metadata the starter ships, by full name */
    private static Map<String, Map<String, Object>> allPropertiesFromMetadata() throws IOException {
        try (InputStream metadata = ReferenceDocumentationTests.class
                .getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            assertThat(metadata).as("configuration metadata on the class path").isNotNull();
            Map<String, Object> json = JsonParserFactory.getJsonParser()
                    .parseMap(new String(metadata.readAllBytes(), StandardCharsets.UTF_8));
            Map<String, Map<String, Object>> properties = new LinkedHashMap<>();
            for (Object entry : (List<?>) json.get("properties")) {
                @SuppressWarnings("unchecked")
                Map<String, Object> property = (Map<String, Object>) entry;
                properties.put((String) property.get("name"), property);
            }
            return properties;
        }
    }

    /** @return first column to second column of the table under {@code header} */
    private static Map<String, String> firstTable(Path file, String header) throws IOException {
        return columns(file, header, 2);
    }

    /** @return first column to column {@code column} (1-based) of the table under {@code header} */
    private static Map<String, String> columns(Path file, String header, int column) throws IOException {
        List<String> lines = Files.readAllLines(file);
        int start = lines.indexOf(header);
        assertThat(start).as(header + " in " + file).isNotNegative();
        Map<String, String> rows = new LinkedHashMap<>();
        for (String line : lines.subList(start + 2, lines.size())) {
            if (!line.startsWith("|")) {
                break;
            }
            Matcher row = ROW.matcher(line);
            assertThat(row.matches()).as("table row " + line).isTrue();
            String[] cells = line.split("\\|");
            rows.put(row.group(1), cells[column].trim());
        }
        return rows;
    }

    private static Set<String> backquoted(String cell) {
        return Arrays.stream(cell.split(",")).map(String::trim).filter(tag -> tag.startsWith("`"))
                .map(tag -> tag.replace("`", "")).collect(Collectors.toCollection(TreeSet::new));
    }
}
