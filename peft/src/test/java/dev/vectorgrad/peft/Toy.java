package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.LayerNorm;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.autograd.nn.ModuleList;
import dev.vectorgrad.tensor.Rng;

/** A small user model with layers held in final fields, as real models do: layers.N.attn.{q_proj,v_proj}, layers.N.fc, lm_head. */
final class Toy extends Module {
    static final class Attn extends Module {
        final Linear qProj, vProj;
        Attn(int d, Rng rng) {
            qProj = registerModule("q_proj", new Linear(d, d, true, rng));
            vProj = registerModule("v_proj", new Linear(d, d, false, rng));
        }
    }

    static final class Layer extends Module {
        final Attn attn;
        final Linear fc;
        final LayerNorm norm;
        Layer(int d, Rng rng) {
            attn = registerModule("attn", new Attn(d, rng));
            fc = registerModule("fc", new Linear(d, 2 * d, true, rng));
            norm = registerModule("norm", new LayerNorm(2 * d, 1e-5f, true));
        }
        Variable forward(Variable x, int d) {
            Variable h = attn.qProj.forward(x).add(attn.vProj.forward(x)).tanh();
            Variable f = norm.forward(fc.forward(h));
            return f.reshape(-1, 2, d).sum(1, false).reshape(x.shape()).add(x);
        }
    }

    final ModuleList<Layer> layers = registerModule("layers", new ModuleList<>());
    final Linear lmHead;
    final int d;

    Toy(int d, int n, long seed) {
        Rng rng = new Rng(seed);
        this.d = d;
        for (int i = 0; i < n; i++) layers.add(new Layer(d, rng));
        lmHead = registerModule("lm_head", new Linear(d, 5, false, rng));
    }

    @Override
    public Variable forward(Variable x) {
        for (Layer l : layers) x = l.forward(x, d);
        return lmHead.forward(x);
    }
}
