package dev.vectorgrad.transformer;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;

/**
 * Multi-head causal self-attention, GPT-2 style: {@code c_attn} projects to q, k, v side by side [3C],
 * {@link FusedAttention} does the heads, {@code c_proj} projects back, residual dropout after it.
 */
public final class CausalSelfAttention extends Module {
    public final Linear cAttn;
    public final Linear cProj;
    final int heads;
    final float dropout;

    CausalSelfAttention(GptConfig cfg) {
        this.cAttn = registerModule("c_attn", new Linear(cfg.nEmbd(), 3 * cfg.nEmbd(), cfg.bias(), Gpt.scratchRng()));
        this.cProj = registerModule("c_proj", new Linear(cfg.nEmbd(), cfg.nEmbd(), cfg.bias(), Gpt.scratchRng()));
        this.heads = cfg.heads();
        this.dropout = (float) cfg.dropout();
    }

    /** x [B, T, C] → [B, T, C]. */
    public Variable forward(Variable x, Rng rng) {
        Variable qkv = cAttn.forward(x);
        Variable y = FusedAttention.apply(qkv, heads, dropout, isTraining(), rng);
        return F.dropout(cProj.forward(y), dropout, isTraining(), rng);
    }
}
