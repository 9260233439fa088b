package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdaLoRA's rank allocation for one adapter, as HF PEFT's {@code RankAllocator} and
 * {@code AdaLoraModel.update_and_allocate}. Call {@link #updateAndAllocate(int)} once per step, after the optimizer
 * step and before the gradients are zeroed (global_step counting from 0):
 * <ul>
 * <li>importance I = |p ⊙ ∇p| of every A, E, B, smoothed Ī ← β1·Ī + (1−β1)·I and its uncertainty
 * Ū ← β2·Ū + (1−β2)·|I − Ī| (with the new Ī, no bias correction), element score Ī ⊙ Ū;</li>
 * <li>triplet score S_i = s(E)_i + mean_j s(A)_{i,j} + mean_j s(B)_{j,i};</li>
 * <li>the cubic budget {@link #budget}; on a mask step every E_i whose score is ≤ the k-th smallest of all layers'
 * (k = init budget − budget; ties all masked; nothing when k ≤ 0) is zeroed, and the kept pattern recorded on the
 * layer (what the file's {@code rank_pattern} holds);</li>
 * <li>at step total − tfinal a forced mask to the target budget, then the EMAs reset; after it, the final pattern
 * is re-applied to E at every step.</li>
 * </ul>
 * The orthogonal regulariser is not added to any loss by the model: add {@link #orthogonalLoss()} yourself, as
 * with PEFT when the loss is computed outside the model.
 */
public final class RankAllocator {
    private final PeftConfig cfg;
    private final String name;
    private final LinkedHashMap<String, AdaLoraLinear> layers;
    private final Map<Variable, float[][]> ema = new IdentityHashMap<>(); // {Ī, Ū} per parameter
    private final int initBudget, targetBudget;

    /** The allocator of AdaLoRA adapter {@code name} of {@code pm}. */
    public RankAllocator(PeftModel pm, String name) {
        this.cfg = pm.config(name);
        if (cfg.type() != PeftConfig.Type.ADALORA) throw new IllegalArgumentException("adapter '" + name + "' is not an AdaLoRA adapter");
        this.name = name;
        this.layers = new LinkedHashMap<>();
        for (String path : pm.targets(name)) layers.put(path, (AdaLoraLinear) PeftFiles.layerWith(pm, path, name));
        int total = 0;
        for (AdaLoraLinear l : layers.values()) total += l.a(name).shape()[0];
        this.initBudget = total;
        this.targetBudget = cfg.targetR() * layers.size();
    }

    /** The budget and whether to mask at {@code step}. */
    public record Budget(int budget, boolean mask) {}

    /** PEFT's {@code budget_schedule}: init budget up to tinit, a cubic fall to the target at total − tfinal, then the target. */
    public static Budget budget(int step, int initBudget, int targetBudget, int tinit, int tfinal, int totalStep, int deltaT) {
        if (step <= tinit) return new Budget(initBudget, false);
        if (step > totalStep - tfinal) return new Budget(targetBudget, true);
        double m = 1 - (double) (step - tinit) / (totalStep - tfinal - tinit);
        return new Budget((int) ((initBudget - targetBudget) * m * m * m + targetBudget), step % deltaT == 0);
    }

    Budget budget(int step) {
        return budget(step, initBudget, targetBudget, cfg.tinit(), cfg.tfinal(), cfg.totalStep(), cfg.deltaT());
    }

    public int initBudget() { return initBudget; }

    public int targetBudget() { return targetBudget; }

    /** PEFT's {@code update_and_allocate(global_step)}: call after each optimizer step. */
    public void updateAndAllocate(int globalStep) {
        int end = cfg.totalStep() - cfg.tfinal();
        if (globalStep < end) {
            updateImportance();
            Budget b = budget(globalStep);
            if (b.mask()) maskToBudget(b.budget());
        } else if (globalStep == end) {
            maskToBudget(budget(globalStep).budget());
            ema.clear();
        } else {
            maskUsingPattern();
        }
    }

    /** The EMA keys of a layer's parameters, in {@link AdaLoraLinear#adapterParameters} order. */
    private static final List<String> PARAMS = List.of("lora_A", "lora_E", "lora_B");

    /**
     * The allocator's state, what a resumed run needs besides the weights to allocate exactly as an uninterrupted
     * one: {@code <path>.<lora_A|lora_E|lora_B>.exp_avg_ipt} (Ī) and {@code .exp_avg_unc} (Ū) of every parameter that
     * has them (PEFT's names; none before the first update or after the final mask), and {@code <path>.rank_pattern}
     * (init_r values, 1 kept, 0 pruned) of every layer that has a kept-triplet pattern.
     */
    public LinkedHashMap<String, Tensor> state() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, AdaLoraLinear> e : layers.entrySet()) {
            List<Variable> ps = e.getValue().adapterParameters(name);
            for (int i = 0; i < ps.size(); i++) {
                float[][] s = ema.get(ps.get(i));
                if (s == null) continue;
                String k = e.getKey() + "." + PARAMS.get(i);
                out.put(k + ".exp_avg_ipt", Tensor.wrap(s[0].clone(), ps.get(i).shape()));
                out.put(k + ".exp_avg_unc", Tensor.wrap(s[1].clone(), ps.get(i).shape()));
            }
            boolean[] keep = e.getValue().pattern(name);
            if (keep != null) {
                float[] f = new float[keep.length];
                for (int i = 0; i < f.length; i++) f[i] = keep[i] ? 1 : 0;
                out.put(e.getKey() + ".rank_pattern", Tensor.wrap(f, f.length));
            }
        }
        return out;
    }

    /**
     * Puts back a {@link #state()}: the EMAs and the layers' patterns, replacing the current ones. Every key must
     * belong to a layer of this adapter and have its parameter's shape (a pattern: init_r values, each 0 or 1), and
     * Ī and Ū come together; otherwise an {@link IllegalArgumentException} naming the key, with nothing changed.
     */
    public void restore(Map<String, Tensor> state) {
        Map<Variable, float[][]> newEma = new IdentityHashMap<>();
        Map<AdaLoraLinear, boolean[]> patterns = new LinkedHashMap<>();
        for (Map.Entry<String, AdaLoraLinear> e : layers.entrySet()) {
            AdaLoraLinear l = e.getValue();
            List<Variable> ps = l.adapterParameters(name);
            for (int i = 0; i < ps.size(); i++) {
                String k = e.getKey() + "." + PARAMS.get(i);
                Tensor ipt = state.get(k + ".exp_avg_ipt"), unc = state.get(k + ".exp_avg_unc");
                if (ipt == null && unc == null) continue;
                if (ipt == null || unc == null) throw new IllegalArgumentException("AdaLoRA allocator state: '" + k + "' has only one of exp_avg_ipt and exp_avg_unc");
                for (Tensor t : List.of(ipt, unc))
                    if (!Arrays.equals(t.shape(), ps.get(i).shape()))
                        throw new IllegalArgumentException("AdaLoRA allocator state: '" + k + "' has shape " + Arrays.toString(t.shape()) + ", the parameter "
                                + Arrays.toString(ps.get(i).shape()));
                newEma.put(ps.get(i), new float[][] {ipt.contiguous().toArray(), unc.contiguous().toArray()});
            }
            Tensor pat = state.get(e.getKey() + ".rank_pattern");
            if (pat != null) {
                int r = l.initRank(name);
                if (!Arrays.equals(pat.shape(), new int[] {r}))
                    throw new IllegalArgumentException("AdaLoRA allocator state: '" + e.getKey() + ".rank_pattern' has shape " + Arrays.toString(pat.shape())
                            + ", the layer's init_r is " + r);
                float[] f = pat.contiguous().toArray();
                boolean[] keep = new boolean[r];
                for (int i = 0; i < r; i++) {
                    if (f[i] != 0 && f[i] != 1) throw new IllegalArgumentException("AdaLoRA allocator state: '" + e.getKey() + ".rank_pattern' holds " + f[i] + ", not 0 or 1");
                    keep[i] = f[i] == 1;
                }
                patterns.put(l, keep);
            }
        }
        for (String k : state.keySet())
            if (!belongs(k))
                throw new IllegalArgumentException("AdaLoRA allocator state: '" + k + "' is not a state of adapter '" + name + "'");
        ema.clear();
        ema.putAll(newEma);
        patterns.forEach((l, keep) -> l.setPattern(name, keep));
    }

    private boolean belongs(String key) {
        for (String path : layers.keySet()) {
            if (key.equals(path + ".rank_pattern")) return true;
            for (String p : PARAMS) if (key.equals(path + "." + p + ".exp_avg_ipt") || key.equals(path + "." + p + ".exp_avg_unc")) return true;
        }
        return false;
    }

    /** Ī and Ū of every A, E, B from this step's values and gradients (a missing gradient counts as zero). */
    void updateImportance() {
        double b1 = cfg.beta1(), b2 = cfg.beta2();
        for (AdaLoraLinear l : layers.values())
            for (Variable p : l.adapterParameters(name)) {
                float[] v = p.data().contiguous().toArray();
                float[] g = p.grad() == null ? new float[v.length] : p.grad().contiguous().toArray();
                float[][] s = ema.computeIfAbsent(p, k -> new float[][] {new float[v.length], new float[v.length]});
                for (int i = 0; i < v.length; i++) {
                    float ipt = Math.abs(v[i] * g[i]);
                    s[0][i] = (float) (b1 * s[0][i] + (1 - b1) * ipt);
                    s[1][i] = (float) (b2 * s[1][i] + (1 - b2) * Math.abs(ipt - s[0][i]));
                }
            }
    }

    /** S_i per layer: s(E)_i + mean over row i of s(A) + mean over column i of s(B), s = Ī ⊙ Ū. */
    LinkedHashMap<String, double[]> tripletScores() {
        LinkedHashMap<String, double[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, AdaLoraLinear> e : layers.entrySet()) {
            AdaLoraLinear l = e.getValue();
            int r = l.a(name).shape()[0], in = l.inFeatures(), o = l.outFeatures();
            float[] sa = score(l.a(name)), se = score(l.e(name)), sb = score(l.b(name));
            double[] s = new double[r];
            for (int i = 0; i < r; i++) {
                double ma = 0, mb = 0;
                for (int j = 0; j < in; j++) ma += sa[i * in + j];
                for (int j = 0; j < o; j++) mb += sb[j * r + i];
                s[i] = se[i] + ma / in + mb / o;
            }
            out.put(e.getKey(), s);
        }
        return out;
    }

    private float[] score(Variable p) {
        float[][] s = ema.get(p);
        float[] out = new float[p.numel()];
        if (s != null) for (int i = 0; i < out.length; i++) out[i] = s[0][i] * s[1][i];
        return out;
    }

    /** Zeroes every E_i scoring ≤ the k-th smallest score (k = init budget − budget) and records the kept patterns. */
    void maskToBudget(int budget) {
        LinkedHashMap<String, double[]> scores = tripletScores();
        int k = initBudget - budget;
        double tau = Double.NEGATIVE_INFINITY; // k ≤ 0: nothing to prune (PEFT's kthvalue would throw)
        if (k > 0) {
            double[] all = scores.values().stream().flatMapToDouble(Arrays::stream).sorted().toArray();
            tau = all[Math.min(k, all.length) - 1];
        }
        for (Map.Entry<String, double[]> e : scores.entrySet()) {
            double[] s = e.getValue();
            boolean[] keep = new boolean[s.length];
            for (int i = 0; i < s.length; i++) keep[i] = !(s[i] <= tau);
            AdaLoraLinear l = layers.get(e.getKey());
            l.setPattern(name, keep);
            zeroMasked(l, keep);
        }
    }

    /** After the final mask: E_i = 0 wherever the recorded pattern is false. */
    void maskUsingPattern() {
        for (AdaLoraLinear l : layers.values()) {
            boolean[] keep = l.pattern(name);
            if (keep != null) zeroMasked(l, keep);
        }
    }

    private void zeroMasked(AdaLoraLinear l, boolean[] keep) {
        try (var g = Grad.disabled()) {
            Tensor e = l.e(name).data();
            for (int i = 0; i < keep.length; i++) if (!keep[i]) e.set(0f, i, 0);
        }
    }

    /** The kept rank of each layer now, by path (init_r where nothing was pruned yet). */
    public LinkedHashMap<String, Integer> ranks() {
        LinkedHashMap<String, Integer> out = new LinkedHashMap<>();
        for (Map.Entry<String, AdaLoraLinear> e : layers.entrySet()) {
            boolean[] keep = e.getValue().pattern(name);
            int n = e.getValue().a(name).shape()[0];
            if (keep != null) { n = 0; for (boolean x : keep) if (x) n++; }
            out.put(e.getKey(), n);
        }
        return out;
    }

    /**
     * orth_reg_weight · R with R = (1/N) Σ ‖C − I‖_F over every A (C = A·Aᵀ) and B (C = Bᵀ·B), N the number of such
     * matrices, the Frobenius norm not squared (PEFT's code, not the paper's squared form); add it to the loss.
     */
    public Variable orthogonalLoss() {
        List<Variable> terms = new ArrayList<>();
        for (AdaLoraLinear l : layers.values()) {
            Variable a = l.a(name), b = l.b(name);
            int r = a.shape()[0];
            if (r == 0) continue;
            Tensor eye = Tensor.zeros(r, r);
            for (int i = 0; i < r; i++) eye.set(1f, i, i);
            terms.add(a.matmul(a.t()).sub(eye).square().sum().sqrt());
            terms.add(b.t().matmul(b).sub(eye).square().sum().sqrt());
        }
        Variable sum = terms.get(0);
        for (int i = 1; i < terms.size(); i++) sum = sum.add(terms.get(i));
        return sum.mul((float) (cfg.orthRegWeight() / terms.size()));
    }
}
