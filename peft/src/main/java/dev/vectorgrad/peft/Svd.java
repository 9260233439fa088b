package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;
import java.util.Comparator;

/**
 * Thin singular value decomposition W = U·diag(S)·Vᵀ by one-sided (Hestenes) Jacobi in double precision:
 * exact to rounding, for the moderate matrices of PiSSA / MiLoRA init. Singular values descending.
 */
public final class Svd {
    /** U (m × k), S (k), V (n × k), k = min(m, n). */
    public record Result(Tensor u, Tensor s, Tensor v) {}

    private Svd() {}

    public static Result of(Tensor w) {
        if (w.rank() != 2) throw new IllegalArgumentException("svd: need a matrix, got " + Arrays.toString(w.shape()));
        int m0 = w.size(0), n0 = w.size(1);
        boolean tr = m0 < n0;
        int m = tr ? n0 : m0, n = tr ? m0 : n0; // work on an m × n matrix with m ≥ n
        float[] src = w.contiguous().toArray();
        double[][] a = new double[n][m]; // columns
        for (int i = 0; i < m0; i++)
            for (int j = 0; j < n0; j++) {
                if (tr) a[i][j] = src[i * n0 + j];
                else a[j][i] = src[i * n0 + j];
            }
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) v[i][i] = 1;
        for (int sweep = 0; sweep < 80; sweep++) {
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
            if (!rotated) break;
        }
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
        float[] uo = new float[m * n], vo = new float[n * n], so = new float[n];
        for (int k = 0; k < n; k++) {
            int j = order[k];
            so[k] = (float) sig[j];
            for (int i = 0; i < m; i++) uo[i * n + k] = (float) a[j][i];
            for (int i = 0; i < n; i++) vo[i * n + k] = (float) v[j][i];
        }
        Tensor u = Tensor.wrap(uo, m, n), vv = Tensor.wrap(vo, n, n), s = Tensor.wrap(so, n);
        return tr ? new Result(vv, s, u) : new Result(u, s, vv);
    }

    /**
     * PiSSA (top) / MiLoRA (bottom): from W's r largest / smallest singular triplets, with Sr = S/scaling,
     * A = diag(√Sr)·Vᵀ[r] and B = U[:, r]·diag(√Sr); W becomes the residual W − scaling·BA. A and B are kept
     * as the layer's initial factors, for the file that reproduces the tuned model on the original W.
     */
    static void initPrincipal(LoraLinear l, String name, boolean top) {
        try (var g = Grad.disabled()) {
            Tensor w = l.linear().weight.data();
            int r = l.rank(name);
            Result d = of(w);
            int k = d.s().numel();
            if (r > k) throw new IllegalArgumentException((top ? "PiSSA" : "MiLoRA") + ": r = " + r + " exceeds the rank bound " + k + " of the layer");
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
