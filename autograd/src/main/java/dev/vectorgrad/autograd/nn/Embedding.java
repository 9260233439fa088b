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

    public Variable forward(IntTensor ids) {
        return F.embedding(weight, ids);
    }

    @Override
    protected String extraRepr() {
        return numEmbeddings + ", " + embeddingDim;
    }
}
