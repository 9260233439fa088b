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
     * Scaled dot-product attention softmax(Q·Kᵀ/√D + mask)·V of q [B, Tq, H, D] and k, v [B, Tk, H, D] (views
     * allowed), output [B, Tq, H, D]: causal (query i sees keys j ≤ i + Tk − Tq) or not, {@code keyMask} null or
     * per batch row a length or a boolean mask over the keys (a row that sees no key gives zeros). One fused
     * node; see {@link Attention} for the layout, masks and {@link Attention.Cache KV cache}.
     */
    public static Variable attention(Variable q, Variable k, Variable v, boolean causal, Attention.KeyMask keyMask) {
        return Attention.apply(q, k, v, causal, keyMask, 0f, false, null);
    }

    /** {@link #attention(Variable, Variable, Variable, boolean, Attention.KeyMask)} with dropout p on the attention weights when training. */
    public static Variable attention(Variable q, Variable k, Variable v, boolean causal, Attention.KeyMask keyMask,
                                     float dropout, boolean training, Rng rng) {
        return Attention.apply(q, k, v, causal, keyMask, dropout, training, rng);
    }

    /**
     * Self-attention of a fused projection qkv [B, T, 3, H, D] (q, k, v side by side, as GPT-2's {@code c_attn}
     * writes them) to [B, T, H, D]; its gradient comes back in one [B, T, 3, H, D] buffer, with no split.
     */
    public static Variable attentionQkvPacked(Variable qkv, boolean causal, Attention.KeyMask keyMask,
                                              float dropout, boolean training, Rng rng) {
        return Attention.applyPacked(qkv, causal, keyMask, dropout, training, rng);
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
