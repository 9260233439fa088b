package dev.vectorgrad.transformer.train;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class ProgressLineTest {
    @Test
    void formatsAllFields() {
        // 12 × 64 = 768 tokens per iteration at 41.2 ms → 768 / 0.0412 = 18,640.78 tok/s; 1500 iters left × 41.2 ms = 61.8 s.
        assertThat(ProgressLine.format(500, 2000, 1.83418, 9.5123e-4, 41.2, 768))
                .isEqualTo("iter  500/2000 | loss 1.8342 | lr 9.51e-04 | 41.2 ms/iter | 18,641 tok/s | ETA 1m02s");
        assertThat(ProgressLine.format(2000, 2000, 1.5, 1e-4, 8.5, 768))
                .isEqualTo("iter 2000/2000 | loss 1.5000 | lr 1.00e-04 | 8.50 ms/iter | 90,353 tok/s | ETA 0s");
        assertThat(ProgressLine.format(1, 10, Double.NaN, 0.001, 0.25, 100))
                .isEqualTo("iter  1/10 | loss NaN | lr 1.00e-03 | 0.250 ms/iter | 400,000 tok/s | ETA 0s");
        assertThat(ProgressLine.format(3, 10, 2, 0.001, 0, 100)).endsWith("| 0.000 ms/iter | - tok/s | ETA 0s");
    }

    @Test
    void durations() {
        assertThat(ProgressLine.formatDuration(0.4)).isEqualTo("0s");
        assertThat(ProgressLine.formatDuration(59.4)).isEqualTo("59s");
        assertThat(ProgressLine.formatDuration(62)).isEqualTo("1m02s");
        assertThat(ProgressLine.formatDuration(3599)).isEqualTo("59m59s");
        assertThat(ProgressLine.formatDuration(7500)).isEqualTo("2h05m");
    }

    private static String run(boolean inPlace) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong clock = new AtomicLong(1_000_000_000L);
        ProgressLine p = new ProgressLine(100, 10, inPlace, new PrintStream(buf, true, StandardCharsets.UTF_8), clock::get);
        clock.addAndGet(50_000_000L); // 10 iterations in 50 ms → 5 ms/iter
        p.report(10, 3.0, 1e-3);
        clock.addAndGet(20_000_000L); // 10 more in 20 ms → 2 ms/iter
        p.report(20, 2.5, 1e-3);
        p.message("val loss: 2.6000");
        p.report(100, 2.0, 1e-4, 1000.0);
        p.endLine();
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void plainLinesWhenNotATerminal() {
        String nl = System.lineSeparator();
        assertThat(run(false)).isEqualTo(
                "iter  10/100 | loss 3.0000 | lr 1.00e-03 | 5.00 ms/iter | 2,000 tok/s | ETA 0s" + nl
                        + "iter  20/100 | loss 2.5000 | lr 1.00e-03 | 2.00 ms/iter | 5,000 tok/s | ETA 0s" + nl
                        + "val loss: 2.6000" + nl
                        + "iter 100/100 | loss 2.0000 | lr 1.00e-04 | 1000 ms/iter | 10 tok/s | ETA 0s" + nl);
    }

    @Test
    void inPlaceRewritesOneLine() {
        String nl = System.lineSeparator();
        String out = run(true);
        // 90 iterations left × 5 ms = 0.45 s → "0s"; the second line is as long as the first, so no padding.
        assertThat(out).isEqualTo(
                "\riter  10/100 | loss 3.0000 | lr 1.00e-03 | 5.00 ms/iter | 2,000 tok/s | ETA 0s"
                        + "\riter  20/100 | loss 2.5000 | lr 1.00e-03 | 2.00 ms/iter | 5,000 tok/s | ETA 0s" + nl
                        + "val loss: 2.6000" + nl
                        + "\riter 100/100 | loss 2.0000 | lr 1.00e-04 | 1000 ms/iter | 10 tok/s | ETA 0s" + nl);
    }

    @Test
    void shorterLinePadsOverTheLongerOne() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressLine p = new ProgressLine(10, 1000, true, new PrintStream(buf, true, StandardCharsets.UTF_8), () -> 0L);
        String a = p.report(1, 1, 1e-3, 0.5);   // "0.500 ms/iter | 2,000,000 tok/s"
        String b = p.report(2, 1, 1e-3, 500.0); // "500 ms/iter | 2,000 tok/s": 2 + 4 characters shorter
        assertThat(b).endsWith("| 500 ms/iter | 2,000 tok/s | ETA 4s");
        assertThat(a.length() - b.length()).isEqualTo(6);
        assertThat(buf.toString(StandardCharsets.UTF_8)).isEqualTo("\r" + a + "\r" + b + "      ");
    }
}
