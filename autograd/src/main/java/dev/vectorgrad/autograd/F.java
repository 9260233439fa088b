package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;

/** Functional forms of the layers and the fused ops, as {@code torch.nn.functional}. */
public final class F {
    private F() {}

    /** PyTorch's default ignore index for {@link #crossEntropy}. */
    public static final int IGNORE_INDEX = -100;

    /** y = x·Wᵀ + b, x [..., in], W [out, in], b [out] or null; one fused GEMM forward and backward. */
    public static Variable linear(Variable x, Variable weight, Variable bias) {
        return MatrixProducts.Linear.apply(x, weight, bias);
    }

    /** Rows of {@code table} [vocab, dim] at {@code ids}: shape ids.shape + [dim]; backward scatter-adds. */
    public static Variable embedding(Variable table, IntTensor ids) {
        return Indexing.Embedding.apply(table, ids);
    }

    /** Mean cross-entropy of logits [..., C] against class ids (one per row), skipping {@code ignoreIndex}. */
    public static Variable crossEntropy(Variable logits, IntTensor targets, int ignoreIndex) {
        return Losses.CrossEntropy.apply(logits, targets, ignoreIndex);
    }

    /** Mean cross-entropy with PyTorch's default ignore index (-100). */
    public static Variable crossEntropy(Variable logits, IntTensor targets) {
        return crossEntropy(logits, targets, IGNORE_INDEX);
    }

    /** Mean squared error, mean((prediction − target)²), broadcasting. */
    public static Variable mseLoss(Variable prediction, Variable target) {
        return Losses.Mse.apply(prediction, target);
    }

    /**
     * Causal scaled-dot-product attention over q, k, v [B, H, T, D] with scale 1/√D (fused forward and
     * backward, one head's T×T scores at a time per thread).
     */
    public static Variable causalAttention(Variable q, Variable k, Variable v) {
        return causalAttention(q, k, v, (float) (1.0 / Math.sqrt(q.shape()[q.rank() - 1])));
    }

    /** Causal scaled-dot-product attention with an explicit scale. */
    public static Variable causalAttention(Variable q, Variable k, Variable v, float scale) {
        return Attention.Causal.apply(q, k, v, scale);
    }

    /** Inverted dropout with a seeded generator; the identity when not training or p = 0. */
    public static Variable dropout(Variable x, float p, boolean training, Rng rng) {
        return Dropout.apply(x, p, training, rng);
    }

    /** Layer norm over the last axis (weight/bias nullable). */
    public static Variable layerNorm(Variable x, Variable weight, Variable bias, float eps) {
        return x.layerNorm(weight, bias, eps);
    }
}
