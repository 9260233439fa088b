package dev.vectorgrad.transformer.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeatMapTest {
    @Test
    void cellsAreDrawnInTheirValuesColourRowIFromTheTop(@TempDir Path dir) throws Exception {
        double[][] v = {{0, 1, 0.5}, {1, 0, 0.25}};
        Path png = dir.resolve("phi.png");
        HeatMap.write(png, "φ", List.of(new HeatMap.Panel("a vs b", "i", "j", v)), 20);
        BufferedImage img = ImageIO.read(png.toFile());
        // the first panel starts at x = 60, y = 56; the centre of cell (i, j) is (60 + 20j + 10, 56 + 20i + 10)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                assertThat(img.getRGB(70 + 20 * j, 66 + 20 * i) & 0xFFFFFF).as("cell %d,%d", i, j).isEqualTo(HeatMap.colour(v[i][j]).getRGB() & 0xFFFFFF);
        assertThat(HeatMap.colour(0)).isEqualTo(new Color(68, 1, 84));
        assertThat(HeatMap.colour(1)).isEqualTo(new Color(253, 231, 37));
        assertThat(HeatMap.colour(7)).isEqualTo(HeatMap.colour(1)); // clamped
        assertThat(dir.toFile().list()).containsExactly("phi.png");
    }

    @Test
    void textFormShadesZeroAsBlankAndOneAsAFullBlock() {
        String t = HeatMap.text(new double[][] {{0, 1}, {0.5, 0.3}});
        assertThat(t.lines().toList()).containsExactly("  1 | █| 0.00 … 1.00", "  2 |▒░| 0.50 … 0.30");
    }

    @Test
    void raggedOrEmptyMatricesAreRefused() {
        assertThatThrownBy(() -> new HeatMap.Panel("p", "i", "j", new double[][] {{1, 2}, {3}})).hasMessageContaining("\"p\"").hasMessageContaining("ragged");
        assertThatThrownBy(() -> new HeatMap.Panel("q", "i", "j", new double[0][])).hasMessageContaining("empty");
        assertThat(HeatMap.tickPositions(64)).startsWith(1, 8, 16).endsWith(64);
    }
}
