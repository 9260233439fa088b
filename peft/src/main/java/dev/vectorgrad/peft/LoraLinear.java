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
 * LoRA on a {@link Linear}: {@code y = W₀x + b + scaling·B(A(dropout(x)))} with A (r × in) Kaiming-uniform
 * a = √5 and B (out × r) zeros, scaling α/r (α/√r with rsLoRA). Parameters are named as PEFT names them:
 * {@code lora_A.<adapter>.weight}, {@code lora_B.<adapter>.weight}; the base layer is frozen.
 */
public class LoraLinear extends AdapterLinear {
    private NamedDict loraA, loraB;
    private final Map<String, Float> scaling = new HashMap<>();
    private final Map<String, Float> dropout = new HashMap<>();
    /** {A₀, B₀} of adapters whose init rewrote W₀ (PiSSA, MiLoRA): W₀ now holds W − scaling·B₀A₀. */
    private final Map<String, Tensor[]> initial = new HashMap<>();
    private final Rng dropoutRng;

    /** Wraps {@code base} (a Linear or another adapter wrapper) with no adapter yet; freezes it. */
    public LoraLinear(Module base, long dropoutSeed) {
        super(base);
        base.requiresGrad(false);
        this.loraA = registerModule("lora_A", new NamedDict());
        this.loraB = registerModule("lora_B", new NamedDict());
        this.dropoutRng = new Rng(dropoutSeed);
    }

    public LoraLinear(Module base) {
        this(base, 0);
    }

    /** Adds adapter {@code name} with PEFT's default init (A Kaiming-uniform a = √5 from {@code rng}, B zeros). */
    public LoraLinear addAdapter(String name, int r, double alpha, boolean rsLora, double dropoutP, Rng rng) {
        if (r <= 0) throw new IllegalArgumentException("LoRA: r must be positive, got " + r + " (adapter '" + name + "')");
        if (hasAdapter(name)) throw new IllegalArgumentException("LoRA: adapter '" + name + "' already exists on this layer");
        if (!(dropoutP >= 0 && dropoutP < 1)) throw new IllegalArgumentException("LoRA: dropout must be in [0, 1), got " + dropoutP);
        Linear a = new Linear(in, r, false, rng);
        Linear b = new Linear(r, out, false, rng);
        Init.zeros(b.weight.data());
        loraA.putModule(name, a);
        loraB.putModule(name, b);
        scaling.put(name, (float) (rsLora ? alpha / Math.sqrt(r) : alpha / r));
        dropout.put(name, (float) dropoutP);
        added(name);
        return this;
    }

    /** A (r × in) of the adapter. */
    public Variable a(String name) {
        return ((Linear) require(name, loraA)).weight;
    }

    /** B (out × r) of the adapter. */
    public Variable b(String name) {
        return ((Linear) require(name, loraB)).weight;
    }

    public int rank(String name) {
        return a(name).shape()[0];
    }

    public float scaling(String name) {
        require(name, loraA);
        return scaling.get(name);
    }

    /** Sets the scaling (α/r) directly, e.g. 1 for an exported VeRA adapter. */
    public void setScaling(String name, float s) {
        require(name, loraA);
        scaling.put(name, s);
    }

    /**
     * Records that the adapter's init replaced W₀ by {@code W₀ − scaling·b0·a0} (PiSSA, MiLoRA); the saved file
     * then subtracts that part again ({@link PeftFiles#save}), so that it reproduces the model on the original W₀.
     */
    void setInitialFactors(String name, Tensor a0, Tensor b0) {
        require(name, loraA);
        initial.put(name, new Tensor[] {a0.copy(), b0.copy()});
    }

    /** {A₀ (r × in), B₀ (out × r)} when the adapter's init rewrote the base weight, else null. */
    Tensor[] initialFactors(String name) {
        require(name, loraA);
        return initial.get(name);
    }

    private Module require(String name, NamedDict d) {
        Module m = d.module(name);
        if (m == null) throw new IllegalArgumentException("LoRA: no adapter '" + name + "' on this layer");
        return m;
    }

    /** The adapter path's input: dropout(x) with the adapter's rate while training, else x itself. */
    final Variable dropped(String name, Variable x) {
        float p = dropout.get(name);
        return p > 0 ? F.dropout(x, p, isTraining(), dropoutRng) : x;
    }

    @Override
    Variable delta(String name, Variable x) {
        Variable xd = dropped(name, x);
        Variable h = F.linear(F.linear(xd, a(name), null), b(name), null);
        float s = scaling.get(name);
        return s == 1f ? h : h.mul(s);
    }

    @Override
    public Tensor deltaWeight(String name) {
        try (var g = Grad.disabled()) {
            return b(name).data().matmul(a(name).data()).mul(scaling.get(name));
        }
    }

    @Override
    void removeParameters(String name) {
        loraA = withoutEntry("lora_A", loraA, name);
        loraB = withoutEntry("lora_B", loraB, name);
        scaling.remove(name);
        dropout.remove(name);
        initial.remove(name);
    }

    @Override
    public List<Variable> adapterParameters(String name) {
        return List.of(a(name), b(name));
    }

    /** The shapes a file holds for a rank-r adapter on an in → out layer, by key suffix (as {@link #fileTensors}). */
    static LinkedHashMap<String, int[]> fileShapes(int r, int in, int out) {
        LinkedHashMap<String, int[]> m = new LinkedHashMap<>();
        m.put(".lora_A.weight", new int[] {r, in});
        m.put(".lora_B.weight", new int[] {out, r});
        return m;
    }

    /** PEFT's keys: {@code .lora_A.weight} (r, in), {@code .lora_B.weight} (out, r). */
    @Override
    LinkedHashMap<String, Variable> fileTensors(String name) {
        LinkedHashMap<String, Variable> m = new LinkedHashMap<>();
        m.put(".lora_A.weight", a(name));
        m.put(".lora_B.weight", b(name));
        return m;
    }
}
