package dev.vectorgrad.transformer.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LossPlotTest {
    private static int count(BufferedImage img, Color c) {
        int n = 0, rgb = c.getRGB() & 0xFFFFFF;
        for (int y = 0; y < img.getHeight(); y++)
            for (int x = 0; x < img.getWidth(); x++) if ((img.getRGB(x, y) & 0xFFFFFF) == rgb) n++;
        return n;
    }

    @Test
    void writesAReadablePngWithEachSeriesInItsColour(@TempDir Path dir) throws Exception {
        List<Double> it = new ArrayList<>(), train = new ArrayList<>();
        for (int i = 0; i <= 2000; i += 10) {
            it.add((double) i);
            train.add(4.2 * Math.exp(-i / 400.0) + 1.4 + 0.05 * Math.sin(i / 7.0));
        }
        List<Double> evalIt = List.of(0.0, 500.0, 1000.0, 1500.0, 2000.0);
        List<Double> val = List.of(4.3, 2.1, 1.9, 1.85, 1.88);
        Path png = dir.resolve("sub/loss.png");
        LossPlot.write(png, "baby GPT on tinyshakespeare", List.of(LossPlot.Series.of("train", it, train), LossPlot.Series.of("val", evalIt, val)));

        assertThat(png).exists();
        byte[] bytes = Files.readAllBytes(png);
        assertThat(bytes).startsWith(0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A);
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(LossPlot.WIDTH);
        assertThat(img.getHeight()).isEqualTo(LossPlot.HEIGHT);
        // Both series' colours are present (curves plus legend swatches), and the background is white.
        assertThat(count(img, LossPlot.PALETTE.get(0))).isGreaterThan(200);
        assertThat(count(img, LossPlot.PALETTE.get(1))).isGreaterThan(50);
        assertThat(count(img, LossPlot.PALETTE.get(2))).isZero();
        assertThat(img.getRGB(1, 1) & 0xFFFFFF).isEqualTo(0xFFFFFF);
        assertThat(dir.resolve("sub").toFile().list()).containsExactly("loss.png"); // no temp file left behind
    }

    @Test
    void customSizeManySeriesAndDegenerateData(@TempDir Path dir) throws Exception {
        List<LossPlot.Series> many = new ArrayList<>();
        for (int k = 0; k < 14; k++)
            many.add(new LossPlot.Series("s" + k, new double[] {0, 1, 2}, new double[] {k, k + 0.5, Double.NaN}));
        many.add(new LossPlot.Series("flat", new double[] {3}, new double[] {2}));
        many.add(new LossPlot.Series("empty", new double[0], new double[0]));
        Path png = dir.resolve("many.png");
        LossPlot.write(png, "t", "x", "y", many, 640, 400);
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(640);
        assertThat(img.getHeight()).isEqualTo(400);
        for (int k = 0; k < LossPlot.PALETTE.size(); k++) assertThat(count(img, LossPlot.PALETTE.get(k))).as("colour %d", k).isPositive();
    }

    @Test
    void niceTicks() {
        assertThat(LossPlot.niceStep(0.37)).isEqualTo(0.5);
        assertThat(LossPlot.niceStep(130)).isEqualTo(200);
        assertThat(LossPlot.niceStep(0.1)).isEqualTo(0.1, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(LossPlot.ticks(0, 2000, 8)).containsExactly(0, 500, 1000, 1500, 2000);
        // range 3.08 / 6 = 0.51 → step 1 (5.1 rounds up to 10): 2, 3, 4
        assertThat(LossPlot.ticks(1.33, 4.41, 6)).containsExactly(2, 3, 4);
        // range 3.08 / 7 = 0.44 → step 0.5: 1.5, 2.0, ..., 4.0
        double[] t = LossPlot.ticks(1.33, 4.41, 7);
        assertThat(t).hasSize(6);
        assertThat(t[0]).isCloseTo(1.5, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(t[5]).isCloseTo(4.0, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(LossPlot.label(1.5, 0.5)).isEqualTo("1.5");
        assertThat(LossPlot.label(1000, 500)).isEqualTo("1000");
    }

    @Test
    void logXAxisPlacesDecadesEvenlyAndLabelsThemCompactly(@TempDir Path dir) throws Exception {
        // log10 ticks over [10^2.9, 10^4.2]: 1k, 2k, 5k, 10k (≤ 3 decades: 1, 2, 5 × 10ᵏ)
        double[] t = LossPlot.logTicks(2.9, 4.2);
        assertThat(t).hasSize(4);
        assertThat(t[1]).isCloseTo(Math.log10(2000), org.assertj.core.data.Offset.offset(1e-12));
        assertThat(LossPlot.logTicks(1, 6)).containsExactly(1, 2, 3, 4, 5, 6); // wider: decades only
        assertThat(LossPlot.logLabel(Math.log10(2000))).isEqualTo("2k");
        assertThat(LossPlot.logLabel(2)).isEqualTo("100");
        assertThat(LossPlot.logLabel(6)).isEqualTo("1M");
        Path png = dir.resolve("log.png");
        LossPlot.write(png, "quality vs parameters", "trainable params", "val loss",
                List.of(new LossPlot.Series("a", new double[] {1000, 10000, 100000, 0}, new double[] {2, 1.5, 1.2, 9})), 640, 400, true);
        BufferedImage img = ImageIO.read(png.toFile());
        // three points equally spaced in log x lie on the drawn series (x ≤ 0 is skipped, so y = 9 does not stretch the axis)
        assertThat(count(img, LossPlot.PALETTE.get(0))).isGreaterThan(100);
    }

    @Test
    void mismatchedSeriesIsRejected() {
        assertThatThrownBy(() -> new LossPlot.Series("bad", new double[2], new double[3])).hasMessageContaining("\"bad\"");
    }
}
