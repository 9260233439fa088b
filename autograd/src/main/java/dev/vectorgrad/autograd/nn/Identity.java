package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.Variable;

/** x itself. as a module, for {@link Sequential}. */
public class Identity extends Module {
    @Override
    public Variable forward(Variable x) {
        return x;
    }
}
