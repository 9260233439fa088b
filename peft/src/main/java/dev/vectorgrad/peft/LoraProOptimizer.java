package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA-Pro (Wang et al., ICLR 2025, arXiv 2407.18242) with AdamW, as the authors' {@code lorapro_full_adjustment}
 * (repo variant "lora-pro-full"): for each LoRA pair (A r × in, B out × r, scaling s) the raw gradients are
 * replaced by the closed-form optimal ones, so that the step of (A, B) best matches an AdamW step of the full
 * weight. Per step t:
 * <ol>
 * <li>ĝ_A = (1/s²)(BᵀB)⁻¹g_A, ĝ_B = (1/s²)(I − B(BᵀB)⁻¹Bᵀ)g_B(AAᵀ)⁻¹; the full-size equivalent gradient
 *     g̃ = s·B·ĝ_A + s·ĝ_B·A (out × in), the projection of ∂L/∂W onto {B·Y + Z·A}.</li>
 * <li>Adam on g̃ with full-size moments M, V (out × in per layer: full fine-tuning's Adam memory), β = 0.9, 0.999,
 *     ε = 1e-8: Ĝ = (M/(1−β1ᵗ)) / (√V/√(1−β2ᵗ) + ε).</li>
 * <li>Ĝ re-projected as if it were the full gradient: g_A' = s·BᵀĜ, g_B' = s·ĜAᵀ, and
 *     g^A = (1/s²)(BᵀB)⁻¹g_A' + X·A, g^B = (1/s²)(I − P_B)g_B'(AAᵀ)⁻¹ − B·X, with X the solution of the Sylvester
 *     equation (BᵀB)X + X(AAᵀ) = −(1/s²)(BᵀB)⁻¹g_A'Aᵀ (two r × r symmetric eigen-decompositions).</li>
 * <li>p ← p − lr·g (the reference runs HF's SGD on the adjusted gradients), then the decoupled weight decay
 *     p ← p·(1 − lr·wd) of the paper's AdamW (the reference scripts use wd = 0).</li>
 * </ol>
 * The inverses are pseudo-inverses of (· + δI), δ = 1e-8, as the reference's {@code pinv}. Differences from the
 * reference: s is each layer's real scaling (the reference hard-codes 16/8 = 2, wrong with rsLoRA); the moments are
 * float32 (the reference forms g̃ from bf16-cast operands); the algebra is in double; no gradient clipping inside
 * (the reference clips the adjusted gradients by the raw gradients' global norm). Only LoRA pairs are optimised.
 */
public final class LoraProOptimizer extends Optimizer {
    static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, DELTA = 1e-8;

    /** A LoRA layer's A (r × in), B (out × r) and scaling s. */
    record Pair(Variable a, Variable b, float scaling) {}

    private final List<Pair> pairs;
    private final IdentityHashMap<Pair, float[][]> moments = new IdentityHashMap<>();
    private long t;

    LoraProOptimizer(List<Pair> pairs, double lr, double weightDecay) {
        super(List.of(ParamGroup.of(params(pairs))), lr, weightDecay);
        this.pairs = List.copyOf(pairs);
    }

    private static List<Variable> params(List<Pair> pairs) {
        List<Variable> p = new ArrayList<>();
        for (Pair x : pairs) { p.add(x.a()); p.add(x.b()); }
        return p;
    }

    /** The number of steps taken. */
    public long steps() {
        return t;
    }

    /** The LoRA A (r × in) of each pair, in the optimiser's order: the keys of {@link #moments()}. */
    public List<Variable> pairAs() {
        List<Variable> l = new ArrayList<>();
        for (Pair p : pairs) l.add(p.a());
        return l;
    }

    /**
     * The full-size moments {M, V} (each out × in, copies) of every pair, by its A, in the optimiser's order; a
     * pair not stepped yet gets zeros, what its moments start as. With {@link #steps()} this is the whole state.
     */
    public LinkedHashMap<Variable, Tensor[]> moments() {
        LinkedHashMap<Variable, Tensor[]> out = new LinkedHashMap<>();
        for (Pair p : pairs) {
            int n = p.b().shape()[0], in = p.a().shape()[1];
            float[][] mv = moments.get(p);
            out.put(p.a(), mv == null ? new Tensor[] {Tensor.zeros(n, in), Tensor.zeros(n, in)}
                    : new Tensor[] {Tensor.wrap(mv[0].clone(), n, in), Tensor.wrap(mv[1].clone(), n, in)});
        }
        return out;
    }

    /**
     * Puts back a state of {@link #moments()} and {@link #steps()}: every pair's M and V (out × in), by its A. A
     * missing pair or a wrong shape is an {@link IllegalArgumentException}, with nothing changed.
     */
    public void loadState(long steps, Map<Variable, Tensor[]> state) {
        if (steps < 0) throw new IllegalArgumentException("LoRA-Pro: a step count must be >= 0, got " + steps);
        IdentityHashMap<Pair, float[][]> next = new IdentityHashMap<>();
        for (Pair p : pairs) {
            Tensor[] mv = state.get(p.a());
            int[] shape = {p.b().shape()[0], p.a().shape()[1]};
            if (mv == null || mv.length != 2) throw new IllegalArgumentException("LoRA-Pro: no moments for the pair of A " + Arrays.toString(p.a().shape()));
            for (Tensor t : mv)
                if (!Arrays.equals(t.shape(), shape))
                    throw new IllegalArgumentException("LoRA-Pro: a moment of shape " + Arrays.toString(t.shape()) + " for a pair of full size " + Arrays.toString(shape));
            next.put(p, new float[][] {mv[0].contiguous().toArray(), mv[1].contiguous().toArray()});
        }
        if (state.size() != pairs.size()) throw new IllegalArgumentException("LoRA-Pro: moments for " + state.size() + " pairs, the optimiser has " + pairs.size());
        moments.clear();
        moments.putAll(next);
        t = steps;
    }

    @Override
    public void step() {
        t++;
        ParamGroup g = paramGroups().get(0);
        for (Pair p : pairs) {
            Tensor ga = p.a().grad(), gb = p.b().grad();
            if (ga == null && gb == null) continue;
            int r = p.a().shape()[0], in = p.a().shape()[1], out = p.b().shape()[0];
            if (ga == null) ga = Tensor.zeros(r, in);
            if (gb == null) gb = Tensor.zeros(out, r);
            Tensor[] adjusted = adjust(p, d(p.a().data()), d(p.b().data()), d(ga), d(gb), out, in, r);
            update(p.a(), adjusted[0], g);
            update(p.b(), adjusted[1], g);
        }
    }

    private static void update(Variable p, Tensor grad, ParamGroup g) {
        p.setGrad(grad);
        p.data().addScaledInPlace((float) -g.lr(), grad);
        if (g.weightDecay() != 0) p.data().mulInPlace((float) (1 - g.lr() * g.weightDecay()));
    }

    /** One pair's step 1–3 above: the gradients {g^A, g^B} to apply. */
    private Tensor[] adjust(Pair p, double[] a, double[] b, double[] ga, double[] gb, int out, int in, int r) {
        double s = p.scaling();
        Optimal raw = optimal(a, b, ga, gb, out, in, r, s, false);
        double[] geq = equivalent(a, b, raw.ga(), raw.gb(), out, in, r, s);
        float[][] mv = moments.computeIfAbsent(p, k -> new float[][] {new float[out * in], new float[out * in]});
        float[] m = mv[0], v = mv[1];
        double bc1 = 1 - Math.pow(BETA1, t), bc2 = Math.sqrt(1 - Math.pow(BETA2, t));
        double[] hat = new double[out * in];
        for (int i = 0; i < hat.length; i++) {
            m[i] = (float) (BETA1 * m[i] + (1 - BETA1) * geq[i]);
            v[i] = (float) (BETA2 * v[i] + (1 - BETA2) * geq[i] * geq[i]);
            hat[i] = (m[i] / bc1) / (Math.sqrt(v[i]) / bc2 + EPS);
        }
        // re-project Ĝ as the full gradient: g_A' = s·BᵀĜ (r × in), g_B' = s·ĜAᵀ (out × r)
        double[] ga2 = new double[r * in], gb2 = new double[out * r];
        for (int o = 0; o < out; o++)
            for (int k = 0; k < r; k++) {
                double bok = s * b[o * r + k], acc = 0;
                for (int i = 0; i < in; i++) {
                    double h = hat[o * in + i];
                    ga2[k * in + i] += bok * h;
                    acc += h * a[k * in + i];
                }
                gb2[o * r + k] = s * acc;
            }
        Optimal o = optimal(a, b, ga2, gb2, out, in, r, s, true);
        return new Tensor[] {f(o.ga(), r, in), f(o.gb(), out, r)};
    }

    /** g^A (r × in), g^B (out × r) and the X (r × r) used. */
    record Optimal(double[] ga, double[] gb, double[] x) {}

    /**
     * The optimal gradients for LoRA gradients g_A = s·BᵀG, g_B = s·GAᵀ: g^A = (1/s²)(BᵀB)⁻¹g_A + X·A,
     * g^B = (1/s²)(I − B(BᵀB)⁻¹Bᵀ)g_B(AAᵀ)⁻¹ − B·X, with X the Sylvester solution when {@code withX}, else 0.
     */
    static Optimal optimal(double[] a, double[] b, double[] ga, double[] gb, int out, int in, int r, double s, boolean withX) {
        double[] aat = new double[r * r], btb = new double[r * r];
        for (int i = 0; i < r; i++)
            for (int j = 0; j <= i; j++) {
                double x = 0, y = 0;
                for (int k = 0; k < in; k++) x += a[i * in + k] * a[j * in + k];
                for (int o = 0; o < out; o++) y += b[o * r + i] * b[o * r + j];
                aat[i * r + j] = aat[j * r + i] = x;
                btb[i * r + j] = btb[j * r + i] = y;
            }
        double rtol = r * 0x1p-23; // torch.linalg.pinv's default for float32 operands
        double[] aatD = aat.clone(), btbD = btb.clone();
        for (int i = 0; i < r; i++) { aatD[i * r + i] += DELTA; btbD[i * r + i] += DELTA; }
        double[] aInv = SymmetricEigen.of(aatD, r).pinv(rtol), bInv = SymmetricEigen.of(btbD, r).pinv(rtol);
        double c = 1 / (s * s);
        double[] gaOut = mul(bInv, ga, r, r, in);
        for (int i = 0; i < gaOut.length; i++) gaOut[i] *= c;
        // (I − B·bInv·Bᵀ)·g_B = g_B − B·(bInv·(Bᵀ·g_B))
        double[] btg = mulTN(b, gb, out, r, r);
        double[] proj = mul(b, mul(bInv, btg, r, r, r), out, r, r);
        double[] resid = new double[out * r];
        for (int i = 0; i < resid.length; i++) resid[i] = gb[i] - proj[i];
        double[] gbOut = mul(resid, aInv, out, r, r);
        for (int i = 0; i < gbOut.length; i++) gbOut[i] *= c;
        double[] x = new double[r * r];
        if (withX) {
            // C = −(1/s²)·bInv·g_A·Aᵀ, then (BᵀB)X + X(AAᵀ) = C
            double[] gaAt = mulNT(ga, a, r, in, r);
            double[] cm = mul(bInv, gaAt, r, r, r);
            for (int i = 0; i < cm.length; i++) cm[i] *= -c;
            x = sylvester(btb, aat, cm, r);
            double[] xa = mul(x, a, r, r, in), bx = mul(b, x, out, r, r);
            for (int i = 0; i < gaOut.length; i++) gaOut[i] += xa[i];
            for (int i = 0; i < gbOut.length; i++) gbOut[i] -= bx[i];
        }
        return new Optimal(gaOut, gbOut, x);
    }

    /** g̃ = s·B·g^A + s·g^B·A (out × in): the change of W per unit step of (A, B), to first order. */
    static double[] equivalent(double[] a, double[] b, double[] ga, double[] gb, int out, int in, int r, double s) {
        double[] e = new double[out * in];
        for (int o = 0; o < out; o++)
            for (int k = 0; k < r; k++) {
                double bk = s * b[o * r + k], gk = s * gb[o * r + k];
                if (bk == 0 && gk == 0) continue;
                for (int i = 0; i < in; i++) e[o * in + i] += bk * ga[k * in + i] + gk * a[k * in + i];
            }
        return e;
    }

    /**
     * The X (r × r) with P·X + X·Q = C for symmetric positive (semi-)definite P and Q: with P = U·diag(λ)·Uᵀ and
     * Q = V·diag(μ)·Vᵀ, X = U·[(UᵀCV)_ij / (λ_i + μ_j)]·Vᵀ (entries with λ_i + μ_j = 0 set to 0).
     */
    static double[] sylvester(double[] p, double[] q, double[] cm, int r) {
        SymmetricEigen ep = SymmetricEigen.of(p, r), eq = SymmetricEigen.of(q, r);
        double[] u = ep.vectors(), v = eq.vectors();
        double[] cp = mul(mulTN(u, cm, r, r, r), v, r, r, r);
        for (int i = 0; i < r; i++)
            for (int j = 0; j < r; j++) {
                double den = ep.values()[i] + eq.values()[j];
                cp[i * r + j] = den == 0 ? 0 : cp[i * r + j] / den;
            }
        return mulNT(mul(u, cp, r, r, r), v, r, r, r);
    }

    /** x (n × k) · y (k × m). */
    static double[] mul(double[] x, double[] y, int n, int k, int m) {
        double[] z = new double[n * m];
        for (int i = 0; i < n; i++)
            for (int l = 0; l < k; l++) {
                double xv = x[i * k + l];
                if (xv == 0) continue;
                for (int j = 0; j < m; j++) z[i * m + j] += xv * y[l * m + j];
            }
        return z;
    }

    /** xᵀ · y for x (k × n), y (k × m). */
    static double[] mulTN(double[] x, double[] y, int k, int n, int m) {
        double[] z = new double[n * m];
        for (int l = 0; l < k; l++)
            for (int i = 0; i < n; i++) {
                double xv = x[l * n + i];
                if (xv == 0) continue;
                for (int j = 0; j < m; j++) z[i * m + j] += xv * y[l * m + j];
            }
        return z;
    }

    /** x · yᵀ for x (n × k), y (m × k). */
    static double[] mulNT(double[] x, double[] y, int n, int k, int m) {
        double[] z = new double[n * m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) {
                double acc = 0;
                for (int l = 0; l < k; l++) acc += x[i * k + l] * y[j * k + l];
                z[i * m + j] = acc;
            }
        return z;
    }

    private static double[] d(Tensor t) {
        float[] f = t.contiguous().toArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }

    private static Tensor f(double[] x, int... shape) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) x[i];
        return Tensor.wrap(out, shape);
    }
}
