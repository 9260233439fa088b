package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Linear} (child {@code base_layer}, frozen) plus named adapters of one kind, as PEFT's tuner layers:
 * {@code y = W₀x + b + Σ_active Δ_name(x)}. Adapters can be switched, disabled, merged into W₀ and unmerged
 * ({@link AdapterLayer}'s bookkeeping); a method adds its Δ(x) ({@link #delta}) and optionally its weight form.
 * The base may itself be another wrapper (a VeRA adapter beside a LoRA one on the same layer); the innermost
 * {@link Linear} is {@link #linear()}, whose weight [out, in] merges write into.
 */
public abstract class AdapterLinear extends AdapterLayer {
    /** The wrapped module: the Linear itself or an inner wrapper. */
    Module base;
    private final Linear linear;
    final int in, out;

    AdapterLinear(Module base) {
        this.base = registerModule("base_layer", base);
        this.linear = innermost(base);
        this.in = linear.inFeatures;
        this.out = linear.outFeatures;
    }

    /** Puts {@code newBase} (same innermost Linear) under this wrapper. */
    void rebase(Module newBase) {
        if (innermost(newBase) != linear) throw new IllegalArgumentException("rebase: a different layer");
        replaceChild("base_layer", newBase);
        base = newBase;
    }

    static Linear innermost(Module m) {
        if (m instanceof Linear l) return l;
        if (m instanceof AdapterLinear a) return a.linear;
        throw new IllegalArgumentException("adapters wrap Linear layers, not " + m.getClass().getSimpleName());
    }

    /** The innermost plain layer (its weight is W₀, [out, in]). */
    public Linear linear() {
        return linear;
    }

    public int inFeatures() {
        return in;
    }

    public int outFeatures() {
        return out;
    }

    @Override
    Variable baseWeight() {
        return linear.weight;
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + in + ", out_features=" + out + ", adapters=" + adapterNames();
    }

    @Override
    String describe() {
        return "this layer (" + in + " → " + out + ")";
    }

    @Override
    public Variable forward(Variable x) {
        // Merged (or disabled) all the way down: exactly the bare layer's product on W₀, no adapter code at all.
        if (passThrough()) return F.linear(x, linear.weight, linear.bias);
        // Adapters that are cheaper as a weight update this step are folded into W₀ + ΔW(params) (on the bare
        // layer only); the others add their Δ(x).
        Variable w = linear.weight;
        List<String> folded = new ArrayList<>();
        if (!isDisabled() && !(base instanceof AdapterLinear)) {
            long tokens = in == 0 ? 0 : x.numel() / in;
            for (String n : active()) {
                if (isMerged(n)) continue;
                Variable dw = weightDelta(n, tokens);
                if (dw != null) {
                    w = w.add(dw);
                    folded.add(n);
                }
            }
        }
        Variable y = base instanceof AdapterLinear a ? a.forward(x) : F.linear(x, w, linear.bias);
        if (isDisabled()) return y;
        for (String n : active()) if (!isMerged(n) && !folded.contains(n)) y = y.add(delta(n, x));
        return y;
    }

    /**
     * ΔW(params) [out, in] as a differentiable variable when adding it to W₀ for this forward is cheaper than
     * {@link #delta} over {@code tokens} rows (and means the same), else null (the default).
     */
    Variable weightDelta(String name, long tokens) {
        return null;
    }

    /**
     * Whether a forward is the base layer alone: this wrapper is disabled or each of its active adapters is
     * merged, and so is every wrapper under it. Then {@link #forward} computes {@code F.linear(x, W, b)} on the
     * innermost Linear and nothing else — the same operation, and the same bits, as the bare layer.
     */
    public boolean passThrough() {
        if (!isDisabled()) for (String n : active()) if (!isMerged(n)) return false;
        return !(base instanceof AdapterLinear a) || a.passThrough();
    }

    /** The adapter's contribution Δ(x) [.., out] for input x [.., in]. */
    abstract Variable delta(String name, Variable x);
}
