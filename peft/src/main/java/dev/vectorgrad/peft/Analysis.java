package dev.vectorgrad.peft;

import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The LoRA paper's §7 analyses (Hu et al. 2021, arXiv 2106.09685v2), in double precision on {@link Svd#ofDouble}:
 * the normalised subspace similarity φ between two learned A matrices (§7.2, Eq. 4) and the projection of the
 * pre-trained W onto ΔW's top singular directions with its amplification factor (§7.3, Table 7, App. H.4), each
 * with the random baseline that a reading needs beside it.
 */
public final class Analysis {
    private Analysis() {}

    /**
     * W projected onto the r-dimensional singular subspaces of ΔW, of W itself and of a random Gaussian matrix:
     * {@code ‖UᵀWV‖_F} for each, {@code ‖ΔW‖_F}, {@code ‖W‖_F}, the random column's expected value
     * {@code ‖W‖_F·r/√(out·in)} (= ‖W‖_F·r/d for a square W) and the amplification factor {@code ‖ΔW‖_F / ‖U_ΔWᵀ W V_ΔW‖_F}.
     */
    public record Amplification(int r, double projDelta, double projW, double projRandom, double deltaNorm, double wNorm,
                                double expectedRandom, double factor) {}

    // ------------------------------------------------------------------ subspace similarity

    /**
     * φ(A₁, A₂, i, j) = ‖U₁^{(i)ᵀ}·U₂^{(j)}‖²_F / min(i, j) for every i ≤ r₁, j ≤ r₂, where U^{(i)} are the first i
     * right-singular vectors of A (r × in: the input-space directions, singular values descending). Entry
     * {@code [i-1][j-1]} is φ(i, j), in [0, 1]: 1 where one span contains the other, 0 where they are orthogonal.
     * Two random subspaces of ℝ^in already score {@link #expectedRandomSimilarity} on average.
     */
    public static double[][] subspaceSimilarity(Tensor a1, Tensor a2) {
        return subspaceSimilarity(rows(a1, "a1"), rows(a2, "a2"));
    }

    /** {@link #subspaceSimilarity(Tensor, Tensor)} on row-major double matrices (r₁ × in and r₂ × in). */
    public static double[][] subspaceSimilarity(double[][] a1, double[][] a2) {
        int in = cols(a1, "a1");
        if (cols(a2, "a2") != in)
            throw new IllegalArgumentException("subspace similarity: A₁ is " + a1.length + " × " + in + " but A₂ is " + a2.length + " × "
                    + a2[0].length + "; both must have the same number of columns (input features)");
        double[][] v1 = Svd.ofDouble(a1).v(), v2 = Svd.ofDouble(a2).v(); // in × k₁, in × k₂
        int k1 = Math.min(a1.length, in), k2 = Math.min(a2.length, in);
        // g[p][q] = (v1_pᵀ v2_q)², then 2-D prefix sums: s[i][j] = Σ_{p<i, q<j} g[p][q]
        double[][] s = new double[k1 + 1][k2 + 1];
        for (int p = 0; p < k1; p++)
            for (int q = 0; q < k2; q++) {
                double d = 0;
                for (int t = 0; t < in; t++) d += v1[t][p] * v2[t][q];
                s[p + 1][q + 1] = d * d + s[p][q + 1] + s[p + 1][q] - s[p][q];
            }
        double[][] phi = new double[k1][k2];
        for (int i = 1; i <= k1; i++)
            for (int j = 1; j <= k2; j++) phi[i - 1][j - 1] = s[i][j] / Math.min(i, j);
        return phi;
    }

    /**
     * The mean φ(i, j) of two independent uniformly random subspaces of dimensions i and j in ℝ^d: E‖U₁ᵀU₂‖²_F =
     * i·j/d, so E φ = max(i, j)/d. This is why width matters: at r = 64 in ℝ^128, φ ≈ 0.5 means nothing.
     */
    public static double expectedRandomSimilarity(int i, int j, int d) {
        if (i <= 0 || j <= 0 || d <= 0) throw new IllegalArgumentException("expected similarity: need i, j, d > 0, got " + i + ", " + j + ", " + d);
        return Math.min(1.0, Math.max(i, j) / (double) d);
    }

    /** A rows × cols matrix of independent standard normal entries drawn from {@code seed} (the random baselines). */
    public static double[][] gaussian(int rows, int cols, long seed) {
        if (rows <= 0 || cols <= 0) throw new IllegalArgumentException("gaussian: need a positive shape, got " + rows + " × " + cols);
        SplittableRandom rng = new SplittableRandom(seed);
        double[][] g = new double[rows][cols];
        for (double[] row : g)
            for (int j = 0; j < cols; j++) {
                // Box–Muller from two uniforms in (0, 1]
                double u1 = 1.0 - rng.nextDouble(), u2 = rng.nextDouble();
                row[j] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
            }
        return g;
    }

    // ------------------------------------------------------------------ ΔW against W

    /** {@link #amplification(Tensor, Tensor, int, long)} with the random baseline drawn from seed 0. */
    public static Amplification amplification(Tensor w, Tensor deltaW, int r) {
        return amplification(w, deltaW, r, 0);
    }

    /**
     * Table 7 of the LoRA paper for one weight: with U (out × r), V (in × r) the top-r left / right singular vectors
     * of ΔW, of W, and of a Gaussian matrix of W's shape drawn from {@code seed}, {@code ‖UᵀWV‖_F} of the
     * <em>pre-trained</em> W (not W + ΔW); ‖ΔW‖_F (ΔW the merged update, α/r included) and the factor
     * ‖ΔW‖_F / ‖U_ΔWᵀ W V_ΔW‖_F. For W's own vectors the projection is √(Σ_{k≤r} σ_k(W)²).
     */
    public static Amplification amplification(Tensor w, Tensor deltaW, int r, long seed) {
        return amplification(rows(w, "W"), rows(deltaW, "ΔW"), r, seed);
    }

    /** {@link #amplification(Tensor, Tensor, int, long)} on row-major double matrices. */
    public static Amplification amplification(double[][] w, double[][] deltaW, int r, long seed) {
        int out = w.length, in = cols(w, "W");
        if (deltaW.length != out || cols(deltaW, "ΔW") != in)
            throw new IllegalArgumentException("amplification: W is " + out + " × " + in + " but ΔW is " + deltaW.length + " × " + deltaW[0].length
                    + "; they must have the same shape");
        if (r <= 0 || r > Math.min(out, in))
            throw new IllegalArgumentException("amplification: r = " + r + " must be in [1, " + Math.min(out, in) + "] for a " + out + " × " + in + " W");
        double projDelta = projection(w, Svd.ofDouble(deltaW), r);
        double projW = projection(w, Svd.ofDouble(w), r);
        double projRandom = projection(w, Svd.ofDouble(gaussian(out, in, seed)), r);
        double deltaNorm = frobenius(deltaW), wNorm = frobenius(w);
        return new Amplification(r, projDelta, projW, projRandom, deltaNorm, wNorm, wNorm * r / Math.sqrt((double) out * in), deltaNorm / projDelta);
    }

    /** ‖U_rᵀ·W·V_r‖_F with U_r, V_r the first r columns of {@code basis}'s u and v. */
    static double projection(double[][] w, Svd.Exact basis, int r) {
        int out = w.length, in = w[0].length;
        double[][] u = basis.u(), v = basis.v();
        // WV (out × r), then Uᵀ(WV) (r × r)
        double[][] wv = new double[out][r];
        for (int i = 0; i < out; i++)
            for (int t = 0; t < in; t++) {
                double x = w[i][t];
                if (x == 0) continue;
                for (int c = 0; c < r; c++) wv[i][c] += x * v[t][c];
            }
        double sum = 0;
        for (int a = 0; a < r; a++)
            for (int c = 0; c < r; c++) {
                double d = 0;
                for (int i = 0; i < out; i++) d += u[i][a] * wv[i][c];
                sum += d * d;
            }
        return Math.sqrt(sum);
    }

    /** ‖M‖_F in double. */
    public static double frobenius(double[][] m) {
        double s = 0;
        for (double[] row : m) for (double x : row) s += x * x;
        return Math.sqrt(s);
    }

    /** A 2-D tensor as row-major doubles. */
    public static double[][] rows(Tensor t, String what) {
        if (t.rank() != 2) throw new IllegalArgumentException(what + ": need a matrix, got shape " + Arrays.toString(t.shape()));
        int m = t.size(0), n = t.size(1);
        float[] f = t.contiguous().toArray();
        double[][] d = new double[m][n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) d[i][j] = f[i * n + j];
        return d;
    }

    private static int cols(double[][] m, String what) {
        if (m.length == 0 || m[0].length == 0) throw new IllegalArgumentException(what + ": need a non-empty matrix");
        int n = m[0].length;
        for (int i = 1; i < m.length; i++)
            if (m[i].length != n) throw new IllegalArgumentException(what + ": row " + i + " has " + m[i].length + " columns, row 0 has " + n);
        return n;
    }
}
