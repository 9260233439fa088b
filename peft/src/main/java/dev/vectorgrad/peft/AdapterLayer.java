package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The bookkeeping every adapter layer shares, in one place (PEFT's {@code BaseTunerLayer}): which adapters a
 * layer has, which are active, which are merged into the base weight and in what order, disabling, safe merge,
 * unmerge and delete. A method's layer class supplies only its own part: its parameters
 * ({@link #adapterParameters}), their file keys ({@link #fileTensors}), its delta weight ({@link #deltaWeight})
 * and, where a merge is not a plain addition (DoRA), {@link #mergeInto} / {@link #unmergeFrom}.
 */
public abstract class AdapterLayer extends Module {
    private final LinkedHashSet<String> names = new LinkedHashSet<>();
    private final LinkedHashSet<String> active = new LinkedHashSet<>();
    private final List<String> merged = new ArrayList<>();
    private boolean disabled;

    /** The base weight that merges write into ([out, in] for a Linear, [num, dim] for an Embedding). */
    abstract Variable baseWeight();

    /** The adapter names on this layer, in the order they were added. */
    public Set<String> adapterNames() {
        return Set.copyOf(names);
    }

    public boolean hasAdapter(String name) {
        return names.contains(name);
    }

    /**
     * Replaces child {@code child} (a per-adapter dict of this layer) by a copy without {@code name}'s entry and
     * returns the copy, for the field that holds it: {@code loraA = withoutEntry("lora_A", loraA, name)}.
     */
    final NamedDict withoutEntry(String child, NamedDict dict, String name) {
        NamedDict d = dict.without(name);
        replaceChild(child, d);
        return d;
    }

    /** Records a new adapter; the first one on the layer becomes active. */
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

    /** The active adapters in the order they were added (not a copy: do not modify). */
    final Set<String> active() {
        return active;
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

    /** Whether adapter {@code name} is folded into the base weight. */
    final boolean isMerged(String name) {
        return merged.contains(name);
    }

    /** ΔW of the adapter in the base weight's layout (what a merge adds). */
    public abstract Tensor deltaWeight(String name);

    /** The adapter's trainable (or trainable-to-be) parameters. */
    public abstract List<Variable> adapterParameters(String name);

    /**
     * The adapter's tensors by the suffix of their key in a PEFT file (after {@code base_model.model.<module>}),
     * e.g. {@code .lora_A.weight}; saving writes them and loading copies into them. Every method has a file form.
     */
    abstract LinkedHashMap<String, Variable> fileTensors(String name);

    /** The tensors a file holds for the adapter, by key suffix: {@link #fileTensors}' values unless the method trims them. */
    LinkedHashMap<String, Tensor> savedTensors(String name) {
        LinkedHashMap<String, Tensor> m = new LinkedHashMap<>();
        for (var e : fileTensors(name).entrySet()) m.put(e.getKey(), e.getValue().data().contiguous());
        return m;
    }

    /** Removes the adapter's parameters from this layer (it is not merged). */
    abstract void removeParameters(String name);

    /** {@code w} with adapter {@code name} merged in (a new tensor): W + ΔW unless the method says otherwise. */
    Tensor mergeInto(String name, Tensor w) {
        return w.add(deltaWeight(name));
    }

    /** The inverse of {@link #mergeInto}: W' − ΔW unless the method says otherwise. */
    Tensor unmergeFrom(String name, Tensor w) {
        return w.sub(deltaWeight(name));
    }

    /** Removes an adapter (unmerging it first if needed). */
    public void deleteAdapter(String name) {
        if (!names.contains(name)) throw new IllegalArgumentException("no adapter '" + name + "' on this layer");
        if (merged.contains(name)) unmerge();
        removeParameters(name);
        names.remove(name);
        active.remove(name);
    }

    /** The active adapters not merged yet, in the order a merge folds them in. */
    List<String> pendingMerges() {
        List<String> out = new ArrayList<>();
        for (String n : active) if (!merged.contains(n)) out.add(n);
        return out;
    }

    /**
     * Folds every active adapter not yet merged into the base weight. With {@code safe}, the result is computed on
     * a copy and checked first: a non-finite value anywhere is an error and the weight is left as it was. (On a
     * whole model use {@link PeftModel#merge(boolean)}, which checks every layer before it writes any.)
     */
    public void merge(boolean safe) {
        List<String> pending = pendingMerges();
        if (pending.isEmpty()) return;
        Tensor w = applyPending(baseWeight().data(), pending, safe, describe());
        commitMerge(w, pending);
    }

    /** How errors name this layer when no path is known. */
    abstract String describe();

    /** What errors call this kind of layer ("module", "embedding"). */
    String kind() {
        return "module";
    }

    /**
     * {@link #mergeInto} for each of {@code names} in turn, starting from {@code w}, as a new tensor ({@code w}
     * is not written). With {@code check}, every intermediate result must be finite, else an
     * {@link IllegalStateException} names the module ({@code where}), the adapter and the first bad element.
     */
    Tensor applyPending(Tensor w, List<String> names, boolean check, String where) {
        try (var g = Grad.disabled()) {
            for (String n : names) {
                w = mergeInto(n, w);
                if (check) requireFinite(w, "adapter '" + n + "' on " + kind() + " " + where);
            }
            return w;
        }
    }

    /** Writes {@code w} into the base weight and records {@code names} as merged. */
    void commitMerge(Tensor w, List<String> names) {
        try (var g = Grad.disabled()) {
            baseWeight().data().copyFrom(w);
        }
        markMerged(names);
    }

    /** Records {@code names} as merged, the caller having written them into the base weight. */
    void markMerged(List<String> names) {
        merged.addAll(names);
    }

    /** Takes the merged adapters out of the base weight again, last merged first. */
    public void unmerge() {
        if (merged.isEmpty()) return;
        try (var g = Grad.disabled()) {
            Tensor w = baseWeight().data();
            for (int i = merged.size() - 1; i >= 0; i--) w.copyFrom(unmergeFrom(merged.get(i), w));
            merged.clear();
        }
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
}
