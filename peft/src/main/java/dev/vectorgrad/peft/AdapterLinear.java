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
        // Merged (or disabled) all the way down: exactly the bare layer's product on W₀, no adapter code at all.
        if (passThrough()) return F.linear(x, linear.weight, linear.bias);
        // Adapters that are cheaper as a weight update this step are folded into W₀ + ΔW(params) (on the bare
        // layer only); the others add their Δ(x).
        Variable w = linear.weight;
        List<String> folded = new ArrayList<>();
        if (!disabled && !(base instanceof AdapterLinear)) {
            long tokens = in == 0 ? 0 : x.numel() / in;
            for (String n : active) {
                if (merged.contains(n)) continue;
                Variable dw = weightDelta(n, tokens);
                if (dw != null) {
                    w = w.add(dw);
                    folded.add(n);
                }
            }
        }
        Variable y = base instanceof AdapterLinear a ? a.forward(x) : F.linear(x, w, linear.bias);
        if (disabled) return y;
        for (String n : active) if (!merged.contains(n) && !folded.contains(n)) y = y.add(delta(n, x));
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
        if (!disabled) for (String n : active) if (!merged.contains(n)) return false;
        return !(base instanceof AdapterLinear a) || a.passThrough();
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
     * Folds every active adapter not yet merged into W₀. With {@code safe}, the sum is computed on a copy and
     * checked first: a non-finite value anywhere is an error and W₀ is left as it was. (On a whole model use
     * {@link PeftModel#merge(boolean)}, which checks every layer before it writes any.)
     */
    public void merge(boolean safe) {
        List<String> pending = pendingMerges();
        if (pending.isEmpty()) return;
        Tensor w = applyPending(linear.weight.data(), pending, safe, "this layer (" + in + " → " + out + ")");
        commitMerge(w, pending);
    }

    /** The active adapters not merged yet, in the order a merge folds them in. */
    List<String> pendingMerges() {
        List<String> out = new ArrayList<>();
        for (String n : active) if (!merged.contains(n)) out.add(n);
        return out;
    }

    /**
     * {@code w + ΔW_n} for each of {@code names} in turn, as a new tensor ({@code w} is not written). With
     * {@code check}, every intermediate sum must be finite, else an {@link IllegalStateException} names the
     * module ({@code where}), the adapter and the first bad element.
     */
    Tensor applyPending(Tensor w, List<String> names, boolean check, String where) {
        try (var g = Grad.disabled()) {
            for (String n : names) {
                w = w.add(deltaWeight(n));
                if (check) requireFinite(w, "adapter '" + n + "' on module " + where);
            }
            return w;
        }
    }

    /** Writes {@code w} into W₀ and records {@code names} as merged (they must be this layer's pending ones). */
    void commitMerge(Tensor w, List<String> names) {
        try (var g = Grad.disabled()) {
            linear.weight.data().copyFrom(w);
        }
        markMerged(names);
    }

    /** Records {@code names} as merged, their ΔW having been written into W₀ by the caller. */
    void markMerged(List<String> names) {
        merged.addAll(names);
    }

    /** Throws, naming {@code what} and the first non-finite element, unless every value of {@code t} is finite. */
    static void requireFinite(Tensor t, String what) {
        Tensor c = t.contiguous();
        float[] s = c.storage();
        int off = c.offset(), n = c.numel();
        for (int i = 0; i < n; i++)
            if (!Float.isFinite(s[off + i])) {
                int[] shape = t.shape();
                String at = shape.length == 2 ? "[" + i / shape[1] + ", " + i % shape[1] + "]" : "[" + i + "]";
                throw new IllegalStateException("safe merge refused: " + what + " would write a non-finite value (" + s[off + i] + ") at " + at
                        + " of the base weight; nothing was merged and every weight is unchanged");
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
