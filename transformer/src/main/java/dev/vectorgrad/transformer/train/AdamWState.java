package dev.vectorgrad.transformer.train;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * AdamW with PyTorch's formulas (decoupled decay p ← p·(1 − lr·wd), then m, v, and
 * p ← p − (lr/(1−β₁ᵗ))·m/(√v/√(1−β₂ᵗ) + eps)), over named parameters, each with or without weight decay,
 * and with its moments exposed for checkpoints ({@link #moments()} / {@link #load}).
 *
 * <p>Why not autograd's {@code optim.AdamW}: its per-parameter state is not reachable from outside, so a run
 * could not be resumed bit-for-bit. The update is the same (one fused vector pass per parameter).
 */
public final class AdamWState {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int CHUNK = 1 << 15;

    private final LinkedHashMap<String, Variable> params;
    private final Map<String, Boolean> decay;
    private final LinkedHashMap<String, float[]> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    public final double beta1, beta2, eps, weightDecay;
    private long step;

    /** {@code decay}: per parameter name, whether weight decay applies (nanoGPT: matrices yes, vectors no). */
    public AdamWState(LinkedHashMap<String, Variable> params, Map<String, Boolean> decay, double beta1, double beta2, double eps,
                      double weightDecay) {
        this.params = params;
        this.decay = decay;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (var e : params.entrySet()) {
            m.put(e.getKey(), new float[e.getValue().numel()]);
            v.put(e.getKey(), new float[e.getValue().numel()]);
        }
    }

    /** Steps taken so far. */
    public long step() {
        return step;
    }

    /** One update with learning rate {@code lr} of every parameter that has a gradient. */
    public void update(double lr) {
        long t = ++step;
        double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
        float stepSize = (float) (lr / bc1), invSqrtBc2 = (float) (1 / Math.sqrt(bc2));
        float b1 = (float) beta1, b2 = (float) beta2, c1 = (float) (1 - beta1), c2 = (float) (1 - beta2), e = (float) eps;
        for (var en : params.entrySet()) {
            Variable p = en.getValue();
            if (!p.requiresGrad() || p.grad() == null) continue;
            float dec = decay.getOrDefault(en.getKey(), false) ? (float) (1 - lr * weightDecay) : 1f;
            float[] pd = p.data().storage(), md = m.get(en.getKey()), vd = v.get(en.getKey());
            int po = p.data().offset();
            Tensor g = p.grad().contiguous();
            float[] gd = g.storage();
            int go = g.offset(), n = p.numel();
            int tasks = (n + CHUNK - 1) / CHUNK;
            Parallel.forRange(tasks, k -> kernel(pd, po, gd, go, md, vd, k * CHUNK, Math.min(n, (k + 1) * CHUNK), dec, b1, b2, c1, c2,
                    stepSize, invSqrtBc2, e));
        }
    }

    private static void kernel(float[] p, int po, float[] g, int go, float[] m, float[] v, int s, int e, float decay, float b1, float b2,
                               float c1, float c2, float stepSize, float invSqrtBc2, float eps) {
        int i = s;
        for (int up = s + S.loopBound(e - s); i < up; i += S.length()) {
            FloatVector pv = FloatVector.fromArray(S, p, po + i).mul(decay);
            FloatVector gv = FloatVector.fromArray(S, g, go + i);
            FloatVector mv = FloatVector.fromArray(S, m, i).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromArray(S, v, i).mul(b2).add(gv.mul(gv).mul(c2));
            mv.intoArray(m, i);
            vv.intoArray(v, i);
            FloatVector denom = vv.sqrt().mul(invSqrtBc2).add(eps);
            pv.sub(mv.div(denom).mul(stepSize)).intoArray(p, po + i);
        }
        for (; i < e; i++) {
            float pi = p[po + i] * decay, gi = g[go + i];
            float mi = m[i] * b1 + gi * c1, vi = v[i] * b2 + gi * gi * c2;
            m[i] = mi;
            v[i] = vi;
            p[po + i] = pi - stepSize * (mi / ((float) Math.sqrt(vi) * invSqrtBc2 + eps));
        }
    }

    /** The moments as tensors named {@code exp_avg.<param>} and {@code exp_avg_sq.<param>} (shared, not copied). */
    public Map<String, Tensor> moments() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            int[] s = e.getValue().shape();
            out.put("exp_avg." + e.getKey(), Tensor.wrap(m.get(e.getKey()), s));
            out.put("exp_avg_sq." + e.getKey(), Tensor.wrap(v.get(e.getKey()), s));
        }
        return out;
    }

    /** Restores moments and step count saved by {@link #moments()}; every parameter's pair must be present. */
    public void load(Map<String, Tensor> moments, long step) {
        for (String n : params.keySet()) {
            Tensor a = moments.get("exp_avg." + n), b = moments.get("exp_avg_sq." + n);
            if (a == null || b == null) throw new IllegalArgumentException("optimizer state: moments of '" + n + "' are missing");
            if (a.numel() != m.get(n).length || b.numel() != v.get(n).length)
                throw new IllegalArgumentException("optimizer state: moments of '" + n + "' have the wrong size");
            System.arraycopy(a.toArray(), 0, m.get(n), 0, m.get(n).length);
            System.arraycopy(b.toArray(), 0, v.get(n), 0, v.get(n).length);
        }
        this.step = step;
    }

    /** torch.nn.utils.clip_grad_norm_: scales all gradients by maxNorm/(norm + 1e-6) when that is below 1; returns the norm. */
    public double clipGradNorm(double maxNorm) {
        double sq = 0;
        for (Variable p : params.values()) {
            Tensor g = p.grad();
            if (g == null) continue;
            Tensor c = g.contiguous();
            float[] d = c.storage();
            int o = c.offset(), n = c.numel();
            int i = 0;
            FloatVector acc = FloatVector.zero(S);
            for (int up = S.loopBound(n); i < up; i += S.length()) {
                FloatVector x = FloatVector.fromArray(S, d, o + i);
                acc = x.fma(x, acc);
            }
            double s = dev.vectorgrad.tensor.VMath.sumLanes(acc);
            for (; i < n; i++) s += (double) d[o + i] * d[o + i];
            sq += s;
        }
        double norm = Math.sqrt(sq);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) for (Variable p : params.values()) if (p.grad() != null) p.grad().mulInPlace((float) coef);
        return norm;
    }
}
