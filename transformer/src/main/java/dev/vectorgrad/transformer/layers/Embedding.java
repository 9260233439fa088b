package dev.vectorgrad.transformer.layers;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Tensor;

/** A lookup table [num, dim]: rows at the given ids. */
public final class Embedding extends Module {
    public final Variable weight;

    public Embedding(int num, int dim) {
        this.weight = param("weight", Tensor.zeros(num, dim));
    }

    public Variable forward(IntTensor ids) {
        return F.embedding(weight, ids);
    }
}
