package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Tensor;

/** Layer norm over the last axis with weight (ones) and optional bias (zeros), as {@code torch.nn.LayerNorm}. */
public class LayerNorm extends Module {
    public final Variable weight;
    public final Variable bias;
    public final float eps;
    public final int dim;

    public LayerNorm(int dim) {
        this(dim, 1e-5f, true);
    }

    public LayerNorm(int dim, float eps, boolean bias) {
        this.dim = dim;
        this.eps = eps;
        this.weight = registerParameter("weight", Tensor.ones(dim));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(dim)) : registerParameter("bias", (Variable) null);
    }

    @Override
    public Variable forward(Variable x) {
        return x.layerNorm(weight, bias, eps);
    }

    @Override
    protected String extraRepr() {
        return "(" + dim + ",), eps=" + eps + ", bias=" + (bias != null);
    }
}
