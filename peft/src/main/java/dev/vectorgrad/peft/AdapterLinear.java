package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A {@link Linear} (child {@code base_layer}, frozen) plus named adapters of one kind, as PEFT's tuner layers:
 * {@code y = W₀x + b + Σ_active Δ_name(x)}. Adapters can be switched, disabled, merged into W₀ and unmerged.
 * The base may itself be another wrapper (a VeRA adapter beside a LoRA one on the same layer); the innermost
 * {@link Linear} is {@link #linear()}, whose weight [out, in] merges write into.
 */
public abstract class AdapterLinear extends Module {
    /** The wrapped module: the Linear itself or an inner wrapper. */
    Module base;
    private final Linear linear;
    final int in, out;
    private final LinkedHashSet<String> names = new LinkedHashSet<>();
    private final LinkedHashSet<String> active = new LinkedHashSet<>();
    private final List<String> merged = new ArrayList<>();
    private boolean disabled;

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

    /** The adapter names on this layer, in the order they were added. */
    public Set<String> adapterNames() {
        return Set.copyOf(names);
    }

    public boolean hasAdapter(String name) {
        return names.contains(name);
    }

    void added(String name) {
        names.add(name);
        if (active.isEmpty()) active.add(name);
    }

    /** Makes exactly {@code activeNames} (those present on this layer) the active adapters. */
    public void setActive(Set<String> activeNames) {
        active.clear();
        for (String n : names) if (activeNames.contains(n)) active.add(n);
    }

    public Set<String> activeAdapters() {
        return Set.copyOf(active);
    }

    /** Disables (true) or re-enables every adapter of this layer; merged adapters are unmerged first. */
    public void setDisabled(boolean off) {
        if (off && !merged.isEmpty()) unmerge();
        disabled = off;
    }

    public boolean isDisabled() {
        return disabled;
    }

    public boolean isMerged() {
        return !merged.isEmpty();
    }

    @Override
    public Variable forward(Variable x) {
        Variable y = base instanceof AdapterLinear a ? a.forward(x) : F.linear(x, linear.weight, linear.bias);
        if (disabled) return y;
        for (String n : active) if (!merged.contains(n)) y = y.add(delta(n, x));
        return y;
    }

    /** The adapter's contribution Δ(x) [.., out] for input x [.., in]. */
    abstract Variable delta(String name, Variable x);

    /** ΔW [out, in] of the adapter (what a merge adds to W₀). */
    public abstract Tensor deltaWeight(String name);

    /** Removes the adapter's parameters from this layer (it must not be merged). */
    abstract void removeParameters(String name);

    /** Removes an adapter (unmerging it first if needed). */
    public void deleteAdapter(String name) {
        if (!names.contains(name)) throw new IllegalArgumentException("no adapter '" + name + "' on this layer");
        if (merged.contains(name)) unmerge();
        removeParameters(name);
        names.remove(name);
        active.remove(name);
    }

    /**
     * Folds every active adapter not yet merged into W₀. With {@code safe}, each sum is computed on a copy and
     * checked first: a non-finite value anywhere is an error and W₀ is left as it was.
     */
    public void merge(boolean safe) {
        try (var g = Grad.disabled()) {
            Tensor w = linear.weight.data();
            for (String n : active) {
                if (merged.contains(n)) continue;
                Tensor dw = deltaWeight(n);
                if (safe) {
                    Tensor sum = w.add(dw);
                    float[] s = sum.contiguous().storage();
                    for (float v : s)
                        if (!Float.isFinite(v))
                            throw new IllegalStateException("safe merge: merging adapter '" + n + "' would write non-finite values into the base weight; nothing merged for it");
                    w.copyFrom(sum);
                } else {
                    w.addInPlace(dw);
                }
                merged.add(n);
            }
        }
    }

    /** Subtracts the merged adapters from W₀ again, last merged first. */
    public void unmerge() {
        try (var g = Grad.disabled()) {
            Tensor w = linear.weight.data();
            for (int i = merged.size() - 1; i >= 0; i--) w.copyFrom(w.sub(deltaWeight(merged.get(i))));
            merged.clear();
        }
    }

    /** The adapter's trainable (or trainable-to-be) parameters. */
    public abstract List<Variable> adapterParameters(String name);
}
