package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class NormOpsTest {
    /** Softmax (or log-softmax) along axis a, in double with the max subtracted. */
    static double[] naiveSoftmax(Tensor x, int a, boolean log) {
        int[] s = x.shape();
        double[] out = new double[Ref.numel(s)];
        int[] os = s.clone();
        os[a] = 1;
        int[] cs = Shapes.contiguousStrides(s);
        Ref.forEach(os, idx -> {
            int[] j = idx.clone();
            double m = Double.NEGATIVE_INFINITY, sum = 0;
            for (int k = 0; k < s[a]; k++) {
                j[a] = k;
                m = Math.max(m, x.get(j));
            }
            for (int k = 0; k < s[a]; k++) {
                j[a] = k;
                sum += Math.exp(x.get(j) - m);
            }
            for (int k = 0; k < s[a]; k++) {
                j[a] = k;
                int p = 0;
                for (int d = 0; d < s.length; d++) p += j[d] * cs[d];
                out[p] = log ? x.get(j) - m - Math.log(sum) : Math.exp(x.get(j) - m) / sum;
            }
        });
        return out;
    }

    static void close(Tensor got, double[] want, double abs, double rel, String what) {
        float[] g = got.toArray();
        assertThat(g.length).isEqualTo(want.length);
        for (int i = 0; i < g.length; i++) {
            double tol = abs + rel * Math.abs(want[i]);
            if (!(Math.abs(g[i] - want[i]) <= tol))
                assertThat((double) g[i]).as("%s at %d", what, i).isCloseTo(want[i], within(tol));
        }
    }

    static void checkSoftmax(Tensor x) {
        for (int a = 0; a < x.rank(); a++) {
            String w = Arrays.toString(x.shape()) + " axis " + a;
            Tensor y = x.softmax(a);
            assertThat(y.shape()).isEqualTo(x.shape());
            close(y, naiveSoftmax(x, a, false), 1e-8, 2e-6, "softmax " + w);
            close(x.logSoftmax(a), naiveSoftmax(x, a, true), 2e-6, 1e-6, "logSoftmax " + w);
        }
    }

    @Test
    void softmaxAgainstDouble() {
        for (int n : new int[] {1, 7, 8, 9, 15, 16, 17, 31, 33}) checkSoftmax(Ref.rand(n, 3, n).mul(3f));
        checkSoftmax(Ref.rand(1, 4, 5, 6));
        checkSoftmax(Ref.rand(2, 3, 2500));          // longer than one accumulation block
        checkSoftmax(Ref.rand(3, 1000, 517).mul(4f)); // parallel path
        checkSoftmax(Ref.rand(4, 9, 13).t());         // strided
        checkSoftmax(Ref.rand(5, 0, 7));              // empty
        assertThat(Ref.rand(5, 7, 0).softmax(1).shape()).isEqualTo(new int[] {7, 0});
    }

    @Test
    void softmaxIsStableAndMasks() {
        Tensor x = Tensor.of(new float[] {1000, 1001, 1002, -1000, Float.NEGATIVE_INFINITY, 0, Float.NEGATIVE_INFINITY, 5, 5}, 3, 3);
        float[] y = x.softmax(1).toArray();
        double e1 = Math.exp(-1), e2 = Math.exp(-2), z = 1 + e1 + e2;
        assertThat((double) y[0]).isCloseTo(e2 / z, within(1e-7));
        assertThat((double) y[2]).isCloseTo(1 / z, within(1e-7));
        assertThat(y[3]).isZero();
        assertThat(y[4]).isZero();
        assertThat(y[5]).isEqualTo(1f);
        assertThat(y[6]).isZero();
        assertThat(y[7]).isEqualTo(0.5f);
        float[] l = x.logSoftmax(1).toArray();
        assertThat((double) l[2]).isCloseTo(-Math.log(z), within(1e-6));
        assertThat(l[4]).isEqualTo(Float.NEGATIVE_INFINITY);
        float[] row = Ref.rand(9, 1, 4099).mul(10f).softmax(1).toArray();
        double s = 0;
        for (float v : row) s += v;
        assertThat(s).isCloseTo(1.0, within(1e-5));
    }

    static double[] naiveLayerNorm(Tensor x, Tensor w, Tensor b, double eps, double[] mean, double[] rstd) {
        int[] s = x.shape();
        int c = s[s.length - 1], rows = Ref.numel(s) / Math.max(c, 1);
        float[] v = x.toArray();
        double[] out = new double[v.length];
        for (int r = 0; r < rows; r++) {
            double m = 0, var = 0;
            for (int j = 0; j < c; j++) m += v[r * c + j];
            m /= c;
            for (int j = 0; j < c; j++) var += (v[r * c + j] - m) * (v[r * c + j] - m);
            var /= c;
            double rs = 1 / Math.sqrt(var + eps);
            mean[r] = m;
            rstd[r] = rs;
            for (int j = 0; j < c; j++)
                out[r * c + j] = (v[r * c + j] - m) * rs * (w == null ? 1 : w.get(j)) + (b == null ? 0 : b.get(j));
        }
        return out;
    }

    static void checkLayerNorm(Tensor x, Tensor w, Tensor b, float eps) {
        int c = x.size(-1), rows = x.numel() / c;
        double[] wm = new double[rows], wr = new double[rows];
        double[] want = naiveLayerNorm(x, w, b, eps, wm, wr);
        close(x.layerNorm(w, b, eps), want, 3e-6, 3e-6, "layerNorm " + Arrays.toString(x.shape()));
        float[] gm = new float[rows], gr = new float[rows];
        Tensor y = LayerNormKernel.forward(x, w, b, eps, gm, gr);
        assertThat(y.shape()).isEqualTo(x.shape());
        for (int r = 0; r < rows; r++) {
            assertThat((double) gm[r]).isCloseTo(wm[r], within(1e-6 * (1 + Math.abs(wm[r]))));
            assertThat((double) gr[r]).isCloseTo(wr[r], within(2e-6 * wr[r]));
        }
    }

    @Test
    void layerNormAgainstDouble() {
        for (int c : new int[] {1, 7, 8, 9, 15, 16, 17, 31, 33, 768}) {
            Tensor x = Ref.rand(c, 5, c).mul(2f).add(3f);
            checkLayerNorm(x, Ref.rand(c + 1, c), Ref.rand(c + 2, c), 1e-5f);
            checkLayerNorm(x, null, null, 1e-5f);
            checkLayerNorm(x, Ref.rand(c + 1, c), null, 1e-5f);
            checkLayerNorm(x, null, Ref.rand(c + 2, c), 1e-5f);
        }
        checkLayerNorm(Ref.rand(1, 2, 3, 4100), Ref.rand(2, 4100), Ref.rand(3, 4100), 1e-5f);
        checkLayerNorm(Ref.rand(1, 1000, 517), Ref.rand(2, 517), Ref.rand(3, 517), 1e-5f);      // parallel
        checkLayerNorm(Ref.rand(1, 33, 9).t(), Ref.rand(2, 33, 2).select(1, 0), null, 1e-3f); // strided x and weight
        checkLayerNorm(Tensor.full(4f, 3, 8), null, null, 1e-5f);                              // zero variance
    }

    @Test
    void layerNormErrors() {
        Tensor x = Tensor.zeros(4, 6);
        assertThatThrownBy(() -> x.layerNorm(Tensor.ones(5), null, 1e-5f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layerNorm").hasMessageContaining("weight").hasMessageContaining("[5]").hasMessageContaining("[4, 6]");
        assertThatThrownBy(() -> x.layerNorm(null, Tensor.ones(6, 1), 1e-5f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bias").hasMessageContaining("[6, 1]");
        assertThatThrownBy(() -> LayerNormKernel.forward(x, null, null, 1e-5f, new float[3], null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mean");
    }
}
