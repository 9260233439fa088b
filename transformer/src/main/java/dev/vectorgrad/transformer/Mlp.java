package dev.vectorgrad.transformer;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;

/** The 4× MLP: {@code c_fc}, GELU (exact or tanh per config), {@code c_proj}, dropout. */
public final class Mlp extends Module {
    public final Linear cFc;
    public final Linear cProj;
    final GptConfig.Activation activation;
    final float dropout;

    Mlp(GptConfig cfg) {
        this.cFc = registerModule("c_fc", new Linear(cfg.nEmbd(), 4 * cfg.nEmbd(), cfg.bias(), Gpt.scratchRng()));
        this.cProj = registerModule("c_proj", new Linear(4 * cfg.nEmbd(), cfg.nEmbd(), cfg.bias(), Gpt.scratchRng()));
        this.activation = cfg.activation();
        this.dropout = (float) cfg.dropout();
    }

    public Variable forward(Variable x, Rng rng) {
        Variable h = cFc.forward(x);
        h = activation == GptConfig.Activation.GELU ? h.gelu() : h.geluTanh();
        return F.dropout(cProj.forward(h), dropout, isTraining(), rng);
    }
}
