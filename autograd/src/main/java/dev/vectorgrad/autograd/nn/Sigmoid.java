package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.Variable;

/** 1/(1 + e^-x). as a module, for {@link Sequential}. */
public class Sigmoid extends Module {
    @Override
    public Variable forward(Variable x) {
        return x.sigmoid();
    }
}
