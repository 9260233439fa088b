package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ReduceOpsTest {
    /** Naive reduction along axis a: kind 0 sum, 1 mean, 2 max, 3 min, 4 var(corr 1), 5 var(corr 0), 6 argmax. */
    static double[] naive(Tensor x, int a, int kind) {
        int[] s = x.shape();
        int n = s[a];
        int[] os = s.clone();
        os[a] = 1;
        double[] out = new double[Ref.numel(os)];
        int[] pos = {0};
        Ref.forEach(os, idx -> {
            int[] j = idx.clone();
            double sum = 0, mx = Double.NEGATIVE_INFINITY, mn = Double.POSITIVE_INFINITY;
            int arg = 0;
            for (int k = 0; k < n; k++) {
                j[a] = k;
                double v = x.get(j);
                sum += v;
                if (v > mx) {
                    mx = v;
                    arg = k;
                }
                mn = Math.min(mn, v);
            }
            double mean = sum / n, ss = 0;
            for (int k = 0; k < n; k++) {
                j[a] = k;
                ss += (x.get(j) - mean) * (x.get(j) - mean);
            }
            out[pos[0]++] = switch (kind) {
                case 0 -> sum;
                case 1 -> mean;
                case 2 -> mx;
                case 3 -> mn;
                case 4 -> ss / (n - 1);
                case 5 -> ss / n;
                default -> arg;
            };
        });
        return out;
    }

    static void close(Tensor got, double[] want, double tol, String what) {
        float[] g = got.toArray();
        assertThat(g.length).as(what).isEqualTo(want.length);
        for (int i = 0; i < g.length; i++) {
            if (!(Math.abs(g[i] - want[i]) <= tol * (1 + Math.abs(want[i]))))
                assertThat((double) g[i]).as("%s at %d", what, i).isCloseTo(want[i], within(tol * (1 + Math.abs(want[i]))));
        }
    }

    static void checkShape(Tensor x) {
        int[] s = x.shape();
        for (int a = 0; a < s.length; a++) {
            String w = Arrays.toString(s) + " axis " + a;
            int[] keep = s.clone();
            keep[a] = 1;
            int[] drop = new int[s.length - 1];
            for (int k = 0, j = 0; k < s.length; k++) if (k != a) drop[j++] = s[k];
            assertThat(x.sum(a, true).shape()).isEqualTo(keep);
            assertThat(x.sum(a, false).shape()).isEqualTo(drop);
            assertThat(x.sum(a - s.length, false).shape()).isEqualTo(drop); // negative axis
            close(x.sum(a, false), naive(x, a, 0), 1e-5, "sum " + w);
            close(x.mean(a, true), naive(x, a, 1), 1e-6, "mean " + w);
            if (s[a] > 0) {
                close(x.max(a, false), naive(x, a, 2), 0, "max " + w);
                close(x.min(a, true), naive(x, a, 3), 0, "min " + w);
                IntTensor am = x.argmax(a, false);
                assertThat(am.shape()).isEqualTo(drop);
                double[] wa = naive(x, a, 6);
                for (int i = 0; i < wa.length; i++) assertThat(am.storage()[i]).as("argmax " + w).isEqualTo((int) wa[i]);
                assertThat(x.argmax(a, true).shape()).isEqualTo(keep);
                close(x.var(a, false, 0), naive(x, a, 5), 1e-5, "var0 " + w);
                if (s[a] > 1) close(x.var(a, true), naive(x, a, 4), 1e-5, "var " + w);
            }
        }
    }

    @Test
    void axisReductionsAtAwkwardShapes() {
        for (int n : new int[] {1, 7, 8, 9, 15, 16, 17, 31, 33}) checkShape(Ref.rand(n, n));
        checkShape(Ref.rand(1, 7, 9, 33));
        checkShape(Ref.rand(2, 3, 1, 17));
        checkShape(Ref.rand(3, 5, 2100));       // rows longer than one accumulation block
        checkShape(Ref.rand(4, 2100, 3));
        checkShape(Ref.rand(5, 1000, 517));     // parallel paths
        checkShape(Ref.rand(6, 9, 13).t());     // strided input
        checkShape(Ref.rand(7, 4, 30, 6).narrow(1, 5, 11));
        checkShape(Ref.rand(8, 4, 5).expand(3, 4, 5));
    }

    @Test
    void emptyAndScalarCases() {
        Tensor e = Tensor.zeros(3, 0);
        assertThat(e.sum(1, false).toArray()).containsExactly(0, 0, 0);
        assertThat(e.sum(0, false).shape()).isEqualTo(new int[] {0});
        assertThat(e.mean(1, false).toArray()[0]).isNaN();
        assertThat(e.sum().item()).isZero();
        assertThatThrownBy(() -> e.max(1, false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max").hasMessageContaining("[3, 0]");
        assertThatThrownBy(() -> e.argmax(1, false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("argmax").hasMessageContaining("[3, 0]");
        assertThat(Tensor.vector(5f).var(0, false).item()).isNaN(); // n - 1 = 0
        assertThat(Tensor.scalar(3f).sum().rank()).isZero();
        assertThat(Tensor.scalar(3f).mean().item()).isEqualTo(3f);
    }

    @Test
    void nanAndArgmaxTies() {
        Tensor x = Tensor.of(new float[] {1, 3, 3, 0, Float.NaN, 5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 2, 9);
        assertThat(x.max(1, false).get(0)).isNaN();
        assertThat(x.argmax(1, false).storage()).containsExactly(4, 0);
        assertThat(Tensor.of(new float[] {1, 3, 3, 0}, 4).argmax(0, false).storage()).containsExactly(1);
        Tensor c = Tensor.of(new float[] {1, 7, 7, 7, 2, 7}, 3, 2);
        assertThat(c.argmax(0, false).storage()).containsExactly(1, 0);
    }

    @Test
    void longSumIsAccurate() {
        int n = 1_000_000;
        float[] v = new float[n];
        java.util.Random r = new java.util.Random(7);
        double want = 0;
        for (int i = 0; i < n; i++) {
            v[i] = 1f + r.nextFloat() * 1e-3f; // all positive: a float running sum would drift by ~1e-3 relative
            want += v[i];
        }
        Tensor t = Tensor.wrap(v, n);
        assertThat((double) t.sum().item()).isCloseTo(want, within(want * 1e-6));
        assertThat((double) t.mean().item()).isCloseTo(want / n, within(1e-6));
        assertThat((double) t.sum(0, false).item()).isCloseTo(want, within(want * 1e-6));
        Tensor col = t.reshape(n, 1);
        assertThat((double) col.sum(0, false).item()).isCloseTo(want, within(want * 1e-6));
        Tensor cols = t.reshape(n / 8, 8);
        double[] w8 = new double[8];
        for (int i = 0; i < n; i++) w8[i % 8] += v[i];
        float[] g8 = cols.sum(0, false).toArray();
        for (int j = 0; j < 8; j++) assertThat((double) g8[j]).isCloseTo(w8[j], within(w8[j] * 1e-6));
    }

    @Test
    void sumToShape() {
        Tensor x = Ref.rand(1, 4, 3, 5);
        close(x.sumToShape(5), sumNaive(x, new int[] {5}), 1e-5, "to [5]");
        close(x.sumToShape(3, 1), sumNaive(x, new int[] {3, 1}), 1e-5, "to [3,1]");
        close(x.sumToShape(1, 1, 5), sumNaive(x, new int[] {1, 1, 5}), 1e-5, "to [1,1,5]");
        close(x.sumToShape(), sumNaive(x, new int[] {}), 1e-5, "to []");
        assertThat(x.sumToShape(3, 1).shape()).isEqualTo(new int[] {3, 1});
        assertThat(x.sumToShape().shape()).isEqualTo(new int[] {});
        Tensor same = x.sumToShape(4, 3, 5);
        assertThat(same.toArray()).isEqualTo(x.toArray());
        assertThat(same.storage()).isNotSameAs(x.storage());
        Tensor big = Ref.rand(2, 1000, 517);
        close(big.sumToShape(517), sumNaive(big, new int[] {517}), 1e-5, "big to [517]");
        close(big.t().sumToShape(517, 1), sumNaive(big.t(), new int[] {517, 1}), 1e-5, "big^T to [517,1]");
        assertThatThrownBy(() -> x.sumToShape(2, 5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sumToShape").hasMessageContaining("[4, 3, 5]").hasMessageContaining("[2, 5]");
        assertThatThrownBy(() -> x.sumToShape(1, 4, 3, 5)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sumToShape");
    }

    /** Reference: out[j] = Σ over x indices that broadcast onto j. */
    static double[] sumNaive(Tensor x, int[] target) {
        double[] out = new double[Ref.numel(target)];
        int[] s = x.shape();
        Ref.forEach(s, idx -> {
            int p = 0;
            for (int k = 0; k < target.length; k++) {
                int i = idx[k + s.length - target.length];
                p = p * target[k] + (target[k] == 1 ? 0 : i);
            }
            out[p] += x.get(idx);
        });
        return out;
    }

    @Test
    void badAxesAreReported() {
        Tensor x = Tensor.zeros(2, 3);
        assertThatThrownBy(() -> x.sum(2, false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sum").hasMessageContaining("[2, 3]");
        assertThatThrownBy(() -> x.mean(-3, false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mean").hasMessageContaining("[2, 3]");
        assertThatThrownBy(() -> x.var(5, false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("var").hasMessageContaining("[2, 3]");
        assertThatThrownBy(() -> x.argmax(2, false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("argmax");
        assertThatThrownBy(() -> x.softmax(2)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("softmax").hasMessageContaining("[2, 3]");
    }
}
