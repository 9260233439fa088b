package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.Variable;

/** tanh x. as a module, for {@link Sequential}. */
public class Tanh extends Module {
    @Override
    public Variable forward(Variable x) {
        return x.tanh();
    }
}
