package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;
import java.util.Comparator;

/**
 * Singular value decompositions for the SVD-based inits, singular values descending:
 * <ul>
 * <li>{@link #of}: the thin SVD W = U·diag(S)·Vᵀ by one-sided (Hestenes) Jacobi in double precision, exact to
 * rounding (MiLoRA's bottom r needs the whole spectrum); it throws rather than return an unconverged result;
 * {@link #ofDouble} is the same in double in and out (the LoRA §7 analyses, {@link Analysis});</li>
 * <li>{@link #topR}: the r leading triplets by randomised subspace iteration, what {@code torch.svd_lowrank(W, q,
 * niter)} does (Halko, Martinsson, Tropp 2011, Alg. 4.4): Q = orth(W·G) for a Gaussian G (n × q), then
 * {@code niter} times Q = orth(W·orth(Wᵀ·Q)), and the exact SVD of the small q × n matrix QᵀW. The products run
 * in float32 on the engine's GEMM, the orthonormalisations and the small SVD in double.</li>
 * </ul>
 */
public final class Svd {
    /** U (m × k), S (k), V (n × k), k = min(m, n). */
    public record Result(Tensor u, Tensor s, Tensor v) {}

    /** Sweeps after which Jacobi gives up; it converges quadratically, in well under 20 sweeps on finite input. */
    static final int MAX_SWEEPS = 80;

    private Svd() {}

    /** The thin SVD in double precision: u (m × k) and v (n × k) row-major, s (k) descending, k = min(m, n). */
    public record Exact(double[][] u, double[] s, double[][] v) {}

    public static Result of(Tensor w) {
        if (w.rank() != 2) throw new IllegalArgumentException("svd: need a matrix, got " + Arrays.toString(w.shape()));
        int m0 = w.size(0), n0 = w.size(1);
        float[] src = w.contiguous().toArray();
        double[][] rows = new double[m0][n0];
        for (int i = 0; i < m0; i++) for (int j = 0; j < n0; j++) rows[i][j] = src[i * n0 + j];
        Exact e = ofDouble(rows);
        int k = e.s().length;
        float[] uo = new float[m0 * k], vo = new float[n0 * k], so = new float[k];
        for (int c = 0; c < k; c++) {
            so[c] = (float) e.s()[c];
            for (int i = 0; i < m0; i++) uo[i * k + c] = (float) e.u()[i][c];
            for (int i = 0; i < n0; i++) vo[i * k + c] = (float) e.v()[i][c];
        }
        return new Result(Tensor.wrap(uo, m0, k), Tensor.wrap(so, k), Tensor.wrap(vo, n0, k));
    }

    /**
     * The exact thin SVD of {@code w} (m rows × n columns, row-major) by one-sided Jacobi, in double throughout
     * (what {@link #of} rounds to float32); singular vectors of zero singular values are zero.
     */
    public static Exact ofDouble(double[][] w) {
        int m0 = w.length;
        if (m0 == 0 || w[0].length == 0) throw new IllegalArgumentException("svd: need a non-empty matrix, got " + m0 + " rows");
        int n0 = w[0].length;
        for (int i = 0; i < m0; i++)
            if (w[i].length != n0) throw new IllegalArgumentException("svd: row " + i + " has " + w[i].length + " columns, row 0 has " + n0);
        boolean tr = m0 < n0;
        int m = tr ? n0 : m0, n = tr ? m0 : n0; // work on an m × n matrix with m ≥ n
        double[][] a = new double[n][m]; // columns
        for (int i = 0; i < m0; i++)
            for (int j = 0; j < n0; j++) {
                if (tr) a[i][j] = w[i][j];
                else a[j][i] = w[i][j];
            }
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) v[i][i] = 1;
        boolean converged = false;
        for (int sweep = 0; sweep < MAX_SWEEPS && !converged; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++) {
                    double[] ap = a[p], aq = a[q];
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int i = 0; i < m; i++) { alpha += ap[i] * ap[i]; beta += aq[i] * aq[i]; gamma += ap[i] * aq[i]; }
                    if (gamma == 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) t = 1;
                    double c = 1 / Math.sqrt(1 + t * t), s = c * t;
                    for (int i = 0; i < m; i++) { double x = ap[i], y = aq[i]; ap[i] = c * x - s * y; aq[i] = s * x + c * y; }
                    double[] vp = v[p], vq = v[q];
                    for (int i = 0; i < n; i++) { double x = vp[i], y = vq[i]; vp[i] = c * x - s * y; vq[i] = s * x + c * y; }
                }
            converged = !rotated;
        }
        if (!converged)
            throw new IllegalStateException("svd: one-sided Jacobi did not converge in " + MAX_SWEEPS + " sweeps on a " + m0 + " × " + n0
                    + " matrix (non-finite values?)");
        double[] sig = new double[n];
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (double x : a[j]) s += x * x;
            sig[j] = Math.sqrt(s);
            if (sig[j] > 0) for (int i = 0; i < m; i++) a[j][i] /= sig[j];
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> -sig[i]));
        double[][] uo = new double[m][n], vo = new double[n][n];
        double[] so = new double[n];
        for (int k = 0; k < n; k++) {
            int j = order[k];
            so[k] = sig[j];
            for (int i = 0; i < m; i++) uo[i][k] = a[j][i];
            for (int i = 0; i < n; i++) vo[i][k] = v[j][i];
        }
        return tr ? new Exact(vo, so, uo) : new Exact(uo, so, vo);
    }

    /**
     * The {@code r} leading singular triplets of {@code w} (m × n) by randomised subspace iteration with {@code q}
     * ≥ r columns (oversampling; {@code torch.svd_lowrank}'s q) and {@code niter} power iterations, the Gaussian
     * test matrix drawn from {@code seed}. Exact (to rounding) when rank(w) ≤ q; otherwise the error in the
     * k-th value falls like (σ_{q+1}/σ_k)^(2·niter+1).
     */
    public static Result topR(Tensor w, int r, int q, int niter, long seed) {
        if (w.rank() != 2) throw new IllegalArgumentException("svd: need a matrix, got " + Arrays.toString(w.shape()));
        int m = w.size(0), n = w.size(1), k = Math.min(m, n);
        if (r <= 0 || r > k) throw new IllegalArgumentException("svd: r = " + r + " must be in [1, " + k + "] for a " + m + " × " + n + " matrix");
        if (q < r || niter < 0) throw new IllegalArgumentException("svd: need q ≥ r (got q = " + q + ", r = " + r + ") and niter ≥ 0 (got " + niter + ")");
        q = Math.min(q, k);
        try (var g = Grad.disabled()) {
            Tensor a = w.contiguous(), at = a.t();
            Tensor gauss = Tensor.zeros(n, q);
            Init.normal(gauss, new Rng(seed), 0, 1);
            Tensor qm = orthonormalColumns(a.matmul(gauss));
            for (int i = 0; i < niter; i++) {
                Tensor z = orthonormalColumns(at.matmul(qm));
                qm = orthonormalColumns(a.matmul(z));
            }
            // W ≈ Q·(QᵀW); (QᵀW)ᵀ = Wᵀ·Q (n × q) = Ub·S·Vbᵀ, so W ≈ (Q·Vb)·S·Ubᵀ
            Result small = of(at.matmul(qm));
            Tensor u = qm.matmul(small.v()).narrow(1, 0, r).contiguous();
            return new Result(u, small.s().narrow(0, 0, r).contiguous(), small.u().narrow(1, 0, r).contiguous());
        }
    }

    /**
     * The columns of {@code y} (m × q) orthonormalised by modified Gram-Schmidt, twice (enough for float input), in
     * double; a column that is (numerically) in the span of the earlier ones becomes zero.
     */
    static Tensor orthonormalColumns(Tensor y) {
        int m = y.size(0), q = y.size(1);
        float[] src = y.contiguous().toArray();
        double[][] c = new double[q][m];
        double maxNorm = 0;
        for (int i = 0; i < m; i++) for (int j = 0; j < q; j++) c[j][i] = src[i * q + j];
        for (int j = 0; j < q; j++) maxNorm = Math.max(maxNorm, Math.sqrt(dot(c[j], c[j])));
        for (int j = 0; j < q; j++) {
            double before = Math.sqrt(dot(c[j], c[j]));
            for (int pass = 0; pass < 2; pass++)
                for (int p = 0; p < j; p++) {
                    double d = dot(c[p], c[j]);
                    for (int i = 0; i < m; i++) c[j][i] -= d * c[p][i];
                }
            double nrm = Math.sqrt(dot(c[j], c[j]));
            boolean dependent = nrm <= 1e-6 * before || nrm <= 1e-12 * maxNorm;
            for (int i = 0; i < m; i++) c[j][i] = dependent ? 0 : c[j][i] / nrm;
        }
        float[] out = new float[m * q];
        for (int i = 0; i < m; i++) for (int j = 0; j < q; j++) out[i * q + j] = (float) c[j][i];
        return Tensor.wrap(out, m, q);
    }

    private static double dot(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[i] * y[i];
        return s;
    }

    /** PiSSA's randomised SVD settings: q = 4r columns, 4 power iterations (as {@code svd_lowrank(q=4r, niter=4)}). */
    static final int PISSA_OVERSAMPLE = 4, PISSA_NITER = 4;

    /**
     * PiSSA (top) / MiLoRA (bottom): from W's r largest / smallest singular triplets, with Sr = S/scaling,
     * A = diag(√Sr)·Vᵀ[r] and B = U[:, r]·diag(√Sr); W becomes the residual W − scaling·BA. A and B are kept
     * as the layer's initial factors, for the file that reproduces the tuned model on the original W. PiSSA takes
     * the top r from {@link #topR} (q = 4r, niter = 4; PEFT's {@code "pissa_niter_4"} with more oversampling),
     * MiLoRA the bottom r from the exact {@link #of}.
     */
    static void initPrincipal(LoraLinear l, String name, boolean top) {
        try (var g = Grad.disabled()) {
            Tensor w = l.linear().weight.data();
            int r = l.rank(name);
            int k = Math.min(w.size(0), w.size(1));
            if (r > k) throw new IllegalArgumentException((top ? "PiSSA" : "MiLoRA") + ": r = " + r + " exceeds the rank bound " + k + " of the layer");
            Result d = top ? topR(w, r, PISSA_OVERSAMPLE * r, PISSA_NITER, 0) : of(w);
            int start = top ? 0 : k - r;
            float scaling = l.scaling(name);
            Tensor sr = d.s().narrow(0, start, r).mul(1f / scaling).sqrt();
            Tensor a = d.v().narrow(1, start, r).t().mul(sr.reshape(r, 1)).contiguous();
            Tensor b = d.u().narrow(1, start, r).mul(sr.reshape(1, r)).contiguous();
            l.a(name).data().copyFrom(a);
            l.b(name).data().copyFrom(b);
            w.copyFrom(w.sub(b.matmul(a).mul(scaling)));
            l.setInitialFactors(name, a, b);
        }
    }
}
