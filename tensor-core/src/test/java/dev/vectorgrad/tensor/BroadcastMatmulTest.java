package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Tensor.matmul against a naive double loop over every broadcast batch index. */
class BroadcastMatmulTest {
    private final Rng rng = new Rng(7);

    private Tensor rand(int... shape) {
        return Init.uniform(Tensor.zeros(shape), rng, -1, 1);
    }

    /** Naive reference for [..., m, k] x [..., k, n] with batch broadcasting (operands already >= 2-D). */
    private static double[] naive(Tensor a, Tensor b, int[] outShape) {
        int r = outShape.length, m = outShape[r - 2], n = outShape[r - 1];
        int k = a.size(-1);
        int batches = Shapes.numel(outShape) / Math.max(1, m * n);
        double[] out = new double[Shapes.numel(outShape)];
        int[] bi = new int[r - 2];
        for (int bt = 0; bt < batches; bt++) {
            int rem = bt;
            for (int d = r - 3; d >= 0; d--) {
                bi[d] = rem % outShape[d];
                rem /= outShape[d];
            }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double) at(a, bi, i, p) * at(b, bi, p, j);
                    out[(bt * m + i) * n + j] = s;
                }
        }
        return out;
    }

    private static float at(Tensor t, int[] batchIdx, int i, int j) {
        int r = t.rank();
        int[] idx = new int[r];
        int off = batchIdx.length - (r - 2);
        for (int d = 0; d < r - 2; d++) idx[d] = t.size(d) == 1 ? 0 : batchIdx[d + off];
        idx[r - 2] = i;
        idx[r - 1] = j;
        return t.get(idx);
    }

    private static void assertClose(Tensor got, double[] want, int k) {
        float[] g = got.toArray();
        assertThat(g).hasSize(want.length);
        for (int i = 0; i < g.length; i++) assertThat((double) g[i]).isCloseTo(want[i], within(1e-5 * k + 1e-6));
    }

    @Test
    void twoDimensionalAtAwkwardSizes() {
        for (int[] s : new int[][] {{1, 1, 1}, {1, 7, 1}, {7, 1, 9}, {13, 17, 19}, {33, 65, 31}, {128, 65, 128}}) {
            Tensor a = rand(s[0], s[1]), b = rand(s[1], s[2]);
            assertClose(a.matmul(b), naive(a, b, new int[] {s[0], s[2]}), s[1]);
        }
    }

    @Test
    void transposedAndNarrowedViewsNeedNoCopy() {
        Tensor at = rand(37, 23).t(), bt = rand(29, 37).t(); // [23,37] x [37,29]
        Tensor want1 = at.contiguous(), want2 = bt.contiguous();
        assertClose(at.matmul(bt), naive(want1, want2, new int[] {23, 29}), 37);
        Tensor a = rand(20, 50).narrow(1, 5, 30), b = rand(40, 30).narrow(0, 3, 30);
        assertClose(a.matmul(b), naive(a.contiguous(), b.contiguous(), new int[] {20, 30}), 30);
    }

    @Test
    void batchedWithBroadcastBatchAxes() {
        Tensor a = rand(2, 3, 5, 7), b = rand(3, 7, 4);
        Tensor c = a.matmul(b);
        assertThat(c.shape()).containsExactly(2, 3, 5, 4);
        assertClose(c, naive(a, b.unsqueeze(0), new int[] {2, 3, 5, 4}), 7);
        Tensor d = rand(4, 1, 6, 3), e = rand(5, 3, 2);
        assertClose(d.matmul(e), naive(d, e.unsqueeze(0), new int[] {4, 5, 6, 2}), 3);
        // a permuted (non-contiguous) batch operand, as attention produces
        Tensor q = rand(2, 9, 3, 8).permute(0, 2, 1, 3); // [2,3,9,8]
        Tensor kt = rand(2, 3, 9, 8).transpose(-2, -1);   // [2,3,8,9]
        assertClose(q.matmul(kt), naive(q.contiguous(), kt.contiguous(), new int[] {2, 3, 9, 9}), 8);
    }

    @Test
    void vectorsArePromotedAndTheAxisRemoved() {
        Tensor v = Tensor.vector(1, 2, 3), w = Tensor.vector(4, 5, 6);
        assertThat(v.matmul(w).rank()).isZero();
        assertThat(v.matmul(w).item()).isEqualTo(32f);
        Tensor m = Tensor.matrix(new float[][] {{1, 0, 2}, {0, 1, 3}});
        assertThat(m.matmul(v).toArray()).containsExactly(7f, 11f);
        assertThat(Tensor.vector(1, 1).matmul(m).toArray()).containsExactly(1f, 1f, 5f);
    }

    @Test
    void mismatchNamesTheShapes() {
        assertThatThrownBy(() -> rand(3, 4).matmul(rand(5, 6)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("matmul").hasMessageContaining("[3, 4]").hasMessageContaining("[5, 6]");
        assertThatThrownBy(() -> rand(2, 3, 4).matmul(rand(3, 4, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("broadcast");
        assertThatThrownBy(() -> Tensor.scalar(1).matmul(rand(2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("matmul");
    }
}
