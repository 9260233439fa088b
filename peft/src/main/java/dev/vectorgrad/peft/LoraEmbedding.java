package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Embedding;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA on an {@link Embedding}, as PEFT and loralib: per adapter A (r × num_embeddings) zeros and B
 * (dim × r) normal(0, 1), keys {@code lora_embedding_A.<name>} / {@code lora_embedding_B.<name>}; output
 * {@code W₀[x] + scaling · (onehot(x) Aᵀ) Bᵀ}. ΔW (num × dim) = scaling · (B A)ᵀ.
 *
 * <p>Merging writes ΔW into the embedding table. When that table is also the LM head's weight (tied, as in
 * GPT-2), a merge would change the head too and the merged model would no longer compute what the unmerged one
 * does (PEFT's silent bug); {@link #merge} then refuses ({@link #tied}).
 */
public final class LoraEmbedding extends Module {
    private final Embedding base;
    private NamedDict loraA = registerModule("lora_embedding_A", new NamedDict());
    private NamedDict loraB = registerModule("lora_embedding_B", new NamedDict());
    private final Map<String, Float> scaling = new HashMap<>();
    private String active;
    private boolean disabled, tied;
    private Tensor mergedDelta;
    private String mergedName;

    /** Wraps {@code base} (frozen) with no adapter yet. */
    public LoraEmbedding(Embedding base) {
        this.base = registerModule("base_layer", base);
        base.requiresGrad(false);
    }

    /** The wrapped embedding (its weight is the table W₀, [num, dim], that merges write into). */
    public Embedding embedding() {
        return base;
    }

    /** Marks the table as shared with another layer (a tied LM head): {@link #merge} then refuses. */
    public LoraEmbedding tied(boolean on) {
        this.tied = on;
        return this;
    }

    public boolean isTied() {
        return tied;
    }

    /**
     * Adds adapter {@code name} with PEFT's init (A zeros (r × num), B normal(0, 1) (dim × r) from {@code rng}),
     * scaling α/r (α/√r with {@code rsLora}); it becomes the active one.
     */
    public LoraEmbedding addAdapter(String name, int r, double alpha, boolean rsLora, Rng rng) {
        if (r <= 0) throw new IllegalArgumentException("LoRA: r must be positive, got " + r + " (adapter '" + name + "')");
        if (scaling.containsKey(name)) throw new IllegalArgumentException("LoRA: adapter '" + name + "' already exists on this embedding");
        Tensor b = Tensor.zeros(base.embeddingDim, r);
        Init.normal(b, rng, 0, 1);
        loraA.putParameter(name, Variable.param(Tensor.zeros(r, base.numEmbeddings)));
        loraB.putParameter(name, Variable.param(b));
        scaling.put(name, (float) (rsLora ? alpha / Math.sqrt(r) : alpha / r));
        active = name;
        return this;
    }

    /** A (r × num_embeddings) of the adapter. */
    public Variable a(String name) {
        return req(loraA.parameter(name), name);
    }

    /** B (embedding_dim × r) of the adapter. */
    public Variable b(String name) {
        return req(loraB.parameter(name), name);
    }

    /** α/r (or α/√r) of the adapter. */
    public float scaling(String name) {
        return req(scaling.get(name), name);
    }

    private static <T> T req(T t, String name) {
        if (t == null) throw new IllegalArgumentException("LoRA: no adapter '" + name + "' on this embedding");
        return t;
    }

    /** The adapters on this embedding. */
    public java.util.Set<String> adapterNames() {
        return java.util.Set.copyOf(scaling.keySet());
    }

    /** Whether adapter {@code name} is on this embedding. */
    public boolean hasAdapter(String name) {
        return scaling.containsKey(name);
    }

    /** A and B of the adapter. */
    public List<Variable> adapterParameters(String name) {
        return List.of(a(name), b(name));
    }

    /** Makes {@code name} (an adapter of this embedding) the active one; null: none. */
    public void setActive(String name) {
        if (name != null) req(scaling.get(name), name);
        active = name;
    }

    /** The active adapter, or null. */
    public String activeAdapter() {
        return active;
    }

    /** Disables (true) or re-enables the adapters; a merged adapter is unmerged first, as on Linear layers. */
    public void setDisabled(boolean off) {
        if (off) unmerge();
        disabled = off;
    }

    /** Whether the adapters are switched off. */
    public boolean isDisabled() {
        return disabled;
    }

    /** Whether an adapter's ΔW is folded into the table. */
    public boolean isMerged() {
        return mergedDelta != null;
    }

    /** The merged adapter, or null. */
    public String mergedAdapter() {
        return mergedName;
    }

    /**
     * The base lookup plus the active adapter's {@code scaling · (onehot(x) Aᵀ) Bᵀ}; when the active adapter is
     * merged (or adapters are disabled or none is active) only the base lookup, exactly the bare Embedding's.
     */
    public Variable forward(IntTensor ids) {
        Variable y = F.embedding(base.weight, ids);
        if (disabled || active == null || active.equals(mergedName)) return y;
        // onehot(x)·Aᵀ is a lookup of Aᵀ's rows
        Variable ax = F.embedding(a(active).t().contiguous(), ids);
        return y.add(F.linear(ax, b(active), null).mul(scaling(active)));
    }

    /** ΔW (num × dim) = scaling · (B A)ᵀ of adapter {@code name}. */
    public Tensor deltaWeight(String name) {
        try (var g = Grad.disabled()) {
            return b(name).data().matmul(a(name).data()).t().mul(scaling(name)).contiguous();
        }
    }

    /** The adapter a merge would fold in now (the active one, when enabled and nothing is merged), or null. */
    String pendingMerge() {
        return isMerged() || active == null || disabled ? null : active;
    }

    /**
     * {ΔW, W₀ + ΔW} of the pending merge, computed on a copy (the table is not written), or null when nothing is
     * pending. With {@code check}, a non-finite sum throws naming {@code where} and the adapter.
     */
    Tensor[] plan(boolean check, String where) {
        String n = pendingMerge();
        if (n == null) return null;
        try (var g = Grad.disabled()) {
            Tensor d = deltaWeight(n);
            Tensor nw = base.weight.data().add(d);
            if (check) AdapterLinear.requireFinite(nw, "adapter '" + n + "' on embedding " + where);
            return new Tensor[] {d, nw};
        }
    }

    /** Folds the active adapter into the table; refuses on a tied table or (safe) non-finite values, changing nothing then. */
    public void merge(boolean safe) {
        if (pendingMerge() == null) return;
        if (tied)
            throw new IllegalStateException("LoRA on an embedding whose table is tied to the LM head: merging would change the head as well, "
                    + "so merged and unmerged outputs would differ; untie the head first (give it its own copy of the weight) or keep the adapter unmerged");
        Tensor[] p = plan(safe, "(" + base.numEmbeddings + " × " + base.embeddingDim + ")");
        try (var g = Grad.disabled()) {
            base.weight.data().copyFrom(p[1]);
        }
        mergedDelta = p[0];
        mergedName = active;
    }

    /** Subtracts the merged ΔW (the one added, whatever A and B hold now) from the table again. */
    public void unmerge() {
        if (!isMerged()) return;
        try (var g = Grad.disabled()) {
            Tensor w = base.weight.data();
            w.copyFrom(w.sub(mergedDelta));
        }
        mergedDelta = null;
        mergedName = null;
    }

    /** Removes adapter {@code name} (unmerging it first if it is the merged one). */
    public void deleteAdapter(String name) {
        req(scaling.get(name), name);
        if (name.equals(mergedName)) unmerge();
        NamedDict a = loraA.without(name), b = loraB.without(name);
        replaceChild("lora_embedding_A", a);
        replaceChild("lora_embedding_B", b);
        loraA = a;
        loraB = b;
        scaling.remove(name);
        if (name.equals(active)) active = null;
    }
}
