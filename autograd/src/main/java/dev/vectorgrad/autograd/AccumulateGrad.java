package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/** The sink of a leaf variable: adds the gradient that reaches it into the leaf's {@code .grad}. */
final class AccumulateGrad extends Node {
    final Variable leaf;

    AccumulateGrad(Variable leaf) {
        this.leaf = leaf;
        this.next = new Node[0];
        this.outShape = leaf.data().shape();
    }

    /** The leaf's grad, allocated as zeros when absent (always contiguous, owned by the leaf). */
    Tensor gradBuffer() {
        if (leaf.grad == null) leaf.grad = Tensor.zeros(leaf.data().shape());
        return leaf.grad;
    }

    @Override
    protected Tensor[] backward(Tensor g) {
        if (!g.sameShape(leaf.data()))
            throw new IllegalStateException("gradient of shape " + Arrays.toString(g.shape()) + " reached a leaf of shape "
                    + Arrays.toString(leaf.data().shape()));
        // A fresh copy the first time: the incoming tensor may be shared with other gradients or be a view.
        if (leaf.grad == null) leaf.grad = g.copy();
        else leaf.grad.addInPlace(g);
        return new Tensor[0];
    }

    @Override
    public String name() {
        return "AccumulateGrad";
    }
}
