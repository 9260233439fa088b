package dev.vectorgrad.transformer;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Rng;
import java.util.Arrays;

/**
 * GPT-2's causal multi-head self-attention from the fused projection: {@code qkv [B, T, 3C]} (q, k, v side by
 * side, each split into H heads of D = C/H columns) to {@code y [B, T, C]} (the heads side by side again). Only
 * the shapes are GPT's: the work is autograd's one attention op ({@link F#attentionQkvPacked}), which reads the
 * heads straight from the [B, T, 3C] rows and skips the masked upper triangle.
 */
public final class FusedAttention {
    private FusedAttention() {}

    /** Causal self-attention of {@code qkv [B, T, 3C]} with {@code heads} heads; dropout on the weights when training. */
    public static Variable apply(Variable qkv, int heads, float dropout, boolean training, Rng rng) {
        int[] s = qkv.shape();
        if (s.length != 3 || s[2] % 3 != 0 || (s[2] / 3) % heads != 0)
            throw new IllegalArgumentException("FusedAttention: qkv must be [B, T, 3C] with C divisible by " + heads
                    + " heads, got " + Arrays.toString(s));
        int c = s[2] / 3;
        Variable y = F.attentionQkvPacked(qkv.reshape(s[0], s[1], 3, heads, c / heads), true, null, dropout, training, rng);
        return y.reshape(s[0], s[1], c);
    }
}
