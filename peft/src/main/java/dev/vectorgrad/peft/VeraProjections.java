package dev.vectorgrad.peft;

import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.tensor.TorchGenerator;

/**
 * VeRA's frozen pair shared by every layer of one adapter: A (r × maxIn), B (maxOut × r). From a key they are
 * drawn exactly as PEFT draws them ({@link TorchGenerator#veraProjections}), so the key alone reproduces them.
 */
public record VeraProjections(long key, int r, int maxIn, int maxOut, Tensor a, Tensor b) {
    public VeraProjections {
        if (r <= 0) throw new IllegalArgumentException("VeRA: r must be positive, got " + r);
        a = a.contiguous();
        b = b.contiguous();
        if (a.rank() != 2 || a.size(0) != r || a.size(1) != maxIn)
            throw new IllegalArgumentException("VeRA: vera_A must be [" + r + ", " + maxIn + "], got " + java.util.Arrays.toString(a.shape()));
        if (b.rank() != 2 || b.size(0) != maxOut || b.size(1) != r)
            throw new IllegalArgumentException("VeRA: vera_B must be [" + maxOut + ", " + r + "], got " + java.util.Arrays.toString(b.shape()));
    }

    /** Regenerates both from the key (PyTorch's MT19937, A first, then B). */
    public static VeraProjections fromKey(long key, int r, int maxIn, int maxOut) {
        if (r <= 0) throw new IllegalArgumentException("VeRA: r must be positive, got " + r);
        Tensor[] ab = TorchGenerator.veraProjections(key, r, maxIn, maxOut);
        return new VeraProjections(key, r, maxIn, maxOut, ab[0], ab[1]);
    }

    /** A[:, :in] (a view). */
    public Tensor aSlice(int in) {
        return a.narrow(1, 0, in);
    }

    /** B[:out, :] (a view). */
    public Tensor bSlice(int out) {
        return b.narrow(0, 0, out);
    }
}
