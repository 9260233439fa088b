package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Rng;

/** Inverted dropout in training mode, the identity in eval mode, as {@code torch.nn.Dropout}. */
public class Dropout extends Module {
    public final float p;
    private final Rng rng;

    public Dropout(float p) {
        this(p, defaultRng().split());
    }

    public Dropout(float p, Rng rng) {
        if (!(p >= 0f && p <= 1f)) throw new IllegalArgumentException("Dropout: p must be in [0, 1], got " + p);
        this.p = p;
        this.rng = rng;
    }

    @Override
    public Variable forward(Variable x) {
        return F.dropout(x, p, isTraining(), rng);
    }

    @Override
    protected String extraRepr() {
        return "p=" + p;
    }
}
