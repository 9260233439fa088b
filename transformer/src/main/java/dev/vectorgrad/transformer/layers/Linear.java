package dev.vectorgrad.transformer.layers;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Tensor;

/** y = x·Wᵀ + b with W [out, in] (PyTorch's layout) and an optional bias [out]. */
public final class Linear extends Module {
    public final int in, out;
    public final Variable weight;
    public final Variable bias;

    public Linear(int in, int out, boolean bias) {
        this.in = in;
        this.out = out;
        this.weight = param("weight", Tensor.zeros(out, in));
        this.bias = bias ? param("bias", Tensor.zeros(out)) : null;
    }

    public Variable forward(Variable x) {
        return F.linear(x, weight, bias);
    }
}
