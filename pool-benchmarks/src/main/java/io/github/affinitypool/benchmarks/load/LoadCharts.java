package io.github.affinitypool.benchmarks.load;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;

/**
 * The load benchmark's charts (XChart, PNG): throughput by setup and concurrency per scenario, and latency
 * percentiles (p50, p90, p99, p99.9) per concurrency for GET.
 */
final class LoadCharts {

    /** One colour per setup (1)–(6), the same in every chart. */
    private static final Color[] COLORS = { new Color(0x1b9e77), new Color(0x66c2a5), new Color(0xd95f02),
            new Color(0xfc8d62), new Color(0x7570b3), new Color(0x999999) };

    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 17);

    private static final Font TEXT = new Font(Font.SANS_SERIF, Font.PLAIN, 14);

    private static final int WIDTH = 1100;

    private static final int HEIGHT = 560;

    private static final List<String> PERCENTILES = List.of("p50", "p90", "p99", "p99.9");

    private LoadCharts() {
    }

    static void write(Map<String, Summary> summaries, List<Integer> connections, Path images) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(images);
        for (Scenario scenario : Scenario.values()) {
            CategoryChart chart = chart("Throughput: " + scenario.description(), "concurrent connections",
                    "successful requests per second");
            List<String> categories = connections.stream().map(c -> c + " connections").toList();
            for (Setup setup : Setup.ROUNDS) {
                List<Double> values = values(summaries, setup, scenario, connections, Summary::requestsPerSecond);
                if (values != null) {
                    chart.addSeries(label(setup), categories, values).setFillColor(COLORS[setup.ordinal()]);
                }
            }
            chart.getStyler().setYAxisMin(0.0);
            chart.getStyler().setyAxisTickLabelsFormattingFunction(value -> String.format(Locale.ROOT, "%,.0f", value));
            chart.getStyler().setYAxisDecimalPattern("#,##0");
            save(chart, images.resolve("load-throughput-" + scenario.name().toLowerCase(Locale.ROOT) + ".png"));
        }
        for (int c : connections) {
            CategoryChart chart = chart("Latency percentiles: GET one 100-byte key, " + c + " connections",
                    "percentile", "latency, ms (log scale)");
            chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
            for (Setup setup : Setup.ROUNDS) {
                Summary s = summaries.get(Summary.key(setup, Scenario.GET, c));
                if (s != null) {
                    CategorySeries series = chart.addSeries(label(setup), PERCENTILES,
                            List.of(s.p50(), s.p90(), s.p99(), s.p999()));
                    series.setLineColor(COLORS[setup.ordinal()]);
                    series.setMarkerColor(COLORS[setup.ordinal()]);
                    series.setLineWidth(2.5f);
                }
            }
            chart.getStyler().setOverlapped(true);
            chart.getStyler().setYAxisLogarithmic(true);
            chart.getStyler().setYAxisLogarithmicDecadeOnly(false);
            chart.getStyler().setPlotGridVerticalLinesVisible(true);
            save(chart, images.resolve("load-latency-get-c" + c + ".png"));
        }
    }

    private static CategoryChart chart(String title, String xTitle, String yTitle) {
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        style(chart.getStyler());
        chart.getStyler().setPlotGridVerticalLinesVisible(false);
        chart.getStyler().setAvailableSpaceFill(0.85);
        return chart;
    }

    private static void style(AxesChartStyler styler) {
        styler.setChartTitleFont(TITLE)
                .setLegendFont(TEXT)
                .setLegendPosition(Styler.LegendPosition.OutsideE)
                .setLegendLayout(Styler.LegendLayout.Vertical)
                .setChartBackgroundColor(Color.WHITE)
                .setPlotBackgroundColor(Color.WHITE);
        styler.setAxisTitleFont(TEXT).setAxisTickLabelsFont(TEXT);
    }

    private static String label(Setup setup) {
        return "(" + setup.number() + ") " + setup.label();
    }

    private static List<Double> values(Map<String, Summary> summaries, Setup setup, Scenario scenario,
            List<Integer> connections, ToDoubleFunction<Summary> metric) {
        List<Double> values = new ArrayList<>();
        for (int c : connections) {
            Summary s = summaries.get(Summary.key(setup, scenario, c));
            if (s == null) {
                return null;
            }
            values.add(metric.applyAsDouble(s));
        }
        return values;
    }

    private static void save(Chart<?, ?> chart, Path file) throws IOException {
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
