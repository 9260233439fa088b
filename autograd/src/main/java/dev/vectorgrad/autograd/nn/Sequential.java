package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.Variable;

/** Modules applied one after another, named "0", "1", ... as {@code torch.nn.Sequential}. */
public class Sequential extends ModuleList<Module> {
    public Sequential(Module... modules) {
        super(modules);
    }

    @Override
    public Variable forward(Variable x) {
        for (Module m : this) x = m.forward(x);
        return x;
    }
}
