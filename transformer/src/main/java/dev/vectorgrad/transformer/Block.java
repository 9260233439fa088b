package dev.vectorgrad.transformer;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.autograd.nn.LayerNorm;
import dev.vectorgrad.autograd.nn.Module;

/** A pre-LayerNorm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)). */
public final class Block extends Module {
    public final LayerNorm ln1;
    public final CausalSelfAttention attn;
    public final LayerNorm ln2;
    public final Mlp mlp;

    Block(GptConfig cfg) {
        float eps = (float) cfg.layerNormEps();
        this.ln1 = registerModule("ln_1", new LayerNorm(cfg.nEmbd(), eps, cfg.bias()));
        this.attn = registerModule("attn", new CausalSelfAttention(cfg));
        this.ln2 = registerModule("ln_2", new LayerNorm(cfg.nEmbd(), eps, cfg.bias()));
        this.mlp = registerModule("mlp", new Mlp(cfg));
    }

    public Variable forward(Variable x, Rng rng) {
        x = x.add(attn.forward(ln1.forward(x), rng));
        return x.add(mlp.forward(ln2.forward(x), rng));
    }
}
