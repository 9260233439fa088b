package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Adam;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.tensor.Tensor;
import java.util.List;

/**
 * PEFT's {@code LoraFAOptimizer} (LoRA-FA, arXiv 2308.03303): A stays frozen and, before the Adam update, each
 * LoRA layer's B gradient is replaced by the one that makes the B-only step best match the full gradient,
 * {@code g_B ← (1/s²)·g_B·(A·Aᵀ + δI)⁺} with s the layer's scaling (α/r or α/√r), δ = 1e-8, and ⁺ the
 * pseudo-inverse as {@code torch.linalg.pinv} takes it (eigenvalues ≤ r·2⁻²³ times the largest count as zero).
 * The projection is computed in double. Then Adam (β = 0.9, 0.999, ε = 1e-6, PEFT's defaults), and the weight
 * decay afterwards, {@code p ← p·(1 − lr·wd)}, in PEFT's order. One difference: PEFT's Adam is Hugging Face's
 * {@code AdamW} (ε added to √v before the bias correction), this one is PyTorch's (ε after it); they differ by
 * ε·(1 − √(1−β₂ᵗ)), nothing else.
 */
public final class LoraFaOptimizer extends Adam {
    /** PEFT's regulariser of A·Aᵀ before the pseudo-inverse. */
    static final double DELTA = 1e-8;

    /** A LoRA layer's frozen A (r × in), its B (out × r) and its scaling s. */
    record Pair(Variable a, Variable b, float scaling) {}

    private final List<Pair> pairs;
    private final double weightDecay;

    LoraFaOptimizer(List<Variable> params, List<Pair> pairs, double lr, double weightDecay) {
        super(List.of(ParamGroup.of(params)), lr, 0.9, 0.999, 1e-6, 0.0);
        this.pairs = List.copyOf(pairs);
        this.weightDecay = weightDecay;
    }

    @Override
    public void step() {
        project();
        super.step();
        if (weightDecay == 0) return;
        for (ParamGroup g : paramGroups())
            for (Variable p : g.params())
                if (p.requiresGrad() && p.grad() != null) p.data().mulInPlace((float) (1 - g.lr() * weightDecay));
    }

    /** Replaces every B's gradient by its LoRA-FA projection (B without a gradient is left alone). */
    void project() {
        for (Pair p : pairs) {
            Tensor gb = p.b().grad();
            if (gb == null) continue;
            p.b().setGrad(projected(gb, p.a().data(), p.scaling()));
        }
    }

    /** (1/s²)·g (out × r) · (A·Aᵀ + δI)⁺ for A (r × in), in double. */
    static Tensor projected(Tensor g, Tensor a, float s) {
        int r = a.size(0), in = a.size(1), out = g.size(0);
        float[] av = a.contiguous().toArray(), gv = g.contiguous().toArray();
        double[] aat = new double[r * r];
        for (int i = 0; i < r; i++)
            for (int j = 0; j <= i; j++) {
                double d = 0;
                for (int k = 0; k < in; k++) d += (double) av[i * in + k] * av[j * in + k];
                aat[i * r + j] = aat[j * r + i] = d;
            }
        for (int i = 0; i < r; i++) aat[i * r + i] += DELTA;
        double[] inv = pinvSymmetric(aat, r, r * 0x1p-23);
        double c = 1.0 / ((double) s * s);
        float[] res = new float[out * r];
        for (int o = 0; o < out; o++)
            for (int j = 0; j < r; j++) {
                double d = 0;
                for (int k = 0; k < r; k++) d += gv[o * r + k] * inv[k * r + j];
                res[o * r + j] = (float) (c * d);
            }
        return Tensor.wrap(res, out, r);
    }

    /**
     * Pseudo-inverse of the symmetric r × r matrix {@code m} (row-major): V·diag(1/λ)·Vᵀ from a cyclic Jacobi
     * eigen-decomposition, with 1/λ taken as 0 where |λ| ≤ rtol·max|λ|.
     */
    static double[] pinvSymmetric(double[] m, int r, double rtol) {
        double[] a = m.clone(), v = new double[r * r];
        for (int i = 0; i < r; i++) v[i * r + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0, diag = 0;
            for (int i = 0; i < r; i++)
                for (int j = 0; j < r; j++) {
                    if (i == j) diag += a[i * r + i] * a[i * r + i];
                    else off += a[i * r + j] * a[i * r + j];
                }
            if (off <= 1e-30 * diag || off == 0) break;
            for (int p = 0; p < r - 1; p++)
                for (int q = p + 1; q < r; q++) {
                    double apq = a[p * r + q];
                    if (apq == 0) continue;
                    // the rotation (c, s) that zeroes a[p][q]: A ← JᵀAJ, V ← VJ
                    double theta = (a[q * r + q] - a[p * r + p]) / (2 * apq);
                    double t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < r; k++) {
                        double x = a[k * r + p], y = a[k * r + q];
                        a[k * r + p] = c * x - s * y;
                        a[k * r + q] = s * x + c * y;
                    }
                    for (int k = 0; k < r; k++) {
                        double x = a[p * r + k], y = a[q * r + k];
                        a[p * r + k] = c * x - s * y;
                        a[q * r + k] = s * x + c * y;
                    }
                    for (int k = 0; k < r; k++) {
                        double x = v[k * r + p], y = v[k * r + q];
                        v[k * r + p] = c * x - s * y;
                        v[k * r + q] = s * x + c * y;
                    }
                }
        }
        double max = 0;
        for (int i = 0; i < r; i++) max = Math.max(max, Math.abs(a[i * r + i]));
        double[] out = new double[r * r];
        for (int k = 0; k < r; k++) {
            double l = a[k * r + k];
            if (Math.abs(l) <= rtol * max || l == 0) continue;
            for (int i = 0; i < r; i++)
                for (int j = 0; j < r; j++) out[i * r + j] += v[i * r + k] * v[j * r + k] / l;
        }
        return out;
    }
}
