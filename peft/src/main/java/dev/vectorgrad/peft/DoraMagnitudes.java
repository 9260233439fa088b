package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * DoRA's bookkeeping, once for {@link DoraLinear} and {@link DoraEmbedding}: the trainable magnitude of each DoRA
 * adapter, under PEFT's name {@code lora_magnitude_vector.<adapter>.weight} (a child dict of the layer), and the
 * weight norm n cached at merge for unmerge. The arithmetic (norms of rows on a Linear, of columns on an
 * Embedding) stays in each layer class.
 */
final class DoraMagnitudes {
    /** The layer's child holding the magnitudes (PEFT's {@code lora_magnitude_vector}). */
    static final String CHILD = "lora_magnitude_vector";

    private final AdapterLayer owner;
    private final String where;
    private NamedDict dict;
    /** n = the weight norm at merge time, per merged adapter, for unmerge. */
    private final Map<String, Tensor> mergedNorm = new HashMap<>();

    /** PEFT's {@code DoraLinearLayer} / {@code DoraEmbeddingLayer}: a module holding the magnitude as its {@code weight}. */
    private static final class Magnitude extends Module {
        final Variable weight;

        Magnitude(Tensor m) {
            weight = registerParameter("weight", Variable.param(m));
        }
    }

    /** {@code dict}: the owner's child {@link #CHILD}, registered by it; {@code where} names the owner in messages ("layer", "embedding"). */
    DoraMagnitudes(AdapterLayer owner, NamedDict dict, String where) {
        this.owner = owner;
        this.dict = dict;
        this.where = where;
    }

    /** Gives adapter {@code name} the magnitude {@code init} computes (without gradient); refuses a second one. */
    void add(String name, Supplier<Tensor> init) {
        if (has(name)) throw new IllegalArgumentException("DoRA: adapter '" + name + "' already has a magnitude");
        try (var g = Grad.disabled()) {
            dict.putModule(name, new Magnitude(init.get()));
        }
    }

    boolean has(String name) {
        return dict.module(name) != null;
    }

    Variable get(String name) {
        Module m = dict.module(name);
        if (m == null) throw new IllegalArgumentException("DoRA: adapter '" + name + "' has no magnitude on this " + where);
        return ((Magnitude) m).weight;
    }

    void cacheNorm(String name, Tensor n) {
        mergedNorm.put(name, n);
    }

    /** The norm cached when {@code name} was merged, forgotten here. */
    Tensor takeNorm(String name) {
        Tensor n = mergedNorm.remove(name);
        if (n == null) throw new IllegalStateException("DoRA: adapter '" + name + "' was not merged (no cached weight norm)");
        return n;
    }

    /** Forgets adapter {@code name}'s magnitude (if any) and cached norm. */
    void remove(String name) {
        if (has(name)) dict = owner.withoutEntry(CHILD, dict, name);
        mergedNorm.remove(name);
    }

    /** LoRA's parameters of {@code name}, plus its magnitude if it is a DoRA adapter. */
    List<Variable> withMagnitude(List<Variable> lora, String name) {
        List<Variable> p = new ArrayList<>(lora);
        if (has(name)) p.add(get(name));
        return p;
    }

    /** LoRA's file tensors of {@code name}, plus {@link DoraLinear#MAGNITUDE_KEY} if it is a DoRA adapter. */
    LinkedHashMap<String, Variable> withMagnitude(LinkedHashMap<String, Variable> lora, String name) {
        if (has(name)) lora.put(DoraLinear.MAGNITUDE_KEY, get(name));
        return lora;
    }
}
