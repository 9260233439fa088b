package dev.vectorgrad.transformer.train;

import dev.vectorgrad.transformer.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Line plots of loss curves as PNG, in pure Java (headless {@code java.awt}; {@code java.awt.headless} is set to
 * true when this class loads unless the property was set already). Each series gets its own colour from
 * {@link #PALETTE} (matplotlib's "tab10" and two more; from the 13th series on, colours repeat dashed), axes have
 * "nice" ticks (1, 2, 5 × 10ᵏ) with labels, and a legend names the series. Non-finite points are skipped. Files are
 * written atomically. With {@code logX} the x axis is logarithmic (ticks at 1, 2, 5 × 10ᵏ, or decades only over a
 * wide range; points with x ≤ 0 are skipped), e.g. quality against the number of trainable parameters.
 *
 * <p>If the JVM cannot draw text (a machine without any fonts), the plot is drawn without text and a warning is
 * printed once, rather than failing a training run at its last step.
 */
public final class LossPlot {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Default image size. */
    public static final int WIDTH = 900, HEIGHT = 540;

    /** Series colours, in order. */
    public static final List<Color> PALETTE = List.of(
            new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
            new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
            new Color(0xbcbd22), new Color(0x17becf), new Color(0x000000), new Color(0x00008b));

    private static volatile boolean warnedNoText;

    private LossPlot() {}

    /**
     * One named curve.
     *
     * @param name legend label
     * @param x    x values (e.g. iterations)
     * @param y    y values (e.g. losses), same length as {@code x}
     */
    public record Series(String name, double[] x, double[] y) {
        public Series {
            Objects.requireNonNull(name, "name");
            if (x.length != y.length)
                throw new IllegalArgumentException("LossPlot.Series \"" + name + "\": " + x.length + " x values but " + y.length + " y values");
            x = x.clone();
            y = y.clone();
        }

        /** A series from two lists of numbers (what a training loop collects). */
        public static Series of(String name, List<? extends Number> x, List<? extends Number> y) {
            return new Series(name, x.stream().mapToDouble(Number::doubleValue).toArray(), y.stream().mapToDouble(Number::doubleValue).toArray());
        }
    }

    /** Writes a {@value #WIDTH}×{@value #HEIGHT} plot with axis labels "iteration" and "loss". */
    public static void write(Path png, String title, List<Series> series) throws IOException {
        write(png, title, "iteration", "loss", series, WIDTH, HEIGHT);
    }

    /** Writes a plot of the given size and axis labels to {@code png} atomically. */
    public static void write(Path png, String title, String xLabel, String yLabel, List<Series> series, int width, int height)
            throws IOException {
        write(png, title, xLabel, yLabel, series, width, height, false);
    }

    /** Writes a plot of the given size and axis labels to {@code png} atomically, the x axis logarithmic if {@code logX}. */
    public static void write(Path png, String title, String xLabel, String yLabel, List<Series> series, int width, int height, boolean logX)
            throws IOException {
        BufferedImage img = render(title, xLabel, yLabel, series, width, height, logX);
        AtomicFiles.write(png, out -> {
            if (!ImageIO.write(img, "png", out)) throw new IOException("LossPlot: no PNG writer available");
        });
    }

    /** Draws the plot into a new RGB image. */
    public static BufferedImage render(String title, String xLabel, String yLabel, List<Series> series, int width, int height) {
        return render(title, xLabel, yLabel, series, width, height, false);
    }

    /** Draws the plot into a new RGB image, the x axis logarithmic if {@code logX}. */
    public static BufferedImage render(String title, String xLabel, String yLabel, List<Series> series, int width, int height, boolean logX) {
        if (width < 200 || height < 150)
            throw new IllegalArgumentException("LossPlot: image must be at least 200×150, got " + width + "×" + height);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            new Painter(g, width, height, title, xLabel, yLabel, series, logX).paint();
        } finally {
            g.dispose();
        }
        return img;
    }

    /** The "nice" tick values covering [lo, hi], about {@code target} of them. */
    static double[] ticks(double lo, double hi, int target) {
        double step = niceStep((hi - lo) / Math.max(1, target));
        double first = Math.ceil(lo / step - 1e-9) * step;
        List<Double> t = new ArrayList<>();
        for (double v = first; v <= hi + step * 1e-9; v += step) t.add(Math.abs(v) < step * 1e-9 ? 0.0 : v);
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static double niceStep(double raw) {
        if (!(raw > 0) || !Double.isFinite(raw)) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / p;
        double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * p;
    }

    /** Ticks of a log axis over [10^lo, 10^hi], as log10 values: 1, 2, 5 × 10ᵏ over up to 3 decades, else decades. */
    static double[] logTicks(double lo, double hi) {
        List<Double> t = new ArrayList<>();
        double[] mult = hi - lo <= 3 ? new double[] {1, 2, 5} : new double[] {1};
        for (int k = (int) Math.floor(lo); k <= (int) Math.ceil(hi); k++)
            for (double m : mult) {
                double v = k + Math.log10(m);
                if (v >= lo - 1e-9 && v <= hi + 1e-9) t.add(v);
            }
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** A log-axis tick label: 500, 2k, 10k, 1M. */
    static String logLabel(double log10) {
        double v = Math.pow(10, log10);
        if (v >= 1e6) return trim(v / 1e6) + "M";
        if (v >= 1e3) return trim(v / 1e3) + "k";
        return trim(v);
    }

    private static String trim(double v) {
        String s = String.format(Locale.ROOT, "%.2f", v);
        return s.replaceAll("\\.?0+$", "");
    }

    /** A tick label with just enough decimals for the step. */
    static String label(double v, double step) {
        int decimals = Math.max(0, (int) Math.ceil(-Math.log10(step) - 1e-9));
        if (Math.abs(v) >= 1e6 && decimals == 0) return String.format(Locale.ROOT, "%.0e", v);
        return String.format(Locale.ROOT, "%." + Math.min(decimals, 6) + "f", v);
    }

    private static final class Painter {
        final Graphics2D g;
        final int w, h;
        final String title, xLabel, yLabel;
        final List<Series> series;
        final boolean logX;
        boolean text = true;

        Painter(Graphics2D g, int w, int h, String title, String xLabel, String yLabel, List<Series> series, boolean logX) {
            this.logX = logX;
            this.g = g;
            this.w = w;
            this.h = h;
            this.title = title;
            this.xLabel = xLabel;
            this.yLabel = yLabel;
            this.series = series;
        }

        void paint() {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);

            double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY;
            double yMin = Double.POSITIVE_INFINITY, yMax = Double.NEGATIVE_INFINITY;
            for (Series s : series)
                for (int i = 0; i < s.x().length; i++) {
                    double x = tx(s.x()[i]), y = s.y()[i];
                    if (!Double.isFinite(x) || !Double.isFinite(y)) continue;
                    xMin = Math.min(xMin, x);
                    xMax = Math.max(xMax, x);
                    yMin = Math.min(yMin, y);
                    yMax = Math.max(yMax, y);
                }
            if (xMin > xMax) { xMin = 0; xMax = 1; yMin = 0; yMax = 1; }
            if (xMax - xMin < 1e-12) { xMin -= 0.5; xMax += 0.5; }
            else if (logX) { double pad = (xMax - xMin) * 0.04; xMin -= pad; xMax += pad; }
            if (yMax - yMin < 1e-12) { double pad = Math.max(Math.abs(yMin) * 0.05, 0.5); yMin -= pad; yMax += pad; }
            else { double pad = (yMax - yMin) * 0.05; yMin -= pad; yMax += pad; }

            int left = 72, right = w - 20, top = 44, bottom = h - 58;
            Font base = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
            g.setFont(base);

            // Grid and ticks.
            double[] xt = logX ? logTicks(xMin, xMax) : ticks(xMin, xMax, Math.max(2, (right - left) / 90));
            double[] yt = ticks(yMin, yMax, Math.max(2, (bottom - top) / 60));
            double xStep = xt.length > 1 ? xt[1] - xt[0] : niceStep(xMax - xMin);
            double yStep = yt.length > 1 ? yt[1] - yt[0] : niceStep(yMax - yMin);
            g.setStroke(new BasicStroke(1f));
            for (double v : xt) {
                int px = px(v, xMin, xMax, left, right);
                g.setColor(new Color(0xe6e6e6));
                g.drawLine(px, top, px, bottom);
                g.setColor(Color.DARK_GRAY);
                g.drawLine(px, bottom, px, bottom + 5);
                centered(logX ? logLabel(v) : label(v, xStep), px, bottom + 20);
            }
            for (double v : yt) {
                int py = py(v, yMin, yMax, top, bottom);
                g.setColor(new Color(0xe6e6e6));
                g.drawLine(left, py, right, py);
                g.setColor(Color.DARK_GRAY);
                g.drawLine(left - 5, py, left, py);
                rightAligned(label(v, yStep), left - 8, py + 5);
            }
            g.setColor(Color.DARK_GRAY);
            g.drawRect(left, top, right - left, bottom - top);

            // Titles.
            g.setFont(base.deriveFont(Font.BOLD, 16f));
            centered(title, (left + right) / 2, 28);
            g.setFont(base.deriveFont(14f));
            centered(xLabel, (left + right) / 2, h - 16);
            if (text && yLabel != null && !yLabel.isEmpty()) {
                AffineTransform saved = g.getTransform();
                g.rotate(-Math.PI / 2);
                centered(yLabel, -(top + bottom) / 2, 22);
                g.setTransform(saved);
            }

            // Curves, clipped to the plot area.
            g.setClip(left + 1, top + 1, right - left - 1, bottom - top - 1);
            for (int k = 0; k < series.size(); k++) {
                Series s = series.get(k);
                g.setColor(PALETTE.get(k % PALETTE.size()));
                g.setStroke(stroke(k));
                Path2D.Double path = new Path2D.Double();
                boolean pen = false;
                int points = 0;
                for (int i = 0; i < s.x().length; i++) {
                    double x = tx(s.x()[i]), y = s.y()[i];
                    if (!Double.isFinite(x) || !Double.isFinite(y)) { pen = false; continue; }
                    double px = pxd(x, xMin, xMax, left, right), py = pyd(y, yMin, yMax, top, bottom);
                    if (pen) path.lineTo(px, py); else path.moveTo(px, py);
                    pen = true;
                    points++;
                }
                g.draw(path);
                if (points <= 30) { // sparse curves (evaluations): mark the points
                    for (int i = 0; i < s.x().length; i++) {
                        double x = tx(s.x()[i]), y = s.y()[i];
                        if (!Double.isFinite(x) || !Double.isFinite(y)) continue;
                        int px = px(x, xMin, xMax, left, right), py = py(y, yMin, yMax, top, bottom);
                        g.fillOval(px - 3, py - 3, 7, 7);
                    }
                }
            }
            g.setClip(null);

            // Legend, top right.
            if (!series.isEmpty()) {
                g.setFont(base);
                int lineH = 18, boxW = 40;
                if (text) {
                    FontMetrics fm = g.getFontMetrics();
                    for (Series s : series) boxW = Math.max(boxW, fm.stringWidth(s.name()) + 46);
                }
                int boxH = series.size() * lineH + 10;
                int bx = right - boxW - 10, by = top + 10;
                g.setColor(new Color(255, 255, 255, 230));
                g.fillRect(bx, by, boxW, boxH);
                g.setColor(Color.GRAY);
                g.setStroke(new BasicStroke(1f));
                g.drawRect(bx, by, boxW, boxH);
                for (int k = 0; k < series.size(); k++) {
                    int ly = by + 14 + k * lineH;
                    g.setColor(PALETTE.get(k % PALETTE.size()));
                    g.setStroke(stroke(k));
                    g.drawLine(bx + 8, ly - 4, bx + 34, ly - 4);
                    g.setColor(Color.BLACK);
                    draw(series.get(k).name(), bx + 40, ly);
                }
            }
        }

        /** x on the axis: log10(x) on a log axis (NaN for x ≤ 0, so the point is skipped), else x. */
        private double tx(double x) {
            return !logX ? x : x > 0 ? Math.log10(x) : Double.NaN;
        }

        private static BasicStroke stroke(int k) {
            if (k < PALETTE.size()) return new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
            return new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {7f, 4f}, 0f);
        }

        private static int px(double x, double lo, double hi, int left, int right) {
            return (int) Math.round(pxd(x, lo, hi, left, right));
        }

        private static double pxd(double x, double lo, double hi, int left, int right) {
            return left + (x - lo) / (hi - lo) * (right - left);
        }

        private static int py(double y, double lo, double hi, int top, int bottom) {
            return (int) Math.round(pyd(y, lo, hi, top, bottom));
        }

        private static double pyd(double y, double lo, double hi, int top, int bottom) {
            return bottom - (y - lo) / (hi - lo) * (bottom - top);
        }

        private void centered(String s, int cx, int baseline) {
            if (!text || s == null) return;
            try {
                draw(s, cx - g.getFontMetrics().stringWidth(s) / 2, baseline);
            } catch (RuntimeException | Error e) {
                noText(e);
            }
        }

        private void rightAligned(String s, int rx, int baseline) {
            if (!text) return;
            try {
                draw(s, rx - g.getFontMetrics().stringWidth(s), baseline);
            } catch (RuntimeException | Error e) {
                noText(e);
            }
        }

        private void draw(String s, int x, int y) {
            if (!text) return;
            try {
                g.drawString(s, x, y);
            } catch (RuntimeException | Error e) {
                noText(e);
            }
        }

        private void noText(Throwable e) {
            text = false;
            if (!warnedNoText) {
                warnedNoText = true;
                System.err.println("LossPlot: cannot draw text on this JVM (" + e + "); plotting without labels");
            }
        }
    }
}
