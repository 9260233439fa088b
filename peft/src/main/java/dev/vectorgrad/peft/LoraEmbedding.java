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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.Map;

/**
 * LoRA on an {@link Embedding}, as PEFT and loralib: per adapter A (r × num_embeddings) zeros and B
 * (dim × r) normal(0, 1), keys {@code lora_embedding_A.<name>} / {@code lora_embedding_B.<name>}; output
 * {@code W₀[x] + scaling · (onehot(x) Aᵀ) Bᵀ}. ΔW (num × dim) = scaling · (B A)ᵀ.
 *
 * <p>Merging writes ΔW into the embedding table. When that table is also the LM head's weight (tied, as in
 * GPT-2), a merge would change the head too and the merged model would no longer compute what the unmerged one
 * does (PEFT's silent bug); {@link #merge} then refuses ({@link #tied}). Active / merged / deleted bookkeeping is
 * {@link AdapterLayer}'s, as on Linear layers; only one adapter is merged at a time.
 */
public class LoraEmbedding extends AdapterLayer {
    private final Embedding base;
    private NamedDict loraA = registerModule("lora_embedding_A", new NamedDict());
    private NamedDict loraB = registerModule("lora_embedding_B", new NamedDict());
    private final Map<String, Float> scaling = new HashMap<>();
    /** The ΔW each merged adapter added, subtracted as it was by unmerge whatever A and B hold by then. */
    private final Map<String, Tensor> mergedDelta = new HashMap<>();
    private boolean tied;

    /** Wraps {@code base} (frozen) with no adapter yet. */
    public LoraEmbedding(Embedding base) {
        this.base = registerModule("base_layer", base);
        base.requiresGrad(false);
    }

    /** The wrapped embedding (its weight is the table W₀, [num, dim], that merges write into). */
    public Embedding embedding() {
        return base;
    }

    @Override
    Variable baseWeight() {
        return base.weight;
    }

    @Override
    String kind() {
        return "embedding";
    }

    @Override
    String describe() {
        return "(" + base.numEmbeddings + " × " + base.embeddingDim + ")";
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
        if (hasAdapter(name)) throw new IllegalArgumentException("LoRA: adapter '" + name + "' already exists on this embedding");
        Tensor b = Tensor.zeros(base.embeddingDim, r);
        Init.normal(b, rng, 0, 1);
        loraA.putParameter(name, Variable.param(Tensor.zeros(r, base.numEmbeddings)));
        loraB.putParameter(name, Variable.param(b));
        scaling.put(name, (float) (rsLora ? alpha / Math.sqrt(r) : alpha / r));
        added(name);
        setActive(name);
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

    /** A and B of the adapter. */
    @Override
    public List<Variable> adapterParameters(String name) {
        return List.of(a(name), b(name));
    }

    /** The shapes a file holds for a rank-r adapter on a num × dim table, by key suffix (as {@link #fileTensors}). */
    static LinkedHashMap<String, int[]> fileShapes(int r, int num, int dim) {
        LinkedHashMap<String, int[]> m = new LinkedHashMap<>();
        m.put(".lora_embedding_A", new int[] {r, num});
        m.put(".lora_embedding_B", new int[] {dim, r});
        return m;
    }

    /** PEFT's keys (a ParameterDict, so no {@code .weight}): {@code .lora_embedding_A} (r, num), {@code .lora_embedding_B} (dim, r). */
    @Override
    LinkedHashMap<String, Variable> fileTensors(String name) {
        LinkedHashMap<String, Variable> m = new LinkedHashMap<>();
        m.put(".lora_embedding_A", a(name));
        m.put(".lora_embedding_B", b(name));
        return m;
    }

    /** Makes {@code name} (an adapter of this embedding) the only active one; null: none. */
    public void setActive(String name) {
        if (name != null) req(scaling.get(name), name);
        setActive(name == null ? Set.of() : Set.of(name));
    }

    /** The active adapter, or null. */
    public String activeAdapter() {
        return active().isEmpty() ? null : active().iterator().next();
    }

    /** The merged adapter, or null. */
    public String mergedAdapter() {
        for (String n : adapterNames()) if (isMerged(n)) return n;
        return null;
    }

    /**
     * The base lookup plus each active unmerged adapter's {@code scaling · (onehot(x) Aᵀ) Bᵀ}; when the active
     * adapter is merged (or adapters are disabled or none is active) only the base lookup, exactly the bare
     * Embedding's.
     */
    public Variable forward(IntTensor ids) {
        Variable y = F.embedding(base.weight, ids);
        if (isDisabled()) return y;
        for (String n : active()) if (!isMerged(n)) y = applyAdapter(n, y, ids);
        return y;
    }

    /** {@code y} (the output so far) with adapter {@code name} applied: LoRA adds {@link #loraOutput}. */
    Variable applyAdapter(String name, Variable y, IntTensor ids) {
        return y.add(loraOutput(name, ids));
    }

    /** {@code scaling · (onehot(x) Aᵀ) Bᵀ} [.., dim]. */
    final Variable loraOutput(String name, IntTensor ids) {
        // onehot(x)·Aᵀ is a lookup of Aᵀ's rows
        Variable ax = F.embedding(a(name).t().contiguous(), ids);
        return F.linear(ax, b(name), null).mul(scaling(name));
    }

    /** ΔW (num × dim) = scaling · (B A)ᵀ of adapter {@code name}. */
    @Override
    public Tensor deltaWeight(String name) {
        try (var g = Grad.disabled()) {
            return b(name).data().matmul(a(name).data()).t().mul(scaling(name)).contiguous();
        }
    }

    /** Nothing while disabled or while an adapter is merged (one at a time); else the active adapter. */
    @Override
    List<String> pendingMerges() {
        return isDisabled() || isMerged() ? List.of() : super.pendingMerges();
    }

    @Override
    Tensor mergeInto(String name, Tensor w) {
        Tensor d = deltaWeight(name);
        mergedDelta.clear();
        mergedDelta.put(name, d);
        return w.add(d);
    }

    @Override
    Tensor unmergeFrom(String name, Tensor w) {
        Tensor d = mergedDelta.remove(name);
        return w.sub(d != null ? d : deltaWeight(name));
    }

    /** Folds the active adapter into the table; refuses on a tied table or (safe) non-finite values, changing nothing then. */
    @Override
    public void merge(boolean safe) {
        if (pendingMerges().isEmpty()) return;
        if (tied)
            throw new IllegalStateException("LoRA on an embedding whose table is tied to the LM head: merging would change the head as well, "
                    + "so merged and unmerged outputs would differ; untie the head first (give it its own copy of the weight) or keep the adapter unmerged");
        super.merge(safe);
    }

    @Override
    void removeParameters(String name) {
        loraA = withoutEntry("lora_embedding_A", loraA, name);
        loraB = withoutEntry("lora_embedding_B", loraB, name);
        scaling.remove(name);
    }
}
