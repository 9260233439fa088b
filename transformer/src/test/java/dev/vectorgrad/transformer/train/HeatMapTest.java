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
        HeatMap.write(png, "φ", List.of(new HeatMap.Panel("a vs b", "i", "j", v)));
        BufferedImage img = ImageIO.read(png.toFile());
        // 3 columns: 24 px cells (512/3 capped at 24); 2 rows: 48 px tall (160/2 capped at 48)
        assertThat(HeatMap.cellWidth(3)).isEqualTo(24);
        assertThat(HeatMap.cellHeight(2, 24)).isEqualTo(48);
        assertThat(HeatMap.cellWidth(64)).isEqualTo(8);
        assertThat(HeatMap.cellHeight(8, 8)).isEqualTo(20);
        // the first panel starts at x = 60, y = 56; the centre of cell (i, j) is (60 + 24j + 12, 56 + 48i + 24)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                assertThat(img.getRGB(72 + 24 * j, 80 + 48 * i) & 0xFFFFFF).as("cell %d,%d", i, j).isEqualTo(HeatMap.colour(v[i][j]).getRGB() & 0xFFFFFF);
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
