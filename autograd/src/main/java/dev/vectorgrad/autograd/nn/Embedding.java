package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;

/** A lookup table [num, dim] initialised N(0, 1), as {@code torch.nn.Embedding}. */
public class Embedding extends Module {
    public final Variable weight;
    public final int numEmbeddings, embeddingDim;

    public Embedding(int numEmbeddings, int embeddingDim) {
        this(numEmbeddings, embeddingDim, defaultRng());
    }

    public Embedding(int numEmbeddings, int embeddingDim, Rng rng) {
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        Tensor w = Tensor.zeros(numEmbeddings, embeddingDim);
        Init.normal(w, rng, 0, 1);
        this.weight = registerParameter("weight", w);
    }

    private volatile java.util.function.Function<IntTensor, Variable> forwardDelegate;

    public Variable forward(IntTensor ids) {
        var d = forwardDelegate;
        return d != null ? d.apply(ids) : F.embedding(weight, ids);
    }

    /**
     * Routes {@link #forward} through {@code wrapper} (null restores the plain lookup), so that a wrapper that
     * replaced this layer in its parent (PEFT's LoRA) also catches callers holding this layer in a field. The
     * wrapper must do the base lookup itself ({@code F.embedding(weight, ids)}), not call forward.
     */
    public void setForwardDelegate(java.util.function.Function<IntTensor, Variable> wrapper) {
        this.forwardDelegate = wrapper;
    }

    @Override
    protected String extraRepr() {
        return numEmbeddings + ", " + embeddingDim;
    }
}
