package dev.vectorgrad.transformer.train;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The training progress line: one line per report with iteration, loss, learning rate, ms/iter, tokens/s and ETA,
 * e.g.
 * <pre>iter  500/2000 | loss 1.8342 | lr 9.51e-04 | 41.2 ms/iter | 18,641 tok/s | ETA 1m02s</pre>
 * On a terminal ({@code System.console() != null}) the line is rewritten in place with {@code \r}; otherwise
 * (a log file, CI, a pipe) each report is its own line. {@link #message(String)} prints other lines (e.g.
 * {@code val loss: X}) without garbling an in-place line.
 *
 * <p>{@code iter} counts completed iterations: after the first step it is 1, and the ETA is
 * {@code (total − iter) × ms/iter}. Formatting is pure ({@link #format}) and locale-independent.
 */
public final class ProgressLine {
    private final int totalIters;
    private final long tokensPerIter;
    private final boolean inPlace;
    private final PrintStream out;
    private final LongSupplier nanoClock;

    private long lastNanos;
    private int lastIter;
    private int pendingWidth = -1; // width of the in-place line on screen, or −1 if none

    /**
     * @param totalIters    iterations in the run (for the ETA and the "i/N" field)
     * @param tokensPerIter tokens processed per iteration (batch × block), for tokens/s
     * @param inPlace       rewrite one line with {@code \r} instead of printing lines
     * @param out           where to print
     * @param nanoClock     time source (System::nanoTime; injectable for tests)
     */
    public ProgressLine(int totalIters, long tokensPerIter, boolean inPlace, PrintStream out, LongSupplier nanoClock) {
        if (totalIters < 0) throw new IllegalArgumentException("ProgressLine: totalIters must be ≥ 0, got " + totalIters);
        if (tokensPerIter < 0) throw new IllegalArgumentException("ProgressLine: tokensPerIter must be ≥ 0, got " + tokensPerIter);
        this.totalIters = totalIters;
        this.tokensPerIter = tokensPerIter;
        this.inPlace = inPlace;
        this.out = Objects.requireNonNull(out, "out");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.lastNanos = nanoClock.getAsLong();
    }

    /** Prints to {@code System.out}, in place when a console is attached. */
    public static ProgressLine forConsole(int totalIters, long tokensPerIter) {
        return new ProgressLine(totalIters, tokensPerIter, System.console() != null, System.out, System::nanoTime);
    }

    /** Whether this prints in place. */
    public boolean inPlace() {
        return inPlace;
    }

    /** Restarts the clock at iteration {@code iter} (e.g. after an evaluation, so that it does not count as training). */
    public void restartClock(int iter) {
        lastIter = iter;
        lastNanos = nanoClock.getAsLong();
    }

    /**
     * Reports iteration {@code iter} with ms/iter measured since the previous report (or the clock's start), per
     * iteration in between. Returns the line printed.
     */
    public String report(int iter, double loss, double lr) {
        long now = nanoClock.getAsLong();
        int steps = Math.max(1, iter - lastIter);
        double ms = (now - lastNanos) / 1e6 / steps;
        lastNanos = now;
        lastIter = iter;
        return report(iter, loss, lr, ms);
    }

    /** Reports with a given ms/iter. Returns the line printed. */
    public String report(int iter, double loss, double lr, double msPerIter) {
        String line = format(iter, totalIters, loss, lr, msPerIter, tokensPerIter);
        if (inPlace) {
            int pad = Math.max(0, pendingWidth - line.length());
            out.print("\r" + line + " ".repeat(pad));
            out.flush();
            pendingWidth = line.length();
        } else {
            out.println(line);
        }
        return line;
    }

    /** Prints a line of its own (ending an in-place line first). */
    public void message(String text) {
        endLine();
        out.println(text);
    }

    /** Ends an in-place line, if one is showing. */
    public void endLine() {
        if (pendingWidth >= 0) {
            out.println();
            pendingWidth = -1;
        }
    }

    /** The progress line for these numbers. */
    public static String format(int iter, int totalIters, double loss, double lr, double msPerIter, long tokensPerIter) {
        int width = Integer.toString(totalIters).length();
        StringBuilder b = new StringBuilder(96);
        b.append("iter ").append(String.format(Locale.ROOT, "%" + width + "d", iter)).append('/').append(totalIters);
        b.append(" | loss ").append(Double.isFinite(loss) ? String.format(Locale.ROOT, "%.4f", loss) : String.valueOf(loss));
        b.append(" | lr ").append(String.format(Locale.ROOT, "%.2e", lr));
        b.append(" | ").append(formatMs(msPerIter)).append(" ms/iter");
        if (msPerIter > 0 && Double.isFinite(msPerIter))
            b.append(" | ").append(String.format(Locale.ROOT, "%,.0f", tokensPerIter * 1000.0 / msPerIter)).append(" tok/s");
        else b.append(" | - tok/s");
        b.append(" | ETA ").append(msPerIter >= 0 && Double.isFinite(msPerIter)
                ? formatDuration(Math.max(0, totalIters - iter) * msPerIter / 1000.0) : "-");
        return b.toString();
    }

    /** ms with three significant digits for small values ("0.412", "41.2", "412"). */
    static String formatMs(double ms) {
        if (!Double.isFinite(ms)) return "-";
        if (ms < 1) return String.format(Locale.ROOT, "%.3f", ms);
        if (ms < 10) return String.format(Locale.ROOT, "%.2f", ms);
        if (ms < 100) return String.format(Locale.ROOT, "%.1f", ms);
        return String.format(Locale.ROOT, "%.0f", ms);
    }

    /** A duration like "7s", "1m02s", "2h05m" (rounded to whole seconds). */
    public static String formatDuration(double seconds) {
        long s = Math.round(Math.max(0, seconds));
        if (s < 60) return s + "s";
        if (s < 3600) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
}
