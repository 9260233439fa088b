package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.Variable;

/** Max(0, x). as a module, for {@link Sequential}. */
public class ReLU extends Module {
    @Override
    public Variable forward(Variable x) {
        return x.relu();
    }
}
