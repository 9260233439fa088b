package dev.vectorgrad.autograd.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModuleTest {
    /** A GPT-2-shaped toy: wte, h.N.{ln_1, attn.c_attn, attn.c_proj, mlp...}, ln_f, a tied head. */
    static final class Attn extends Module {
        final Linear cAttn, cProj;
        Attn(int d, Rng rng) {
            cAttn = registerModule("c_attn", new Linear(d, 3 * d, true, rng));
            cProj = registerModule("c_proj", new Linear(d, d, true, rng));
        }
    }

    static final class Block extends Module {
        Block(int d, Rng rng) {
            registerModule("ln_1", new LayerNorm(d));
            registerModule("attn", new Attn(d, rng));
            registerModule("mlp", new Sequential(new Linear(d, 4 * d, true, rng), new GELU(), new Linear(4 * d, d, false, rng)));
        }
    }

    static final class Tied extends Module {
        Tied(Variable w) {
            registerParameter("weight", w);
        }
    }

    static final class Toy extends Module {
        final Embedding wte;
        Toy(int d, int layers, Rng rng) {
            wte = registerModule("wte", new Embedding(10, d, rng));
            ModuleList<Block> h = registerModule("h", new ModuleList<>());
            for (int i = 0; i < layers; i++) h.add(new Block(d, rng));
            registerModule("ln_f", new LayerNorm(d, 1e-5f, false));
            registerModule("lm_head", new Tied(wte.weight)); // tied: appears once, under its first name
        }
    }

    @Test
    void parameterNamesAreDottedPathsInRegistrationOrder() {
        Toy m = new Toy(4, 2, new Rng(1));
        assertThat(m.namedParameters().keySet()).containsExactly(
                "wte.weight",
                "h.0.ln_1.weight", "h.0.ln_1.bias",
                "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias", "h.0.attn.c_proj.weight", "h.0.attn.c_proj.bias",
                "h.0.mlp.0.weight", "h.0.mlp.0.bias", "h.0.mlp.2.weight",
                "h.1.ln_1.weight", "h.1.ln_1.bias",
                "h.1.attn.c_attn.weight", "h.1.attn.c_attn.bias", "h.1.attn.c_proj.weight", "h.1.attn.c_proj.bias",
                "h.1.mlp.0.weight", "h.1.mlp.0.bias", "h.1.mlp.2.weight",
                "ln_f.weight");
        assertThat(m.parameters()).hasSize(20);
        // a module's own parameters come before its children's, as PyTorch's named_parameters()
        Module root = new Module() {
            {
                registerModule("child", new Linear(2, 2, false, new Rng(1)));
                registerParameter("own", Tensor.zeros(1));
            }
        };
        assertThat(root.namedParameters().keySet()).containsExactly("own", "child.weight");
        assertThat(m.namedModules().keySet()).startsWith("", "wte", "h", "h.0", "h.0.ln_1", "h.0.attn", "h.0.attn.c_attn");
    }

    @Test
    void trainEvalPropagates() {
        Toy m = new Toy(4, 1, new Rng(1));
        m.eval();
        for (Module sub : m.namedModules().values()) assertThat(sub.isTraining()).isFalse();
        m.train();
        for (Module sub : m.namedModules().values()) assertThat(sub.isTraining()).isTrue();
    }

    @Test
    void freezing() {
        Toy m = new Toy(4, 1, new Rng(1));
        long all = m.numParameters(false);
        m.requiresGrad(false);
        assertThat(m.numParameters(true)).isZero();
        m.namedParameters().get("ln_f.weight").requiresGrad(true);
        assertThat(m.numParameters(true)).isEqualTo(4);
        assertThat(m.numParameters(false)).isEqualTo(all);
    }

    @Test
    void linearInitMatchesPyTorchBounds() {
        Linear l = new Linear(100, 300, true, new Rng(5));
        float bound = (float) (1 / Math.sqrt(100));
        float maxW = 0, maxB = 0;
        for (float v : l.weight.data().toArray()) maxW = Math.max(maxW, Math.abs(v));
        for (float v : l.bias.data().toArray()) maxB = Math.max(maxB, Math.abs(v));
        assertThat(maxW).isLessThanOrEqualTo(bound).isGreaterThan(0.95f * bound);
        assertThat(maxB).isLessThanOrEqualTo(bound).isGreaterThan(0.9f * bound);
        assertThat(l.weight.shape()).containsExactly(300, 100);
        assertThat(new Linear(3, 2, false, new Rng(1)).namedParameters().keySet()).containsExactly("weight");
        // the same seed gives the same weights
        assertThat(new Linear(100, 300, true, new Rng(5)).weight.data().toArray()).containsExactly(l.weight.data().toArray());
    }

    @Test
    void stateDictRoundTrip() {
        Toy a = new Toy(4, 2, new Rng(1)), b = new Toy(4, 2, new Rng(2));
        assertThat(b.stateDict().get("h.1.attn.c_attn.weight").toArray()).isNotEqualTo(a.stateDict().get("h.1.attn.c_attn.weight").toArray());
        Module.LoadResult r = b.loadStateDict(a.stateDict(), true);
        assertThat(r.missingKeys()).isEmpty();
        assertThat(r.unexpectedKeys()).isEmpty();
        for (var e : a.stateDict().entrySet())
            assertThat(b.stateDict().get(e.getKey()).toArray()).as(e.getKey()).containsExactly(e.getValue().toArray());
        // copied, not shared
        a.stateDict().get("wte.weight").fill(7f);
        assertThat(b.stateDict().get("wte.weight").get(0, 0)).isNotEqualTo(7f);
    }

    @Test
    void stateDictErrorsNameTheKeys() {
        Toy a = new Toy(4, 1, new Rng(1));
        Map<String, Tensor> sd = new LinkedHashMap<>(a.stateDict());
        sd.remove("h.0.attn.c_proj.bias");
        sd.put("h.0.attn.bogus", Tensor.zeros(1));
        assertThatThrownBy(() -> a.loadStateDict(sd, true))
                .hasMessageContaining("Missing key(s) in state_dict: \"h.0.attn.c_proj.bias\"")
                .hasMessageContaining("Unexpected key(s) in state_dict: \"h.0.attn.bogus\"");
        Module.LoadResult r = a.loadStateDict(sd, false);
        assertThat(r.missingKeys()).containsExactly("h.0.attn.c_proj.bias");
        assertThat(r.unexpectedKeys()).containsExactly("h.0.attn.bogus");
        Map<String, Tensor> bad = new LinkedHashMap<>(a.stateDict());
        bad.put("ln_f.weight", Tensor.zeros(5));
        assertThatThrownBy(() -> a.loadStateDict(bad, false))
                .hasMessageContaining("size mismatch for ln_f.weight: copying a param with shape [5], the shape in current model is [4]");
    }

    @Test
    void sequentialAndActivations() {
        Sequential s = new Sequential(new Linear(3, 5, true, new Rng(1)), new ReLU(), new Linear(5, 2, true, new Rng(2)), new Tanh());
        Variable y = s.forward(Variable.of(Tensor.ones(4, 3)));
        assertThat(y.shape()).containsExactly(4, 2);
        assertThat(s.namedParameters().keySet()).containsExactly("0.weight", "0.bias", "2.weight", "2.bias");
        y.sum().backward();
        // every parameter's gradient against the chain rule written out in double: 4 equal rows of ones,
        // pre = W1·1 + b1, h = relu(pre), z = W2·h + b2, dL/dz = 4·(1 − tanh²z)
        Map<String, Variable> p = s.namedParameters();
        float[] w1 = p.get("0.weight").data().toArray(), b1 = p.get("0.bias").data().toArray();
        float[] w2 = p.get("2.weight").data().toArray(), b2 = p.get("2.bias").data().toArray();
        double[] pre = new double[5], h = new double[5], dz = new double[2], dh = new double[5];
        for (int j = 0; j < 5; j++) {
            pre[j] = b1[j];
            for (int k = 0; k < 3; k++) pre[j] += w1[j * 3 + k];
            h[j] = Math.max(0, pre[j]);
        }
        for (int i = 0; i < 2; i++) {
            double z = b2[i];
            for (int j = 0; j < 5; j++) z += w2[i * 5 + j] * h[j];
            dz[i] = 4 * (1 - Math.tanh(z) * Math.tanh(z));
            for (int j = 0; j < 5; j++) dh[j] += dz[i] * w2[i * 5 + j];
        }
        double[] gw1 = new double[15], gb1 = new double[5], gw2 = new double[10];
        for (int j = 0; j < 5; j++) {
            gb1[j] = pre[j] > 0 ? dh[j] : 0;
            for (int k = 0; k < 3; k++) gw1[j * 3 + k] = gb1[j];
            for (int i = 0; i < 2; i++) gw2[i * 5 + j] = dz[i] * h[j];
        }
        assertClose(p.get("0.weight").grad().toArray(), gw1);
        assertClose(p.get("0.bias").grad().toArray(), gb1);
        assertClose(p.get("2.weight").grad().toArray(), gw2);
        assertClose(p.get("2.bias").grad().toArray(), dz);
        float[] out = new Sequential(new Sigmoid(), new GELU(true), new Identity()).forward(Variable.of(Tensor.zeros(2))).data().toArray();
        double expect = 0.5 * 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (0.5 + 0.044715 * 0.125)));
        assertThat((double) out[0]).isCloseTo(expect, org.assertj.core.data.Offset.offset(1e-6));
    }

    @Test
    void dropoutModuleFollowsTrainingMode() {
        Dropout d = new Dropout(0.5f, new Rng(3));
        Variable x = Variable.of(Tensor.ones(100));
        assertThat(d.forward(x)).isNotSameAs(x);
        d.eval();
        assertThat(d.forward(x)).isSameAs(x);
    }

    @Test
    void duplicateNamesAreRefused() {
        assertThatThrownBy(() -> new Module() {
            {
                registerParameter("w", Tensor.zeros(1));
                registerParameter("w", Tensor.zeros(1));
            }
        }).hasMessageContaining("already registered");
    }

    static void assertClose(float[] got, double[] want) {
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++)
            assertThat((double) got[i]).as("element %d", i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-5 + 1e-5 * Math.abs(want[i])));
    }
}
