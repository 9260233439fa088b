package dev.vectorgrad.transformer.train;

import dev.vectorgrad.transformer.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Heat maps of matrices with values in [0, 1] as PNG, in pure Java (headless {@code java.awt}, like {@link LossPlot}):
 * one panel per matrix side by side, row i of a matrix drawn as the i-th row from the top (as the LoRA paper draws
 * φ(i, j)), a shared colour bar from dark (0) to bright (1) on the right, and a {@link #text text form} for consoles.
 * Text that the JVM cannot draw (no fonts) is left out rather than failing.
 */
public final class HeatMap {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private HeatMap() {}

    /** One matrix to draw, with its caption and axis labels. */
    public record Panel(String title, String rowLabel, String colLabel, double[][] values) {
        public Panel {
            if (values.length == 0 || values[0].length == 0) throw new IllegalArgumentException("HeatMap panel \"" + title + "\": empty matrix");
            for (double[] row : values)
                if (row.length != values[0].length)
                    throw new IllegalArgumentException("HeatMap panel \"" + title + "\": ragged matrix (" + row.length + " vs " + values[0].length + " columns)");
        }
    }

    /** The colour of v ∈ [0, 1] (clamped): a viridis-like ramp from dark purple through teal to yellow. */
    public static Color colour(double v) {
        double t = Double.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0;
        int[][] stops = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
        double x = t * (stops.length - 1);
        int k = Math.min(stops.length - 2, (int) Math.floor(x));
        double f = x - k;
        int[] a = stops[k], b = stops[k + 1];
        return new Color((int) Math.round(a[0] + f * (b[0] - a[0])), (int) Math.round(a[1] + f * (b[1] - a[1])), (int) Math.round(a[2] + f * (b[2] - a[2])));
    }

    /**
     * Writes the panels side by side under {@code title}. A panel's cells are sized to its shape ({@link #cellWidth},
     * {@link #cellHeight}): an 8 × 64 matrix becomes a wide strip of 8 × 20 px cells, a 16 × 16 one a 384 px square.
     */
    public static void write(Path png, String title, List<Panel> panels) throws IOException {
        BufferedImage img = render(title, panels);
        AtomicFiles.write(png, out -> {
            if (!ImageIO.write(img, "png", out)) throw new IOException("HeatMap: no PNG writer available");
        });
    }

    /** A cell's width for a matrix of {@code cols} columns: 512 px across in all, 4 to 24 px a cell. */
    static int cellWidth(int cols) {
        return Math.max(4, Math.min(24, 512 / cols));
    }

    /** A cell's height for {@code rows} rows: at least its width, up to 48 px, so that a 2-row strip is still visible. */
    static int cellHeight(int rows, int cellWidth) {
        return Math.max(cellWidth, Math.min(48, 160 / rows));
    }

    /** Draws the panels into a new RGB image. */
    public static BufferedImage render(String title, List<Panel> panels) {
        if (panels.isEmpty()) throw new IllegalArgumentException("HeatMap: no panels");
        int maxH = 0, width = 60;
        for (Panel p : panels) {
            int cw = cellWidth(p.values()[0].length);
            maxH = Math.max(maxH, p.values().length * cellHeight(p.values().length, cw));
            width += Math.max(p.values()[0].length * cw, 260) + 70;
        }
        width += 90; // colour bar
        int top = 56, height = top + maxH + 60;
        height = Math.max(height, 220);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        boolean[] text = {true};
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            Font base = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
            g.setColor(Color.BLACK);
            g.setFont(base.deriveFont(Font.BOLD, 15f));
            draw(g, text, title, 16, 22);
            int x0 = 60;
            for (Panel p : panels) {
                double[][] v = p.values();
                int rows = v.length, cols = v[0].length, cw = cellWidth(cols), ch = cellHeight(rows, cw), pw = cols * cw, ph = rows * ch;
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++) {
                        g.setColor(colour(v[i][j]));
                        g.fillRect(x0 + j * cw, top + i * ch, cw, ch);
                    }
                g.setColor(Color.DARK_GRAY);
                g.drawRect(x0, top, pw, ph);
                g.setFont(base.deriveFont(Font.BOLD, 13f));
                g.setColor(Color.BLACK);
                draw(g, text, p.title(), x0, top - 8);
                g.setFont(base);
                // ticks: 1 and every "nice" step along each axis (numbers count from 1, as i and j do)
                for (int j : tickPositions(cols)) draw(g, text, Integer.toString(j), x0 + (j - 1) * cw + cw / 2 - 3, top + ph + 14);
                for (int i : tickPositions(rows)) draw(g, text, Integer.toString(i), x0 - 22, top + (i - 1) * ch + ch / 2 + 4);
                draw(g, text, p.colLabel(), x0 + pw / 2 - 10, top + ph + 32);
                if (text[0] && p.rowLabel() != null) {
                    AffineTransform saved = g.getTransform();
                    g.rotate(-Math.PI / 2);
                    draw(g, text, p.rowLabel(), -(top + ph / 2) - 4, x0 - 30);
                    g.setTransform(saved);
                }
                x0 += Math.max(pw, 260) + 70;
            }
            // colour bar
            int barH = Math.max(120, maxH), bx = x0;
            for (int y = 0; y < barH; y++) {
                g.setColor(colour(1 - y / (double) (barH - 1)));
                g.fillRect(bx, top + y, 18, 1);
            }
            g.setColor(Color.DARK_GRAY);
            g.drawRect(bx, top, 18, barH);
            g.setColor(Color.BLACK);
            for (int k = 0; k <= 4; k++) draw(g, text, String.format(Locale.ROOT, "%.2f", 1 - k / 4.0), bx + 24, top + (int) Math.round(k / 4.0 * barH) + 4);
        } finally {
            g.dispose();
        }
        return img;
    }

    /** 1 and the multiples of a step that leaves about 8 labels along an axis of n cells. */
    static int[] tickPositions(int n) {
        int step = n <= 10 ? 1 : n <= 20 ? 2 : n <= 40 ? 5 : n <= 80 ? 8 : Math.max(1, n / 8);
        java.util.List<Integer> t = new java.util.ArrayList<>(List.of(1));
        for (int k = step; k <= n; k += step) if (k != 1) t.add(k);
        return t.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The matrix as text, one line per row: each value as a shade from " ░▒▓█" (0 → space, 1 → full block), then
     * the row's first and last values; for printing φ in a console or notebook.
     */
    public static String text(double[][] values) {
        String shades = " ░▒▓█";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            sb.append(String.format(Locale.ROOT, "%3d |", i + 1));
            for (double v : values[i]) {
                double t = Double.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0;
                sb.append(shades.charAt((int) Math.min(shades.length() - 1, Math.floor(t * shades.length()))));
            }
            sb.append(String.format(Locale.ROOT, "| %.2f … %.2f%n", values[i][0], values[i][values[i].length - 1]));
        }
        return sb.toString();
    }

    private static void draw(Graphics2D g, boolean[] text, String s, int x, int y) {
        if (!text[0] || s == null) return;
        try {
            g.drawString(s, x, y);
        } catch (RuntimeException | Error e) {
            text[0] = false;
            System.err.println("HeatMap: cannot draw text on this JVM (" + e + "); drawing without labels");
        }
    }
}
