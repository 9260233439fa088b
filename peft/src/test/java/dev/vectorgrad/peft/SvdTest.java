package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Both SVDs on matrices built from known factors W = Q₁·diag(σ)·Q₂ᵀ (Q orthonormal, from a double-precision
 * Gram-Schmidt of Gaussian columns written here), so the expected singular values and subspaces are known in
 * closed form. Where values repeat, the singular vectors are not unique: the test compares the subspaces
 * (projectors), never the vectors.
 */
class SvdTest {
    /** An m × k matrix with orthonormal columns, by classical Gram-Schmidt in double (independent of Svd's own). */
    static double[][] orthonormal(int m, int k, long seed) {
        Rng rng = new Rng(seed);
        Tensor g = Tensor.zeros(k, m);
        Init.normal(g, rng, 0, 1);
        float[] f = g.toArray();
        double[][] c = new double[k][m];
        for (int j = 0; j < k; j++) {
            for (int i = 0; i < m; i++) c[j][i] = f[j * m + i];
            for (int rep = 0; rep < 2; rep++)
                for (int p = 0; p < j; p++) {
                    double d = 0;
                    for (int i = 0; i < m; i++) d += c[p][i] * c[j][i];
                    for (int i = 0; i < m; i++) c[j][i] -= d * c[p][i];
                }
            double n = 0;
            for (int i = 0; i < m; i++) n += c[j][i] * c[j][i];
            n = Math.sqrt(n);
            for (int i = 0; i < m; i++) c[j][i] /= n;
        }
        return c; // c[j] is column j
    }

    /** W = Σ_j σ_j·u_j·v_jᵀ (m × n), computed in double. */
    static Tensor build(double[][] u, double[] sigma, double[][] v) {
        int m = u[0].length, n = v[0].length;
        float[] w = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int k = 0; k < n; k++) {
                double s = 0;
                for (int j = 0; j < sigma.length; j++) s += sigma[j] * u[j][i] * v[j][k];
                w[i * n + k] = (float) s;
            }
        return Tensor.wrap(w, m, n);
    }

    /** max |P_a − P_b| for the projectors onto the spans of columns [from, to) of the given bases. */
    static double subspaceDistance(Tensor got, int from, int to, double[][] expected) {
        int m = got.size(0);
        float[] g = got.contiguous().toArray();
        int gc = got.size(1);
        double worst = 0;
        for (int i = 0; i < m; i++)
            for (int k = 0; k < m; k++) {
                double pa = 0, pb = 0;
                for (int j = from; j < to; j++) {
                    pa += (double) g[i * gc + j] * g[k * gc + j];
                    pb += expected[j][i] * expected[j][k];
                }
                worst = Math.max(worst, Math.abs(pa - pb));
            }
        return worst;
    }

    static double relReconstruction(Svd.Result d, Tensor w) {
        int k = d.s().numel();
        Tensor rec = d.u().mul(d.s().reshape(1, k)).matmul(d.v().t());
        float[] a = rec.contiguous().toArray(), b = w.contiguous().toArray();
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) { num += (a[i] - (double) b[i]) * (a[i] - (double) b[i]); den += (double) b[i] * b[i]; }
        return Math.sqrt(num / den);
    }

    static void assertValues(Tensor s, double[] expected, int count) {
        float[] got = s.toArray();
        for (int i = 0; i < count; i++)
            assertThat(Math.abs(got[i] - expected[i])).as("σ_" + i).isLessThanOrEqualTo(1e-5 * Math.max(expected[i], expected[0] * 1e-2));
    }

    @Test
    void exactSvdOfKnownFactorsWithRepeatedValuesAtFullRank() {
        int m = 40, n = 24;
        double[][] u = orthonormal(m, n, 1), v = orthonormal(n, n, 2);
        double[] sigma = new double[n];
        for (int j = 0; j < n; j++) sigma[j] = j < 4 ? 5 : j < 8 ? 3 : 2.0 / (1 + j); // σ = 5 (×4), 3 (×4), then distinct
        Tensor w = build(u, sigma, v);
        for (Tensor x : new Tensor[] {w, w.t().contiguous()}) { // tall and wide
            Svd.Result d = Svd.of(x);
            assertValues(d.s(), sigma, n);
            assertThat(relReconstruction(d, x)).isLessThanOrEqualTo(1e-5);
        }
        Svd.Result d = Svd.of(w);
        assertThat(subspaceDistance(d.u(), 0, 4, u)).as("left subspace of σ = 5").isLessThan(1e-5);
        assertThat(subspaceDistance(d.u(), 4, 8, u)).as("left subspace of σ = 3").isLessThan(1e-5);
        assertThat(subspaceDistance(d.v(), 4, 8, v)).as("right subspace of σ = 3").isLessThan(1e-5);
        assertThat(subspaceDistance(d.v(), 8, 9, v)).as("a distinct value's vector (up to sign)").isLessThan(1e-5);
    }

    @Test
    void exactSvdOfARankDeficientMatrix() {
        int m = 30, n = 20, rank = 5;
        double[][] u = orthonormal(m, rank, 3), v = orthonormal(n, rank, 4);
        double[] sigma = {9, 7, 7, 2, 0.5};
        Tensor w = build(u, sigma, v);
        Svd.Result d = Svd.of(w);
        assertValues(d.s(), sigma, rank);
        for (int j = rank; j < n; j++) assertThat(d.s().toArray()[j]).isLessThan(1e-5f * 9);
        assertThat(relReconstruction(d, w)).isLessThanOrEqualTo(1e-5);
        assertThat(subspaceDistance(d.u(), 0, rank, u)).isLessThan(1e-5);
    }

    @Test
    void randomisedTopRIsExactWhenTheRankFitsItsSubspace() {
        int m = 64, n = 96, rank = 12, r = 8;
        double[][] u = orthonormal(m, rank, 5), v = orthonormal(n, rank, 6);
        double[] sigma = {10, 10, 8, 6, 6, 6, 4, 3, 1, 0.5, 0.25, 0.1}; // repeated at the top and across r
        Tensor w = build(u, sigma, v);
        Svd.Result d = Svd.topR(w, r, 4 * r, 2, 11);
        assertThat(d.u().shape()).containsExactly(m, r);
        assertThat(d.v().shape()).containsExactly(n, r);
        assertValues(d.s(), sigma, r);
        assertThat(subspaceDistance(d.u(), 0, 2, u)).isLessThan(1e-5);
        assertThat(subspaceDistance(d.v(), 3, 6, v)).isLessThan(1e-5);
        assertThat(subspaceDistance(d.v(), 0, r, v)).isLessThan(1e-5);
        // r = rank: the whole matrix back
        Svd.Result full = Svd.topR(w, rank, rank, 0, 12);
        assertThat(relReconstruction(full, w)).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void randomisedTopRConvergesOnAFullRankDecayingSpectrum() {
        int m = 48, n = 80;
        double[][] u = orthonormal(m, m, 7), v = orthonormal(n, m, 8);
        double[] sigma = new double[m];
        for (int j = 0; j < m; j++) sigma[j] = Math.pow(0.7, j); // gap σ_{q+1}/σ_r = 0.7^24 at q = 32, r = 8
        Svd.Result d = Svd.topR(build(u, sigma, v), 8, 32, 4, 13);
        assertValues(d.s(), sigma, 8);
        assertThat(subspaceDistance(d.u(), 0, 8, u)).isLessThan(1e-5);
    }

    @Test
    void refusesWhatItCannotDo() {
        Tensor w = Tensor.zeros(6, 4);
        assertThatThrownBy(() -> Svd.topR(w, 5, 8, 2, 0)).hasMessageContaining("r = 5").hasMessageContaining("6 × 4");
        assertThatThrownBy(() -> Svd.topR(w, 3, 2, 2, 0)).hasMessageContaining("q ≥ r");
        Tensor bad = Tensor.full(1f, 5, 3);
        bad.set(Float.NaN, 2, 1);
        assertThatThrownBy(() -> Svd.of(bad)).isInstanceOf(IllegalStateException.class).hasMessageContaining("did not converge").hasMessageContaining("5 × 3");
    }

    /** The real size (GPT-2 small's c_fc, 768 × 3072), outside the default suite: {@code -DexcludedGroups= -Dgroups=long}. */
    @Test
    @Tag("long")
    void randomisedTopRAtGpt2Size() {
        int m = 768, n = 3072, rank = 40;
        double[][] u = orthonormal(m, rank, 9), v = orthonormal(n, rank, 10);
        double[] sigma = new double[rank];
        for (int j = 0; j < rank; j++) sigma[j] = j < 3 ? 20 : 20 * Math.pow(0.8, j);
        Tensor w = build(u, sigma, v);
        Svd.Result d = Svd.topR(w, 8, 32, 4, 14);
        assertValues(d.s(), sigma, 8);
        Svd.Result full = Svd.topR(w, rank, rank, 1, 15);
        assertThat(relReconstruction(full, w)).isLessThanOrEqualTo(1e-5);
    }
}
