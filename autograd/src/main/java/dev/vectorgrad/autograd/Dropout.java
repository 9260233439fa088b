package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;

/**
 * Inverted dropout: each element is zeroed with probability p (one {@link Rng#nextFloat()} per element, in
 * row-major order, so a seed fixes the mask) and the survivors are scaled by 1/(1 − p). The mask (0 or
 * 1/(1 − p)) is saved; backward multiplies by it.
 */
final class Dropout extends Node {
    Tensor mask;

    static Variable apply(Variable x, float p, boolean training, Rng rng) {
        if (!(p >= 0f && p <= 1f)) throw new IllegalArgumentException("dropout: p must be in [0, 1], got " + p);
        if (!training || p == 0f) return x;
        int n = x.numel();
        float[] m = new float[n];
        if (p < 1f) {
            float keep = 1f / (1f - p);
            for (int i = 0; i < n; i++) m[i] = rng.nextFloat() < p ? 0f : keep;
        }
        Dropout d = new Dropout();
        d.mask = Tensor.wrap(m, x.shape());
        return record(d, x.data().mul(d.mask), x);
    }

    @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.mul(mask)}; }
    @Override protected void release() { mask = null; }
}
