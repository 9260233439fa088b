package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * DoRA (Liu et al., ICML 2024, arXiv 2402.09353) on a Linear / GPT-2 Conv1D, as HF PEFT's {@code use_dora=True}
 * ({@code tuners/lora/dora.py}, {@code DoraLinearLayer}): LoRA's A, B, scaling s and dropout, plus a trainable
 * magnitude m (out) per adapter, initialised after A and B to the row norms ‖W + s·B·A‖ (so the adapter starts as a
 * no-op). With n = ‖W + s·B·A‖_row computed without gradient (the paper's §4.3: the norm is a constant in backward)
 * and g = m / n, the forward is PEFT's dropout form
 * <pre>  y = W·x + b + (g − 1) ⊙ (W·x_d) + g ⊙ (s·B·A·x_d),   x_d = dropout(x)</pre>
 * which without dropout is x·[g ⊙ (W + s·B·A)]ᵀ + b. Gradients then follow from the composed ops:
 * ∂y/∂m = (W·x_d + s·B·A·x_d) / n, and A, B get LoRA's gradient times g per output.
 *
 * <p>Merge writes W' = g ⊙ (W + s·B·A) with n computed from the weight being merged into and cached per adapter;
 * unmerge inverts it with the cached n: W = W' / g − s·B·A (n cannot be recomputed from W'). The merge is not
 * additive, so with several DoRA adapters order matters (as in PEFT); and the (g − 1)·(W·x) term rescales only the
 * innermost weight's output, so only one active DoRA adapter per layer has PEFT's meaning.
 *
 * <p>File keys: LoRA's {@code .lora_A.weight}, {@code .lora_B.weight} and {@code .lora_magnitude_vector} (out),
 * PEFT's form since it renamed the parameter {@code lora_magnitude_vector.<adapter>.weight}. Adapters added without
 * a magnitude ({@link #addMagnitude} not called) behave as plain LoRA on this layer.
 */
public final class DoraLinear extends LoraLinear {
    /** The magnitudes and, per merged adapter, n = ‖W + s·B·A‖_row at merge time, for unmerge. */
    private final DoraMagnitudes magnitudes;

    /** Wraps {@code base} (a Linear or another adapter wrapper); freezes it. */
    public DoraLinear(Module base, long dropoutSeed) {
        super(base, dropoutSeed);
        magnitudes = new DoraMagnitudes(this, registerModule(DoraMagnitudes.CHILD, new NamedDict()), "layer");
    }

    /** Makes adapter {@code name} (already added, A and B initialised) a DoRA adapter: m = ‖W + s·B·A‖_row. */
    public void addMagnitude(String name) {
        a(name);
        magnitudes.add(name, () -> rowNorms(linear().weight.data().add(loraWeight(name))));
    }

    /** Whether adapter {@code name} is a DoRA adapter on this layer. */
    public boolean isDora(String name) {
        return magnitudes.has(name);
    }

    /** The magnitude m (out) of DoRA adapter {@code name}. */
    public Variable magnitude(String name) {
        return magnitudes.get(name);
    }

    /** s·B·A [out, in], no gradient. */
    private Tensor loraWeight(String name) {
        try (var g = Grad.disabled()) {
            return b(name).data().matmul(a(name).data()).mul(scaling(name));
        }
    }

    /** The L2 norm of each row of {@code w} [out, in] → [out]. */
    static Tensor rowNorms(Tensor w) {
        return w.square().sum(1, false).sqrt();
    }

    @Override
    Variable delta(String name, Variable x) {
        if (!isDora(name)) return super.delta(name, x);
        return delta(dropped(name, x), linear().weight, a(name), b(name), magnitude(name), scaling(name));
    }

    /**
     * DoRA's Δ(x) [.., out] for x_d [.., in], W [out, in], A [r, in], B [out, r], m [out]:
     * (g − 1) ⊙ (x_d·Wᵀ) + g ⊙ (s · x_d·Aᵀ·Bᵀ), g = m / n, n = ‖W + s·B·A‖_row taken from the values as a
     * constant: gradients reach m, A, B (and x_d, W) through the two products and g, never through n.
     */
    static Variable delta(Variable xd, Variable w, Variable a, Variable b, Variable m, float s) {
        Tensor n;
        try (var g = Grad.disabled()) {
            n = rowNorms(w.data().add(b.data().matmul(a.data()).mul(s)));
        }
        Variable g = m.div(n);
        Variable base = F.linear(xd, w, null);
        Variable lora = F.linear(F.linear(xd, a, null), b, null).mul(s);
        return base.mul(g.sub(1f)).add(lora.mul(g));
    }

    /** The effective ΔW = g ⊙ (W + s·B·A) − W on the current base weight (what a merge adds now). */
    @Override
    public Tensor deltaWeight(String name) {
        if (!isDora(name)) return super.deltaWeight(name);
        try (var g = Grad.disabled()) {
            Tensor w = linear().weight.data();
            return mergeInto(name, w).sub(w);
        }
    }

    /** W' = (m / n) ⊙ (W + s·B·A), n = ‖W + s·B·A‖_row of the {@code w} given, cached for unmerge. */
    @Override
    Tensor mergeInto(String name, Tensor w) {
        if (!isDora(name)) return super.mergeInto(name, w);
        Tensor sum = w.add(loraWeight(name));
        Tensor n = rowNorms(sum);
        magnitudes.cacheNorm(name, n);
        Tensor g = magnitude(name).data().div(n);
        return sum.mul(g.reshape(g.numel(), 1));
    }

    /** W = W' / (m / n) − s·B·A with the n cached at merge. */
    @Override
    Tensor unmergeFrom(String name, Tensor w) {
        if (!isDora(name)) return super.unmergeFrom(name, w);
        Tensor n = magnitudes.takeNorm(name);
        Tensor g = magnitude(name).data().div(n);
        return w.div(g.reshape(g.numel(), 1)).sub(loraWeight(name));
    }

    @Override
    void removeParameters(String name) {
        super.removeParameters(name);
        magnitudes.remove(name);
    }

    @Override
    public List<Variable> adapterParameters(String name) {
        return magnitudes.withMagnitude(super.adapterParameters(name), name);
    }

    /** LoRA's file shapes plus the magnitude (out). */
    static LinkedHashMap<String, int[]> fileShapes(int r, int in, int out) {
        LinkedHashMap<String, int[]> m = LoraLinear.fileShapes(r, in, out);
        m.put(MAGNITUDE_KEY, new int[] {out});
        return m;
    }

    /** LoRA's keys plus {@code .lora_magnitude_vector} (out), no {@code .weight}: PEFT's saved form. */
    @Override
    LinkedHashMap<String, Variable> fileTensors(String name) {
        return magnitudes.withMagnitude(super.fileTensors(name), name);
    }

    /** The file key suffix of the magnitude. */
    static final String MAGNITUDE_KEY = "." + DoraMagnitudes.CHILD;
}
