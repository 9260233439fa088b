package dev.vectorgrad.transformer.layers;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Tensor;

/** Layer norm over the last axis with weight (ones) and optional bias (zeros). */
public final class LayerNorm extends Module {
    public final Variable weight;
    public final Variable bias;
    public final float eps;

    public LayerNorm(int dim, boolean bias, float eps) {
        this.weight = param("weight", Tensor.ones(dim));
        this.bias = bias ? param("bias", Tensor.zeros(dim)) : null;
        this.eps = eps;
    }

    public Variable forward(Variable x) {
        return x.layerNorm(weight, bias, eps);
    }
}
