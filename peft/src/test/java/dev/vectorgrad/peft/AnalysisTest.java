package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.vectorgrad.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The §7 analyses on constructed matrices whose answers are known in closed form: subspaces built from
 * orthonormal bases ({@link SvdTest#orthonormal}, a Gram-Schmidt written in the test), W = Q₁·diag(σ)·Q₂ᵀ with
 * chosen σ, ΔW made of W's own singular directions.
 */
class AnalysisTest {
    /** Rows of the r × n matrix whose row k is c_k·basis[k + from] (basis vectors are columns of an orthonormal set). */
    static double[][] rowsFrom(double[][] basis, int from, double... c) {
        double[][] a = new double[c.length][];
        for (int k = 0; k < c.length; k++) {
            a[k] = basis[from + k].clone();
            for (int t = 0; t < a[k].length; t++) a[k][t] *= c[k];
        }
        return a;
    }

    @Test
    void identicalSubspacesScoreOneAndOrthogonalOnesZero() {
        double[][] q = SvdTest.orthonormal(32, 12, 1);
        double[][] a = rowsFrom(q, 0, 5, 3, 2, 1);                 // span{q0..q3}, singular values 5 > 3 > 2 > 1
        double[][] same = rowsFrom(q, 0, -7, 4, 0.5, 0.25);          // the same directions, other scales and a sign
        double[][] phi = Analysis.subspaceSimilarity(a, same);
        for (int i = 0; i < 4; i++) assertThat(phi[i][i]).as("φ(%d,%d)", i + 1, i + 1).isCloseTo(1.0, within(1e-12));
        // nested: the top-i directions of `a` are q0..q(i-1), and so are `same`'s, so φ(i, j) = 1 for every i, j
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) assertThat(phi[i][j]).isCloseTo(1.0, within(1e-12));

        double[][] other = rowsFrom(q, 4, 4, 3, 2, 1, 0.5, 0.3, 0.2, 0.1); // span{q4..q11} ⟂ span{q0..q3}
        double[][] zero = Analysis.subspaceSimilarity(a, other);
        assertThat(zero.length).isEqualTo(4);
        assertThat(zero[0].length).isEqualTo(8);
        for (double[] row : zero) for (double x : row) assertThat(x).isCloseTo(0.0, within(1e-12));
    }

    @Test
    void partialOverlapIsTheSquaredCosineAveragedOverTheSmallerSubspace() {
        double[][] q = SvdTest.orthonormal(20, 4, 2);
        double th = 0.4;
        // A₁ = q0 (one row); A₂'s top direction is cos θ·q0 + sin θ·q1, its second q2
        double[][] a1 = {q[0].clone()};
        double[][] a2 = new double[2][20];
        for (int t = 0; t < 20; t++) {
            a2[0][t] = 3 * (Math.cos(th) * q[0][t] + Math.sin(th) * q[1][t]);
            a2[1][t] = q[2][t];
        }
        double[][] phi = Analysis.subspaceSimilarity(a1, a2);
        assertThat(phi[0][0]).isCloseTo(Math.cos(th) * Math.cos(th), within(1e-12));
        assertThat(phi[0][1]).isCloseTo(Math.cos(th) * Math.cos(th), within(1e-12)); // q2 adds nothing along q0
        // the Tensor entry point gives the same (float32 input: 1e-6)
        double[][] viaTensor = Analysis.subspaceSimilarity(tensor(a1), tensor(a2));
        assertThat(viaTensor[0][0]).isCloseTo(phi[0][0], within(1e-6));
    }

    @Test
    void randomSubspacesOverlapByMaxOfTheirDimensionsOverD() {
        int d = 64, trials = 40;
        double mean = 0;
        for (int s = 0; s < trials; s++) {
            double[][] phi = Analysis.subspaceSimilarity(Analysis.gaussian(2, d, 100 + s), Analysis.gaussian(8, d, 200 + s));
            mean += phi[1][7] / trials;
        }
        // E φ(2, 8) = 8/64 = 0.125; φ(2,8)·2 is a sum of 2·8 squared cosines, so 40 trials pin the mean to a few percent
        assertThat(Analysis.expectedRandomSimilarity(2, 8, d)).isEqualTo(0.125);
        assertThat(mean).isCloseTo(0.125, within(0.02));
    }

    @Test
    void deltaWAlongWsOwnWeakDirectionsHasTheClosedFormAmplification() {
        int out = 24, in = 16;
        double[][] u = SvdTest.orthonormal(out, in, 3), v = SvdTest.orthonormal(in, in, 4);
        double[] sigma = new double[in];
        for (int k = 0; k < in; k++) sigma[k] = 10.0 / (k + 1);       // 10, 5, 3.33, …
        double[][] w = dense(u, sigma, v);
        // ΔW = 0.9·u₅v₅ᵀ + 0.6·u₆v₆ᵀ: directions W has (σ₅ = 1.667, σ₆ = 1.429) but does not emphasise
        double[] c = new double[in];
        c[5] = 0.9;
        c[6] = 0.6;
        double[][] dw = dense(u, c, v);
        Analysis.Amplification a = Analysis.amplification(w, dw, 2, 7);
        double proj = Math.hypot(sigma[5], sigma[6]);
        assertThat(a.projDelta()).isCloseTo(proj, within(1e-10));
        assertThat(a.deltaNorm()).isCloseTo(Math.hypot(0.9, 0.6), within(1e-12));
        assertThat(a.factor()).isCloseTo(Math.hypot(0.9, 0.6) / proj, within(1e-10));
        // W's own top-2 directions: √(σ₀² + σ₁²)
        assertThat(a.projW()).isCloseTo(Math.hypot(sigma[0], sigma[1]), within(1e-10));
        double wNorm = 0;
        for (double s : sigma) wNorm += s * s;
        assertThat(a.wNorm()).isCloseTo(Math.sqrt(wNorm), within(1e-10));
        assertThat(a.expectedRandom()).isCloseTo(Math.sqrt(wNorm) * 2 / Math.sqrt(out * in), within(1e-12));

        // The W column is √(Σ_{k≤r} σ_k²) at every r
        for (int r = 1; r <= 6; r++) {
            double expect = 0;
            for (int k = 0; k < r; k++) expect += sigma[k] * sigma[k];
            assertThat(Analysis.amplification(w, dw, r, 7).projW()).as("r = %d", r).isCloseTo(Math.sqrt(expect), within(1e-10));
        }
    }

    @Test
    void theRandomColumnComesOutNearNormOfWTimesROverD() {
        int d = 96, r = 4, trials = 12;
        double[][] w = Analysis.gaussian(d, d, 99);
        double[][] dw = Analysis.gaussian(d, d, 98);
        double mean = 0;
        Analysis.Amplification a = null;
        for (int s = 0; s < trials; s++) {
            a = Analysis.amplification(w, dw, r, 1000 + s);
            mean += a.projRandom() / trials;
        }
        // E‖UᵀWV‖²_F = ‖W‖²_F·r²/d² for random U, V; the mean of the norm sits a little below its square root
        assertThat(a.expectedRandom()).isCloseTo(Analysis.frobenius(w) * r / d, within(1e-9));
        assertThat(mean / a.expectedRandom()).isBetween(0.8, 1.1);
        // a random ΔW is itself a random direction: its projection is as small as the random column's
        assertThat(a.projDelta() / a.expectedRandom()).isBetween(0.4, 2.0);
        // and W's own directions are far stronger
        assertThat(a.projW()).isGreaterThan(5 * a.expectedRandom());
    }

    @Test
    void badShapesAreRefusedNamingThem() {
        assertThatThrownBy(() -> Analysis.subspaceSimilarity(new double[2][5], new double[3][6]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 × 5").hasMessageContaining("3 × 6");
        assertThatThrownBy(() -> Analysis.amplification(new double[4][4], new double[4][5], 2, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4 × 5");
        assertThatThrownBy(() -> Analysis.amplification(new double[4][4], new double[4][4], 5, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("r = 5");
        assertThatThrownBy(() -> Analysis.subspaceSimilarity(Tensor.zeros(2, 3, 4), Tensor.zeros(2, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 3, 4]");
    }

    /** Σ_k σ_k·u_k·v_kᵀ in double (u, v: lists of columns). */
    static double[][] dense(double[][] u, double[] sigma, double[][] v) {
        int m = u[0].length, n = v[0].length;
        double[][] w = new double[m][n];
        for (int k = 0; k < sigma.length; k++)
            if (sigma[k] != 0)
                for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) w[i][j] += sigma[k] * u[k][i] * v[k][j];
        return w;
    }

    static Tensor tensor(double[][] a) {
        float[] f = new float[a.length * a[0].length];
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a[0].length; j++) f[i * a[0].length + j] = (float) a[i][j];
        return Tensor.wrap(f, a.length, a[0].length);
    }
}
