package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Linear} (child {@code base_layer}, frozen) plus named adapters of one kind, as PEFT's tuner layers:
 * {@code y = W₀x + b + Σ_active Δ_name(x)}. Adapters can be switched, disabled, merged into W₀ and unmerged
 * ({@link AdapterLayer}'s bookkeeping); a method adds its Δ(x) ({@link #delta}) and optionally its weight form.
 * The base may itself be another wrapper (a VeRA adapter beside a LoRA one on the same layer); the innermost
 * {@link Linear} is {@link #linear()}, whose weight [out, in] merges write into.
 *
 * <p>A wrapper may be restricted to an {@link OutputSlice} (e.g. {@code c_attn.q}, rows [0, n_embd) of GPT-2's
 * fused q/k/v projection): then {@link #outFeatures()} is the slice's size, each adapter's Δ(x) has that many
 * outputs and is added into that block of the layer's output only ({@link SliceAdd}), and a merge writes only
 * those rows of W₀. Slices of one layer are separate wrappers in its chain (q over v over the Linear), so they
 * share all the bookkeeping.
 */
public abstract class AdapterLinear extends AdapterLayer {
    /** The wrapped module: the Linear itself or an inner wrapper. */
    Module base;
    private final Linear linear;
    /** in: the layer's inputs; out: its outputs, or the slice's size when {@link #slice} is set. */
    final int in, out;
    /** The block of outputs this wrapper's adapters act on, or null for all of them. */
    private final OutputSlice slice;

    AdapterLinear(Module base) {
        this(base, null);
    }

    /** Wraps {@code base}; its adapters act on {@code slice} of the outputs only (null: on all of them). */
    AdapterLinear(Module base, OutputSlice slice) {
        this.base = registerModule("base_layer", base);
        this.linear = innermost(base);
        this.in = linear.inFeatures;
        if (slice != null && slice.end() > linear.outFeatures)
            throw new IllegalArgumentException("output slice '" + slice.name() + "' [" + slice.offset() + ", " + slice.end() + ") exceeds the layer's "
                    + linear.outFeatures + " outputs");
        this.slice = slice;
        this.out = slice == null ? linear.outFeatures : slice.size();
    }

    /** The block of outputs this wrapper's adapters act on, or null when they act on all of them. */
    public OutputSlice outputSlice() {
        return slice;
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

    /**
     * The rows of W₀ that this wrapper's adapters act on, as a view of the layer's weight: all of it [out, in], or
     * the slice's [size, in] (W_q for {@code c_attn.q}) — the W that {@link #deltaWeight} is added to.
     */
    public Tensor baseWeightSlice() {
        Tensor w = linear.weight.data();
        return slice == null ? w : w.narrow(0, slice.offset(), slice.size());
    }

    /** The adapters' output width: the layer's outputs, or the slice's size. */
    public int outFeatures() {
        return out;
    }

    @Override
    Variable baseWeight() {
        return linear.weight;
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + in + ", out_features=" + out + (slice == null ? "" : ", output_slice=" + slice.name()) + ", adapters=" + adapterNames();
    }

    @Override
    String describe() {
        return "this layer (" + in + " → " + (slice == null ? out : linear.outFeatures + ", output slice '" + slice.name() + "' [" + slice.offset() + ", " + slice.end() + ")") + ")";
    }

    /** With a slice, ΔW [size, in] goes into rows [offset, end) of W [out, in] only; the other rows keep their bits. */
    @Override
    Tensor mergeInto(String name, Tensor w) {
        if (slice == null) return super.mergeInto(name, w);
        Tensor m = w.copy();
        Tensor rows = m.narrow(0, slice.offset(), slice.size());
        rows.copyFrom(rows.add(deltaWeight(name)));
        return m;
    }

    @Override
    Tensor unmergeFrom(String name, Tensor w) {
        if (slice == null) return super.unmergeFrom(name, w);
        Tensor m = w.copy();
        Tensor rows = m.narrow(0, slice.offset(), slice.size());
        rows.copyFrom(rows.sub(deltaWeight(name)));
        return m;
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
                    w = slice == null ? w.add(dw) : SliceAdd.apply(w, dw, 0, slice.offset());
                    folded.add(n);
                }
            }
        }
        Variable y = base instanceof AdapterLinear a ? a.forward(x) : F.linear(x, w, linear.bias);
        if (isDisabled()) return y;
        for (String n : active())
            if (!isMerged(n) && !folded.contains(n)) y = slice == null ? y.add(delta(n, x)) : SliceAdd.apply(y, delta(n, x), -1, slice.offset());
        return y;
    }

    /**
     * ΔW(params) [out, in] ([size, in] with a slice) as a differentiable variable when adding it to W₀ for this forward is cheaper than
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
