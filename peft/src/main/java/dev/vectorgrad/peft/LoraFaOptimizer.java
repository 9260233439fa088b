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

    /** Pseudo-inverse of the symmetric r × r matrix {@code m} (row-major), 1/λ taken as 0 where |λ| ≤ rtol·max|λ|. */
    static double[] pinvSymmetric(double[] m, int r, double rtol) {
        return SymmetricEigen.of(m, r).pinv(rtol);
    }
}
