package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * FLoRA (Si et al., arXiv 2405.14739, ICLR 2025 "Maintaining Structural Integrity in Parameter Spaces for PEFT") in
 * its 2-D form on a Linear / GPT-2 Conv1D, as the authors' {@code CR_MR/peft/src/peft/tuners/flora.py}: per adapter
 * A (r × in) and B (out × r) Kaiming-uniform (a = √5, as {@code nn.Linear}), a dense r × r core G (their
 * {@code lora_E}) initialised to zero, all three trainable, and
 * <pre>  y = W₀x + b + dropout(x)·Aᵀ·Gᵀ·Bᵀ · α/r</pre>
 * so ΔW = B·G·A·α/r is zero at init and only G gets a task gradient at the first step. Merge adds ΔW, unmerge
 * subtracts it. Not Hao et al.'s "Flora" (a gradient-compressing optimiser). Differences from the reference: none
 * in the 2-D math; the N-dimensional (conv) Tucker form is not implemented.
 *
 * <p>Files: keys {@code .lora_A.weight} (r, in), {@code .lora_E.weight} (r, r), {@code .lora_B.weight} (out, r) as
 * the CR_MR fork saves them, with {@code peft_type: "FLORA"} in the config. Hugging Face PEFT has no FLoRA and
 * cannot load such a directory; vectorgrad reads it back.
 */
public final class FloraLinear extends AdapterLinear {
    private NamedDict loraA, loraE, loraB;
    private final Map<String, Float> scaling = new HashMap<>();
    private final Map<String, Float> dropout = new HashMap<>();
    private final Rng dropoutRng;

    /** Wraps {@code base} (a Linear or another adapter wrapper) with no adapter yet; freezes it. */
    public FloraLinear(Module base, long dropoutSeed) {
        super(base);
        base.requiresGrad(false);
        loraA = registerModule("lora_A", new NamedDict());
        loraE = registerModule("lora_E", new NamedDict());
        loraB = registerModule("lora_B", new NamedDict());
        dropoutRng = new Rng(dropoutSeed);
    }

    /** Adds adapter {@code name}: A then B Kaiming-uniform (a = √5) from {@code rng}, G zeros, scaling α/r. */
    public FloraLinear addAdapter(String name, int r, double alpha, double dropoutP, Rng rng) {
        if (r <= 0) throw new IllegalArgumentException("FLoRA: r must be positive, got " + r + " (adapter '" + name + "')");
        if (hasAdapter(name)) throw new IllegalArgumentException("FLoRA: adapter '" + name + "' already exists on this layer");
        if (!(dropoutP >= 0 && dropoutP < 1)) throw new IllegalArgumentException("FLoRA: dropout must be in [0, 1), got " + dropoutP);
        Linear a = new Linear(in, r, false, rng);
        Linear e = new Linear(r, r, false, rng);
        Init.zeros(e.weight.data());
        Linear b = new Linear(r, out, false, rng);
        loraA.putModule(name, a);
        loraE.putModule(name, e);
        loraB.putModule(name, b);
        scaling.put(name, (float) (alpha / r));
        dropout.put(name, (float) dropoutP);
        added(name);
        return this;
    }

    private Variable w(NamedDict d, String name) {
        Module m = d.module(name);
        if (m == null) throw new IllegalArgumentException("FLoRA: no adapter '" + name + "' on this layer");
        return ((Linear) m).weight;
    }

    /** A (r × in). */
    public Variable a(String name) { return w(loraA, name); }

    /** The core G (r × r). */
    public Variable core(String name) { return w(loraE, name); }

    /** B (out × r). */
    public Variable b(String name) { return w(loraB, name); }

    /** α / r. */
    public float scaling(String name) {
        a(name);
        return scaling.get(name);
    }

    @Override
    Variable delta(String name, Variable x) {
        float p = dropout.get(name);
        Variable xd = p > 0 ? F.dropout(x, p, isTraining(), dropoutRng) : x;
        return delta(xd, a(name), core(name), b(name), scaling.get(name));
    }

    /** Δy = x_d·Aᵀ·Gᵀ·Bᵀ·s [.., out] for x_d [.., in]: three products of width r, gradients from the composed ops. */
    static Variable delta(Variable xd, Variable a, Variable g, Variable b, float s) {
        return F.linear(F.linear(F.linear(xd, a, null), g, null), b, null).mul(s);
    }

    /** ΔW = B·G·A·α/r [out, in]. */
    @Override
    public Tensor deltaWeight(String name) {
        try (var g = Grad.disabled()) {
            return b(name).data().matmul(core(name).data().matmul(a(name).data())).mul(scaling.get(name));
        }
    }

    @Override
    public List<Variable> adapterParameters(String name) {
        return List.of(a(name), core(name), b(name));
    }

    /** The shapes a file holds for a rank-r adapter on an in → out layer, by key suffix (as {@link #fileTensors}). */
    static LinkedHashMap<String, int[]> fileShapes(int r, int in, int out) {
        LinkedHashMap<String, int[]> m = new LinkedHashMap<>();
        m.put(".lora_A.weight", new int[] {r, in});
        m.put(".lora_E.weight", new int[] {r, r});
        m.put(".lora_B.weight", new int[] {out, r});
        return m;
    }

    /** The CR_MR fork's keys: {@code .lora_A.weight}, {@code .lora_E.weight} (the core), {@code .lora_B.weight}. */
    @Override
    LinkedHashMap<String, Variable> fileTensors(String name) {
        LinkedHashMap<String, Variable> m = new LinkedHashMap<>();
        m.put(".lora_A.weight", a(name));
        m.put(".lora_E.weight", core(name));
        m.put(".lora_B.weight", b(name));
        return m;
    }

    @Override
    void removeParameters(String name) {
        loraA = withoutEntry("lora_A", loraA, name);
        loraE = withoutEntry("lora_E", loraE, name);
        loraB = withoutEntry("lora_B", loraB, name);
        scaling.remove(name);
        dropout.remove(name);
    }
}
