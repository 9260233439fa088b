package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every microkernel of the family against a double-precision triple loop, at awkward shapes and with blocking
 * small enough that every K slice, row chunk and column block has an edge. The parent pom runs this class once
 * more at each vector width ({@code -Dvectorgrad.gemm.bits=256|512}), so a machine without AVX-512 still
 * checks the 512-bit kernels (through the Vector API's Java fallback: exact, slow) and vice versa.
 */
class GemmKernelsTest {
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    /** Plans for one kernel: tiny blocks (every loop has a remainder) and the default sizes. */
    private static Gemm.Plan[] plans(Gemm.Kernel kn) {
        return new Gemm.Plan[] {new Gemm.Plan(kn, 7, kn.mr * 2 + 1, 1), new Gemm.Plan(kn, 256, 144, 432)};
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }

    /** Runs one problem with plan pl (ld = extent + pad) and checks it against the triple loop. */
    private static void check(Gemm.Plan pl, SplittableRandom rnd, boolean ta, boolean tb, int m, int n, int k,
                              float alpha, float beta, int pad) {
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        float[] a = random(rnd, (ta ? k : m) * lda), b = random(rnd, (tb ? n : k) * ldb), c0 = random(rnd, m * ldc);
        float[] c = c0.clone();
        Gemm.sgemmBatched(pl, 1, ta, tb, m, n, k, alpha, a, 0, lda, 0, b, 0, ldb, 0, beta, c, 0, ldc, 0);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, abs = 0;
                for (int p = 0; p < k; p++) {
                    double x = (double) (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    s += x;
                    abs += Math.abs(x);
                }
                double expect = alpha * s + beta * (double) c0[i * ldc + j];
                double scale = Math.abs(alpha) * abs + Math.abs(beta * c0[i * ldc + j]);
                if (!(Math.abs(c[i * ldc + j] - expect) <= 2e-5 * scale + 1e-30))
                    fail("%s ta=%b tb=%b %dx%dx%d: C[%d][%d] = %s, expected %s", pl, ta, tb, m, n, k, i, j, c[i * ldc + j], expect);
            }
            for (int j = n; j < ldc; j++)
                if (c[i * ldc + j] != c0[i * ldc + j]) fail("%s: padding C[%d][%d] was written", pl, i, j);
        }
    }

    @Test
    void everyKernelMatchesTheTripleLoopAtAwkwardShapes() {
        int l = Gemm.L;
        // 1, odd, around the vector length and the panel sizes, and one larger than a default block.
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {9, 2 * l + 1, 13}, {17, l - 1, 30}, {8, 3 * l + 3, 1},
                {25, 4 * l + 5, 19}, {31, 6 * l - 1, 40}, {50, 8 * l + 7, 33}, {150, 2 * l + 9, 260}};
        SplittableRandom rnd = new SplittableRandom(17);
        int t = 0;
        for (Gemm.Kernel kn : Gemm.Kernel.values()) {
            for (Gemm.Plan pl : plans(kn)) {
                for (int[] s : shapes) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    float alpha = t % 3 == 0 ? 1f : -0.75f, beta = t % 4 == 0 ? 0f : 0.5f;
                    check(pl, rnd, ta, tb, s[0], s[1], s[2], alpha, beta, t % 3);
                    t++;
                }
            }
        }
    }

    /**
     * Narrow right edges (n mod L ≤ L/4: those columns go through the unpacked path) and Aᵀ read in place, for
     * every kernel: n = 1, 17, 33, 65, 129 and one and L/4 columns past a vector, m and k odd, every transpose.
     */
    @Test
    void narrowColumnsAndInPlaceAtMatchTheTripleLoop() {
        int l = Gemm.L;
        int[] ns = {1, 17, 33, 65, 129, l + 1, 3 * l + l / 4};
        SplittableRandom rnd = new SplittableRandom(23);
        int t = 0;
        for (Gemm.Kernel kn : Gemm.Kernel.values()) {
            for (Gemm.Plan pl : plans(kn)) {
                for (int n : ns) {
                    for (int tr = 0; tr < 4; tr++, t++) {
                        float alpha = t % 3 == 2 ? -0.75f : 1f, beta = new float[] {0f, 1f, 0.5f}[t % 3];
                        int m = t % 2 == 0 ? 37 : 9, k = t % 2 == 0 ? 45 : 129;
                        check(pl, rnd, (tr & 1) != 0, (tr & 2) != 0, m, n, k, alpha, beta, t % 3);
                    }
                }
            }
        }
    }

    /** In-place Aᵀ runs the same FMAs in the same order as the packed copy: the same bits, for every kernel. */
    @Test
    void inPlaceAtGivesThePackedBits() {
        SplittableRandom rnd = new SplittableRandom(29);
        // m with a partial micro-panel for every MR, k over several slices, a short and a long lda.
        int m = 61, k = 75;
        for (Gemm.Kernel kn : Gemm.Kernel.values()) {
            // n = 64 (8 lanes) and 80 (16 lanes) leave a 3×3 plan a two-vector edge panel (kernel4x2e).
            for (int[] nLda : new int[][] {{65, 61}, {64, 70}, {80, 61}, {3 * kn.nv * Gemm.L + 5, 600}}) {
                int n = nLda[0], lda = nLda[1];
                Gemm.Plan pl = new Gemm.Plan(kn, 32, 4 * kn.mr, 432);
                float[] a = random(rnd, k * lda), b = random(rnd, k * n), c0 = random(rnd, m * n);
                float[] packed = c0.clone(), inPlace = c0.clone();
                boolean saved = Gemm.inPlaceAtOn;
                try {
                    Gemm.inPlaceAtOn = false;
                    Gemm.sgemmBatched(pl, 1, true, false, m, n, k, 1f, a, 0, lda, 0, b, 0, n, 0, 0.5f, packed, 0, n, 0);
                    Gemm.inPlaceAtOn = true;
                    Gemm.sgemmBatched(pl, 1, true, false, m, n, k, 1f, a, 0, lda, 0, b, 0, n, 0, 0.5f, inPlace, 0, n, 0);
                } finally {
                    Gemm.inPlaceAtOn = saved;
                }
                assertThat(inPlace).as("%s n=%d lda=%d", pl, n, lda).containsExactly(packed);
            }
        }
        // The rule: in place for the GPT's Aᵀ shapes, not at 1000³ (each packed micro-panel serves many panels).
        Gemm.Plan wide = new Gemm.Plan(Gemm.Kernel.K4x2, 384, 144, 448);
        assertThat(Gemm.inPlaceAt(wide, true, 1f, 128, 64)).isTrue();
        assertThat(Gemm.inPlaceAt(wide, true, 1f, 128, wide.nc())).isEqualTo(Gemm.L >= 16);
        assertThat(Gemm.inPlaceAt(wide, true, 1f, 1000, 64)).isTrue();
        assertThat(Gemm.inPlaceAt(wide, true, 1f, 1000, wide.nc())).isFalse();
        assertThat(Gemm.inPlaceAt(wide, true, 0.5f, 128, 64)).isFalse();
        assertThat(Gemm.inPlaceAt(wide, true, 1f, 1024, 64)).isFalse();
        assertThat(Gemm.inPlaceAt(new Gemm.Plan(Gemm.Kernel.K3x3, 384, 144, 432), true, 1f, 128, 64)).isTrue();
        assertThat(Gemm.inPlaceAt(wide, false, 1f, 128, 64)).isFalse();
    }

    @Test
    void everyKernelIsBitIdenticalAcrossThreadCounts() {
        // n = 5L + 3 (narrow columns at 16 lanes, a packed edge at 8) and 4L + 1 (narrow at both); A and Aᵀ.
        int m = 97, k = 70;
        SplittableRandom rnd = new SplittableRandom(5);
        for (int n : new int[] {5 * Gemm.L + 3, 4 * Gemm.L + 1}) {
            float[] a = random(rnd, m * k), b = random(rnd, k * n);
            for (boolean ta : new boolean[] {false, true}) {
                int lda = ta ? m : k;
                for (Gemm.Kernel kn : Gemm.Kernel.values()) {
                    Gemm.Plan pl = new Gemm.Plan(kn, 32, 4 * kn.mr, 2 * kn.nv * Gemm.L);
                    float[] one = new float[m * n], two = new float[m * n];
                    Parallel.setThreads(1);
                    Gemm.sgemmBatched(pl, 1, ta, false, m, n, k, 1f, a, 0, lda, 0, b, 0, n, 0, 0f, one, 0, n, 0);
                    Parallel.setThreads(3);
                    Gemm.sgemmBatched(pl, 1, ta, false, m, n, k, 1f, a, 0, lda, 0, b, 0, n, 0, 0f, two, 0, n, 0);
                    assertThat(two).as("%s ta=%b n=%d", pl, ta, n).containsExactly(one);
                }
            }
        }
    }

    @Test
    void plansParseAndNameTheirErrors() {
        assertThat(Gemm.Plan.parse("4x3,256,144,432", "VECTORGRAD_GEMM").toString()).isEqualTo("4x3,256,144,432");
        // MC rounds up to a multiple of MR, NC to a multiple of NR.
        Gemm.Plan p = Gemm.Plan.parse(" 6x2, 128, 100, 1 ", "x");
        assertThat(p.mc()).isEqualTo(102);
        assertThat(p.nc()).isEqualTo(2 * Gemm.L);
        assertThatThrownBy(() -> Gemm.Plan.parse("5x5,1,1,1", "VECTORGRAD_GEMM")).hasMessageContaining("5x5").hasMessageContaining("4x3");
        assertThatThrownBy(() -> Gemm.Plan.parse("4x3,256,144", "VECTORGRAD_GEMM")).hasMessageContaining("VECTORGRAD_GEMM").hasMessageContaining("kernel,kc,mc,nc");
        assertThatThrownBy(() -> Gemm.Plan.parse("4x3,a,1,1", "f")).hasMessageContaining("integers");
        assertThatThrownBy(() -> Gemm.Plan.parse("4x3,0,1,1", "f")).hasMessageContaining("positive");
    }
}
