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

    @Test
    void everyKernelIsBitIdenticalAcrossThreadCounts() {
        int m = 97, n = 5 * Gemm.L + 3, k = 70;
        SplittableRandom rnd = new SplittableRandom(5);
        float[] a = random(rnd, m * k), b = random(rnd, k * n);
        for (Gemm.Kernel kn : Gemm.Kernel.values()) {
            Gemm.Plan pl = new Gemm.Plan(kn, 32, 4 * kn.mr, 2 * kn.nv * Gemm.L);
            float[] one = new float[m * n], two = new float[m * n];
            Parallel.setThreads(1);
            Gemm.sgemmBatched(pl, 1, false, false, m, n, k, 1f, a, 0, k, 0, b, 0, n, 0, 0f, one, 0, n, 0);
            Parallel.setThreads(3);
            Gemm.sgemmBatched(pl, 1, false, false, m, n, k, 1f, a, 0, k, 0, b, 0, n, 0, 0f, two, 0, n, 0);
            assertThat(two).as("%s", pl).containsExactly(one);
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
