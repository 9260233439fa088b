package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Embedding;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * DoRA on an {@link Embedding}, as HF PEFT's {@code DoraEmbeddingLayer}: LoRA's embedding adapter
 * ({@link LoraEmbedding}) plus a magnitude m (embedding_dim), initialised to the norms over the vocabulary of each
 * column of the table W + ΔW (num × dim), ΔW = s·(B·A)ᵀ. With n those column norms taken as a constant and
 * g = m / n (dim), the output is {@code g ⊙ (y + s·(onehot(x)Aᵀ)Bᵀ)}, y the lookup (and any earlier adapter), and a
 * merge writes (W + ΔW) ⊙ g per column, n cached for unmerge. Key {@code .lora_magnitude_vector} (dim), as on
 * Linear layers; adapters without a magnitude behave as plain LoRA. Not checked against a PEFT dump (none exists
 * for an embedding), only against the formulas in DoraTest.
 */
public final class DoraEmbedding extends LoraEmbedding {
    /** The magnitudes and, per merged adapter, the column norms n at merge time, for unmerge. */
    private final DoraMagnitudes magnitudes;

    public DoraEmbedding(Embedding base) {
        super(base);
        magnitudes = new DoraMagnitudes(this, registerModule(DoraMagnitudes.CHILD, new NamedDict()), "embedding");
    }

    /** Makes adapter {@code name} (added, A and B initialised) a DoRA adapter: m = column norms of W + ΔW. */
    public void addMagnitude(String name) {
        a(name);
        magnitudes.add(name, () -> columnNorms(embedding().weight.data().add(deltaLora(name))));
    }

    public boolean isDora(String name) {
        return magnitudes.has(name);
    }

    /** The magnitude m (embedding_dim) of DoRA adapter {@code name}. */
    public Variable magnitude(String name) {
        return magnitudes.get(name);
    }

    /** LoRA's ΔW = s·(B·A)ᵀ (num × dim). */
    private Tensor deltaLora(String name) {
        return super.deltaWeight(name);
    }

    /** The L2 norm of each column of {@code w} [num, dim] → [dim]. */
    static Tensor columnNorms(Tensor w) {
        return w.square().sum(0, false).sqrt();
    }

    @Override
    Variable applyAdapter(String name, Variable y, IntTensor ids) {
        if (!isDora(name)) return super.applyAdapter(name, y, ids);
        // g ⊙ (y + s·(onehot(x)Aᵀ)Bᵀ),  g = m / n  [dim],  n = ‖W + ΔW‖ per column, constant
        Tensor n;
        try (var g = Grad.disabled()) {
            n = columnNorms(embedding().weight.data().add(deltaLora(name)));
        }
        return y.add(loraOutput(name, ids)).mul(magnitude(name).div(n));
    }

    /** The effective ΔW = (W + s·(BA)ᵀ) ⊙ g − W on the current table. */
    @Override
    public Tensor deltaWeight(String name) {
        if (!isDora(name)) return super.deltaWeight(name);
        try (var g = Grad.disabled()) {
            Tensor w = embedding().weight.data();
            return mergeIntoUncached(name, w).sub(w);
        }
    }

    @Override
    Tensor mergeInto(String name, Tensor w) {
        if (!isDora(name)) return super.mergeInto(name, w);
        magnitudes.cacheNorm(name, columnNorms(w.add(deltaLora(name))));
        return mergeIntoUncached(name, w);
    }

    /** (W + ΔW) ⊙ (m / n) per column, n = ‖W + ΔW‖ per column. */
    private Tensor mergeIntoUncached(String name, Tensor w) {
        Tensor sum = w.add(deltaLora(name));
        Tensor n = columnNorms(sum);
        return sum.mul(magnitude(name).data().div(n).reshape(1, n.numel()));
    }

    @Override
    Tensor unmergeFrom(String name, Tensor w) {
        if (!isDora(name)) return super.unmergeFrom(name, w);
        Tensor n = magnitudes.takeNorm(name);
        return w.div(magnitude(name).data().div(n).reshape(1, n.numel())).sub(deltaLora(name));
    }

    @Override
    public List<Variable> adapterParameters(String name) {
        return magnitudes.withMagnitude(super.adapterParameters(name), name);
    }

    /** LoRA's embedding file shapes plus the magnitude (dim). */
    static LinkedHashMap<String, int[]> fileShapes(int r, int num, int dim) {
        LinkedHashMap<String, int[]> m = LoraEmbedding.fileShapes(r, num, dim);
        m.put(DoraLinear.MAGNITUDE_KEY, new int[] {dim});
        return m;
    }

    @Override
    LinkedHashMap<String, Variable> fileTensors(String name) {
        return magnitudes.withMagnitude(super.fileTensors(name), name);
    }

    @Override
    void removeParameters(String name) {
        super.removeParameters(name);
        magnitudes.remove(name);
    }
}
