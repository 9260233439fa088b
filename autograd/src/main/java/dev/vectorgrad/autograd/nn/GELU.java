package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.Variable;

/** GELU as a module: exact (PyTorch's default) or the tanh approximation ({@code approximate='tanh'}). */
public class GELU extends Module {
    private final boolean tanh;

    public GELU() {
        this(false);
    }

    public GELU(boolean tanhApproximation) {
        this.tanh = tanhApproximation;
    }

    @Override
    public Variable forward(Variable x) {
        return tanh ? x.geluTanh() : x.gelu();
    }

    @Override
    protected String extraRepr() {
        return tanh ? "approximate='tanh'" : "";
    }
}
