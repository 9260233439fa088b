package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GemmTest {
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    /** One problem with its operands laid out at offsets, with leading dimensions padded by {@code pad}. */
    private static final class Problem {
        final boolean ta, tb;
        final int m, n, k, lda, ldb, ldc, aOff, bOff, cOff;
        final float alpha, beta;
        final float[] a, b, c0;

        Problem(SplittableRandom rnd, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, int pad, int off) {
            this.ta = ta;
            this.tb = tb;
            this.m = m;
            this.n = n;
            this.k = k;
            this.alpha = alpha;
            this.beta = beta;
            lda = (ta ? m : k) + pad;
            ldb = (tb ? k : n) + pad;
            ldc = n + pad;
            aOff = off;
            bOff = 2 * off;
            cOff = 3 * off;
            a = random(rnd, aOff + (ta ? k : m) * lda + off);
            b = random(rnd, bOff + (tb ? n : k) * ldb + off);
            c0 = random(rnd, cOff + m * ldc + off);
            if (beta == 0f) Arrays.fill(c0, Float.NaN); // must be overwritten without being read
        }

        float[] run() {
            float[] c = c0.clone();
            Gemm.sgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return c;
        }

        float opA(int i, int p) {
            return ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        }

        float opB(int p, int j) {
            return tb ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        }

        /** Checks c against a double-accumulated triple loop, relative to alpha·Σ|a||b| + |beta·c|. */
        void check(float[] c) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0, abs = 0;
                    for (int p = 0; p < k; p++) {
                        double x = (double) opA(i, p) * opB(p, j);
                        s += x;
                        abs += Math.abs(x);
                    }
                    int ci = cOff + i * ldc + j;
                    double expect = alpha * s + (beta == 0f ? 0 : (double) beta * c0[ci]);
                    double scale = Math.abs(alpha) * abs + (beta == 0f ? 0 : Math.abs(beta * c0[ci]));
                    double err = Math.abs(c[ci] - expect);
                    if (!(err <= 2e-5 * scale + 1e-30))
                        fail("%s: C[%d][%d] = %s, expected %s (err %.3g, scale %.3g)", this, i, j, c[ci], expect, err, scale);
                }
            }
            // Everything outside the m×n window of C is untouched.
            for (int idx = 0; idx < c.length; idx++) {
                int rel = idx - cOff;
                boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
                if (!inside && Float.floatToRawIntBits(c[idx]) != Float.floatToRawIntBits(c0[idx]))
                    fail("%s: element %d outside C's window was written", this, idx);
            }
        }

        @Override
        public String toString() {
            return String.format("sgemm(ta=%b tb=%b m=%d n=%d k=%d alpha=%s beta=%s lda=%d ldb=%d ldc=%d offs=%d/%d/%d)",
                    ta, tb, m, n, k, alpha, beta, lda, ldb, ldc, aOff, bOff, cOff);
        }
    }

    static float[] random(SplittableRandom rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }

    private static final float[][] ALPHA_BETA = {{1f, 0f}, {1f, 1f}, {0.5f, 0f}, {-1.25f, 0.75f}, {2f, -1f}};

    @Test
    void randomShapesAllTransposes() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int t = 0; t < 48; t++) {
            int m = 1 + rnd.nextInt(300), n = 1 + rnd.nextInt(300), k = 1 + rnd.nextInt(300);
            float[] ab = ALPHA_BETA[t % ALPHA_BETA.length];
            Problem p = new Problem(rnd, (t & 1) != 0, (t & 2) != 0, m, n, k, ab[0], ab[1], rnd.nextInt(3) * 5, rnd.nextInt(4));
            p.check(p.run());
        }
    }

    @Test
    void edgeSizesAroundPanelsAndBlocks() {
        SplittableRandom rnd = new SplittableRandom(2);
        // 1, primes, around the vector width (8), panel widths (16, 24) and heights (3, 4, 6), MC (144), KC (256).
        int[] sizes = {1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 23, 24, 25, 31, 47, 48, 49, 97, 143, 145};
        int t = 0;
        for (int m : sizes) {
            for (int n : new int[] {1, 7, 8, 16, 23, 24, 25, 48, 49, 65, 97}) {
                int k = new int[] {1, 3, 17, 64, 255, 257}[t % 6];
                float[] ab = ALPHA_BETA[t % ALPHA_BETA.length];
                Problem p = new Problem(rnd, (t & 1) != 0, (t & 2) != 0, m, n, k, ab[0], ab[1], t % 3, t % 5);
                p.check(p.run());
                t++;
            }
        }
    }

    /** A few columns past the last vector (at 8 and 16 lanes), unpacked, at offsets, every alpha/beta and transpose. */
    @Test
    void narrowRightEdgesAtOffsets() {
        SplittableRandom rnd = new SplittableRandom(12);
        int t = 0;
        for (int n : new int[] {17, 18, 33, 34, 36, 65, 66, 68, 129}) {
            for (int tr = 0; tr < 4; tr++, t++) {
                float[] ab = ALPHA_BETA[t % ALPHA_BETA.length];
                int m = t % 2 == 0 ? 45 : 131, k = t % 3 == 0 ? 259 : 37;
                Problem p = new Problem(rnd, (tr & 1) != 0, (tr & 2) != 0, m, n, k, ab[0], ab[1], t % 3, 1 + t % 4);
                p.check(p.run());
            }
        }
    }

    @Test
    void rightEdgePanelsOfOneAndTwoVectors() {
        // Last B panel 8 or 16 columns wide (the narrow edge kernels, written straight into C), over several
        // K slices with an odd last slice (the 3×8 kernel pairs steps), full and partial micro-panel rows,
        // in place and interleaved A; n = 512 also splits into two column blocks.
        SplittableRandom rnd = new SplittableRandom(8);
        int t = 0;
        for (int n : new int[] {8, 16, 128, 136, 512}) {
            for (int m : new int[] {3, 145, 300}) {
                int k = new int[] {1, 2, 300, 513}[t % 4];
                float[] ab = ALPHA_BETA[t % ALPHA_BETA.length];
                Problem p = new Problem(rnd, (t & 1) != 0, (t & 2) != 0, m, n, k, ab[0], ab[1], t % 2, t % 3);
                p.check(p.run());
                t++;
            }
        }
    }

    @Test
    void deepKSpansSeveralSlices() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int t = 0; t < 4; t++) {
            Problem p = new Problem(rnd, (t & 1) != 0, (t & 2) != 0, 37, 53, 513 + 256 * t, t == 0 ? 1f : 0.5f, t == 1 ? 0f : 1.5f, 3, 1);
            p.check(p.run());
        }
    }

    @Test
    void rowStrideOfAMultipleOf4KiBIsCopiedWithTheSameBits() {
        // lda = 1024 or 2048 floats: A's rows are copied before the kernel reads them (they would share L2
        // sets), which must change nothing but where the kernel reads from.
        SplittableRandom rnd = new SplittableRandom(9);
        for (int lda : new int[] {1024, 2048}) {
            for (int k : new int[] {5, 300, 1024}) {
                int m = 149, n = 61;
                Problem p = new Problem(rnd, false, false, m, n, k, 1f, lda == 1024 ? 0f : 1f, lda - k, 2);
                float[] c = p.run();
                p.check(c);
                // The same product with A at stride lda + 1, read in place: bit for bit the same C.
                float[] a1 = new float[p.aOff + m * (lda + 1)];
                for (int i = 0; i < m; i++) System.arraycopy(p.a, p.aOff + i * lda, a1, p.aOff + i * (lda + 1), k);
                float[] c1 = p.c0.clone();
                Gemm.sgemm(false, false, m, n, k, 1f, a1, p.aOff, lda + 1, p.b, p.bOff, p.ldb, p.beta, c1, p.cOff, p.ldc);
                assertThat(c1).as("lda %d vs %d, k %d", lda, lda + 1, k).isEqualTo(c);
            }
        }
    }

    @Test
    void oneLargeProblemEachTranspose() {
        SplittableRandom rnd = new SplittableRandom(4);
        for (int t = 0; t < 4; t++) {
            Problem p = new Problem(rnd, (t & 1) != 0, (t & 2) != 0, 517, 389, 1031, 1f, t == 2 ? 0.5f : 0f, t, t * 3);
            p.check(p.run());
        }
    }

    @Test
    void zeroSizesAndZeroAlpha() {
        SplittableRandom rnd = new SplittableRandom(5);
        // k = 0: C = beta·C (beta = 0 clears NaN garbage).
        float[] c = {Float.NaN, Float.NaN, 9f, Float.NaN, Float.NaN, 9f};
        Gemm.sgemm(false, false, 2, 2, 0, 1f, new float[0], 0, 1, new float[0], 0, 2, 0f, c, 0, 3);
        assertThat(c).containsExactly(0f, 0f, 9f, 0f, 0f, 9f);
        float[] c2 = {1f, 2f, 3f, 4f};
        Gemm.sgemm(true, true, 2, 2, 0, 1f, null, 0, 2, null, 0, 1, 2f, c2, 0, 2);
        assertThat(c2).containsExactly(2f, 4f, 6f, 8f);
        // alpha = 0: A and B are not read into the result (NaN in them does not leak), C = beta·C.
        float[] nanA = new float[6];
        Arrays.fill(nanA, Float.NaN);
        float[] c3 = {1f, 2f, 3f, 4f};
        Gemm.sgemm(false, false, 2, 2, 3, 0f, nanA, 0, 3, nanA, 0, 2, 0.5f, c3, 0, 2);
        assertThat(c3).containsExactly(0.5f, 1f, 1.5f, 2f);
        // m = 0 or n = 0: nothing happens, even with null arrays.
        Gemm.sgemm(false, false, 0, 5, 5, 1f, null, 0, 5, random(rnd, 25), 0, 5, 0f, null, 0, 5);
        Gemm.sgemm(false, false, 5, 0, 5, 1f, random(rnd, 25), 0, 5, null, 0, 1, 0f, null, 0, 1);
        Gemm.sgemmBatched(0, false, false, 4, 4, 4, 1f, null, 0, 4, 16, null, 0, 4, 16, 0f, null, 0, 4, 16);
    }

    /** Batched against per-entry sgemm; stride 0 broadcasts the operand. */
    @Test
    void batchedWithSharedAndStridedOperands() {
        SplittableRandom rnd = new SplittableRandom(6);
        int[][] shapes = {{64, 64, 32}, {5, 7, 3}, {130, 70, 200}, {37, 65, 45}, {23, 129, 31}};
        for (int[] sh : shapes) {
            int m = sh[0], n = sh[1], k = sh[2], batch = 5;
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                boolean shareA = t == 1, shareB = t == 2;
                int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;
                long sA = shareA ? 0 : (long) (ta ? k : m) * lda + 4, sB = shareB ? 0 : (long) (tb ? n : k) * ldb + 1;
                long sC = (long) m * ldc + 2;
                float[] a = random(rnd, (int) (2 + (batch - 1) * sA + (ta ? k : m) * lda));
                float[] b = random(rnd, (int) (1 + (batch - 1) * sB + (tb ? n : k) * ldb));
                float[] c = random(rnd, (int) (3 + (batch - 1) * sC + m * ldc));
                float alpha = 0.75f, beta = t == 3 ? 0f : 0.5f;
                float[] expect = c.clone();
                for (int e = 0; e < batch; e++)
                    Gemm.sgemm(ta, tb, m, n, k, alpha, a, (int) (2 + e * sA), lda, b, (int) (1 + e * sB), ldb,
                            beta, expect, (int) (3 + e * sC), ldc);
                float[] got = c.clone();
                Gemm.sgemmBatched(batch, ta, tb, m, n, k, alpha, a, 2, lda, sA, b, 1, ldb, sB, beta, got, 3, ldc, sC);
                assertThat(got).as("batched %dx%dx%d t=%d", m, n, k, t).containsExactly(expect);
            }
        }
        // And one entry of a batched call checked against the reference directly.
        Problem p = new Problem(rnd, false, true, 33, 45, 29, 1f, 0f, 0, 0);
        float[] c = p.c0.clone();
        Gemm.sgemmBatched(1, p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a, p.aOff, p.lda, 0, p.b, p.bOff, p.ldb, 0,
                p.beta, c, p.cOff, p.ldc, 0);
        p.check(c);
    }

    @Test
    void transposedADeepKSplitsKInTwoHalvesWithTheSameBitsForAnyThreadCount() {
        // Aᵀ·B with K ≥ 2·KC takes the split-K path (weight gradients Xᵀ·dY): first half into C, second into a
        // scratch added afterwards. Odd K (unequal halves), both B layouts, every alpha/beta kind, padded
        // leading dimensions and offsets, edge rows and columns, two column blocks (n = 520).
        SplittableRandom rnd = new SplittableRandom(11);
        int t = 0;
        for (int[] sh : new int[][] {{128, 384, 768}, {37, 65, 513}, {130, 520, 700}, {5, 17, 1025}, {512, 128, 768}}) {
            int m = sh[0], n = sh[1], k = sh[2];
            for (boolean tb : new boolean[] {false, true}) {
                float[] ab = ALPHA_BETA[t % ALPHA_BETA.length];
                Problem p = new Problem(rnd, true, tb, m, n, k, ab[0], ab[1], t % 3, t % 4);
                assertThat(Gemm.splitsK(Gemm.plan(), true, k, n - Gemm.narrowColumns(n))).as("%s takes the split-K path", p).isTrue();
                Parallel.setThreads(1);
                float[] one = p.run();
                p.check(one);
                for (int threads : new int[] {2, 3}) {
                    Parallel.setThreads(threads);
                    assertThat(p.run()).as("%s with %d threads", p, threads).isEqualTo(one);
                }
                t++;
            }
        }
        // A vocabulary-wide n would need both halves' B panels in one buffer of hundreds of MB: row split instead.
        assertThat(Gemm.splitsK(Gemm.plan(), true, 768, 50257)).isFalse();
    }

    @Test
    void bitIdenticalForOneTwoThreeThreads() {
        SplittableRandom rnd = new SplittableRandom(7);
        List<Problem> problems = new ArrayList<>();
        problems.add(new Problem(rnd, false, false, 301, 203, 600, 1f, 0f, 1, 1));
        problems.add(new Problem(rnd, true, false, 128, 384, 768, 1f, 0.5f, 0, 0));
        problems.add(new Problem(rnd, false, true, 770, 65, 128, -1f, 1f, 2, 3));
        problems.add(new Problem(rnd, false, false, 768, 128, 513, 1f, 0f, 0, 0)); // 8-wide edge panel, odd K slice
        problems.add(new Problem(rnd, true, false, 300, 520, 301, 1f, 1f, 0, 0));  // two column blocks, 16-wide edge
        problems.add(new Problem(rnd, false, true, 200, 1000, 300, 1f, 1f, 1, 2)); // three column blocks in one section
        problems.add(new Problem(rnd, true, true, 7, 900, 300, 1f, 0f, 0, 0));
        // Narrow right edges (n mod 8 and n mod 16 = 1): the last column unpacked, big enough to be split too.
        problems.add(new Problem(rnd, false, false, 3001, 65, 300, 1f, 0f, 1, 2));
        problems.add(new Problem(rnd, true, false, 2999, 33, 301, -0.5f, 0.5f, 0, 1));
        problems.add(new Problem(rnd, true, false, 128, 65, 768, 1f, 0f, 0, 0));
        // Matrix-vector-like shapes (the unpacked path), big enough to be split among threads.
        problems.add(new Problem(rnd, false, false, 1, 3000, 1000, 1f, 0f, 0, 0));
        problems.add(new Problem(rnd, true, false, 3000, 2, 700, 0.5f, 1f, 1, 2));
        problems.add(new Problem(rnd, false, true, 3001, 3, 500, 1f, 0f, 0, 0));
        problems.add(new Problem(rnd, true, true, 2, 1500, 900, 1f, 0f, 0, 0));
        for (Problem p : problems) {
            Parallel.setThreads(1);
            float[] one = p.run();
            p.check(one);
            for (int threads : new int[] {2, 3}) {
                Parallel.setThreads(threads);
                for (int rep = 0; rep < 2; rep++)
                    assertThat(p.run()).as("%s with %d threads", p, threads).isEqualTo(one); // Arrays.equals: bit for bit
            }
        }
        // Batched small problems (parallel over the batch) and large ones (parallel inside each).
        for (int[] sh : new int[][] {{64, 64, 32}, {200, 96, 300}}) {
            int m = sh[0], n = sh[1], k = sh[2], batch = 6;
            float[] a = random(rnd, batch * m * k), b = random(rnd, k * n);
            float[] ref = null;
            for (int threads : new int[] {1, 2, 3}) {
                Parallel.setThreads(threads);
                float[] c = new float[batch * m * n];
                Gemm.sgemmBatched(batch, false, true, m, n, k, 1f, a, 0, k, (long) m * k, b, 0, k, 0, 0f, c, 0, n, (long) m * n);
                if (ref == null) ref = c;
                else assertThat(c).as("batched %s with %d threads", Arrays.toString(sh), threads).isEqualTo(ref);
            }
        }
    }

    @Test
    void badArgumentsAreRejectedWithClearMessages() {
        float[] a = new float[12], b = new float[12], c = new float[16];
        assertThatThrownBy(() -> Gemm.sgemm(false, false, -1, 4, 3, 1f, a, 0, 3, b, 0, 4, 0f, c, 0, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sgemm").hasMessageContaining("m=-1");
        assertThatThrownBy(() -> Gemm.sgemm(false, false, 4, 4, 3, 1f, a, 0, 2, b, 0, 4, 0f, c, 0, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sgemm").hasMessageContaining("lda=2");
        assertThatThrownBy(() -> Gemm.sgemm(false, true, 4, 4, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ldb=2");
        assertThatThrownBy(() -> Gemm.sgemm(false, false, 4, 4, 3, 1f, a, 0, 3, b, 0, 4, 0f, c, 0, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ldc=3");
        // A is 4×3 at offset 1: needs 13 elements, has 12.
        assertThatThrownBy(() -> Gemm.sgemm(false, false, 4, 4, 3, 1f, a, 1, 3, b, 0, 4, 0f, c, 0, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sgemm").hasMessageContaining("A has 12")
                .hasMessageContaining("needs 13");
        assertThatThrownBy(() -> Gemm.sgemm(true, false, 5, 4, 3, 1f, a, 0, 5, b, 0, 4, 0f, c, 0, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("A has 12");
        assertThatThrownBy(() -> Gemm.sgemm(false, false, 4, 4, 3, 1f, a, 0, 3, b, 0, 4, 0f, new float[15], 0, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("C has 15");
        assertThatThrownBy(() -> Gemm.sgemm(false, false, 4, 4, 3, 1f, a, 0, 3, null, 0, 4, 0f, c, 0, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("B is null");
        assertThatThrownBy(() -> Gemm.sgemm(false, false, 4, 4, 3, 1f, a, -1, 3, b, 0, 4, 0f, c, 0, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offset");
        // Batched: the last entry must fit, strides must be >= 0, outputs must not coincide.
        assertThatThrownBy(() -> Gemm.sgemmBatched(2, false, false, 4, 4, 3, 1f, a, 0, 3, 12, b, 0, 4, 0, 0f, new float[32], 0, 4, 16))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("A has 12").hasMessageContaining("batch=2");
        assertThatThrownBy(() -> Gemm.sgemmBatched(2, false, false, 4, 4, 3, 1f, a, 0, 3, -1, b, 0, 4, 0, 0f, new float[32], 0, 4, 16))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stride");
        assertThatThrownBy(() -> Gemm.sgemmBatched(2, false, false, 4, 4, 3, 1f, a, 0, 3, 0, b, 0, 4, 0, 0f, c, 0, 4, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("strideC=0");
        assertThatThrownBy(() -> Gemm.sgemmBatched(-2, false, false, 4, 4, 3, 1f, a, 0, 3, 0, b, 0, 4, 0, 0f, c, 0, 4, 16))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batch=-2");
    }
}
