package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.GradCheck;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Bottleneck adapters (Houlsby / Pfeiffer): the op against a naive double formula, the identity init, placement, switching, merging refused. */
class BottleneckTest {
    static final GptConfig CFG = new GptConfig(13, 8, 2, 2, 16, 0.0, true, GptConfig.Activation.GELU, 1e-5);
    static final IntTensor PROBE = IntTensor.wrap(new int[] {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}, 2, 8);

    static double act(PeftConfig.NonLinearity f, double v) {
        return f == PeftConfig.NonLinearity.RELU ? Math.max(0, v) : v / (1 + Math.exp(-v));
    }

    /** y + Wu·f(Wd·y + bd) + bu per token, in double. */
    static double[] naive(double[] y, double[] dw, double[] db, double[] uw, double[] ub, int tokens, int d, int b, PeftConfig.NonLinearity f) {
        double[] out = new double[tokens * d];
        for (int t = 0; t < tokens; t++) {
            double[] h = new double[b];
            for (int k = 0; k < b; k++) {
                double acc = db[k];
                for (int i = 0; i < d; i++) acc += dw[k * d + i] * y[t * d + i];
                h[k] = act(f, acc);
            }
            for (int o = 0; o < d; o++) {
                double acc = ub[o];
                for (int k = 0; k < b; k++) acc += uw[o * b + k] * h[k];
                out[t * d + o] = y[t * d + o] + acc;
            }
        }
        return out;
    }

    static Tensor randn(Rng rng, int... shape) {
        Tensor t = Tensor.zeros(shape);
        Init.normal(t, rng, 0, 1);
        return t;
    }

    static double[] d(Tensor t) {
        float[] f = t.contiguous().toArray();
        double[] o = new double[f.length];
        for (int i = 0; i < f.length; i++) o[i] = f[i];
        return o;
    }

    @ParameterizedTest
    @EnumSource(PeftConfig.NonLinearity.class)
    void opAndGradientsMatchTheNaiveDoubleFormula(PeftConfig.NonLinearity f) {
        int tokens = 5, dim = 6, b = 3;
        Rng rng = new Rng(f.ordinal() + 1);
        Tensor y = randn(rng, tokens, dim), dw = randn(rng, b, dim), db = randn(rng, b), uw = randn(rng, dim, b), ub = randn(rng, dim);
        GradCheck.Report rep = GradCheck.check(v -> BottleneckLinear.apply(v[0], v[1], v[2], f, v[3], v[4], 0f, false, null),
                r -> naive(r[0], r[1], r[2], r[3], r[4], tokens, dim, b, f), y, dw, db, uw, ub);
        assertThat(rep.ok()).as(rep.toString()).isTrue();
        double[] want = naive(d(y), d(dw), d(db), d(uw), d(ub), tokens, dim, b, f);
        double[] got = d(BottleneckLinear.apply(Variable.of(y), Variable.of(dw), Variable.of(db), f, Variable.of(uw), Variable.of(ub), 0f, false, null).data());
        for (int i = 0; i < want.length; i++) assertThat(Math.abs(got[i] - want[i])).isLessThan(1e-5 * (1 + Math.abs(want[i])));
    }

    @Test
    void layerAddsTheAdapterToTheBaseOutputAndStartsAsTheIdentity() {
        Linear base = new Linear(5, 16, true, new Rng(1));
        BottleneckLinear l = new BottleneckLinear(base).addAdapter("a", 4, PeftConfig.NonLinearity.SWISH, 0, new Rng(2));
        assertThat(l.up("a").weight.data().abs().sum().item()).isZero();
        assertThat(l.up("a").bias.data().abs().sum().item()).isZero();
        assertThat(l.down("a").bias.data().abs().sum().item()).isZero();
        float bound = (float) (1 / Math.sqrt(16));
        for (float v : l.down("a").weight.data().toArray()) assertThat(Math.abs(v)).isLessThanOrEqualTo(bound);
        Tensor x = randn(new Rng(3), 7, 5);
        try (var g = Grad.disabled()) {
            Tensor plain = dev.vectorgrad.autograd.F.linear(Variable.of(x), base.weight, base.bias).data();
            assertThat(PeftModelTest.maxAbsDiff(l.forward(Variable.of(x)).data(), plain)).as("zero up-projection: exactly the base").isZero();
            Init.normal(l.up("a").weight.data(), new Rng(4), 0, 1);
            Init.normal(l.up("a").bias.data(), new Rng(5), 0, 1);
            Init.normal(l.down("a").bias.data(), new Rng(6), 0, 1);
            // y = Wx + b computed in double, then the adapter on it
            double[] w = d(base.weight.data()), bb = d(base.bias.data()), xs = d(x), yv = new double[7 * 16];
            for (int t = 0; t < 7; t++)
                for (int o = 0; o < 16; o++) {
                    double acc = bb[o];
                    for (int i = 0; i < 5; i++) acc += w[o * 5 + i] * xs[t * 5 + i];
                    yv[t * 16 + o] = acc;
                }
            double[] want = naive(yv, d(l.down("a").weight.data()), d(l.down("a").bias.data()), d(l.up("a").weight.data()), d(l.up("a").bias.data()), 7, 16, 4,
                    PeftConfig.NonLinearity.SWISH);
            double[] got = d(l.forward(Variable.of(x)).data());
            for (int i = 0; i < want.length; i++) assertThat(Math.abs(got[i] - want[i])).isLessThan(1e-4 * (1 + Math.abs(want[i])));
        }
    }

    static Tensor logits(Gpt g) {
        g.train(false);
        try (var s = Grad.disabled()) {
            return g.forward(PROBE).data().copy();
        }
    }

    @Test
    void houlsbyAndPfeifferPlaceTheirAdaptersAndCountTheirParameters() {
        Gpt g = new Gpt(CFG, 5);
        long base = g.numParameters(false);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.houlsby());
        assertThat(pm.targets("default")).containsExactly("transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_proj", "transformer.h.1.attn.c_proj",
                "transformer.h.1.mlp.c_proj");
        // d = 16, reduction 16: b = 1; per adapter d·b + b + b·d + d
        long per = 16 + 1 + 16 + 16;
        assertThat(pm.trainableParameters()).isEqualTo(4 * per);
        assertThat(pm.totalParameters()).isEqualTo(base + 4 * per);
        assertThat(pm.summary()).startsWith("trainable params: 196 || all params: ");
        BottleneckLinear l = (BottleneckLinear) pm.adaptedLayers().get("transformer.h.0.attn.c_proj");
        assertThat(l.nonLinearity("default")).isEqualTo(PeftConfig.NonLinearity.SWISH);
        // the layer norms and every base weight are frozen
        for (Map.Entry<String, Variable> e : g.namedParameters().entrySet())
            assertThat(e.getValue().requiresGrad()).as(e.getKey()).isEqualTo(e.getKey().contains("adapter_"));

        pm.addAdapter("p", PeftConfig.pfeiffer().reductionFactor(2));
        assertThat(pm.targets("p")).containsExactly("transformer.h.0.mlp.c_proj", "transformer.h.1.mlp.c_proj");
        BottleneckLinear m = (BottleneckLinear) pm.adaptedLayers().get("transformer.h.1.mlp.c_proj");
        assertThat(m.down("p").weight.shape()).containsExactly(8, 16);
        assertThat(m.nonLinearity("p")).isEqualTo(PeftConfig.NonLinearity.RELU);
        assertThat(pm.trainableParameters()).isEqualTo(2 * (16 * 8 + 8 + 8 * 16 + 16));
        // AdapterHub's int(d // reduction_factor), raised to at least 1
        assertThat(PeftConfig.houlsby().reductionFactor(32).build().bottleneck(16)).isEqualTo(1);
        assertThat(PeftConfig.houlsby().reductionFactor(3).build().bottleneck(16)).isEqualTo(5);
    }

    @Test
    void atInitTheWrappedModelIsExactlyTheBase() {
        Tensor base = logits(new Gpt(CFG, 5));
        for (PeftConfig.Builder c : List.of(PeftConfig.houlsby(), PeftConfig.pfeiffer(), PeftConfig.houlsby().reductionFactor(2))) {
            Gpt g = new Gpt(CFG, 5);
            PeftModel.wrap(g, c);
            assertThat(PeftModelTest.maxAbsDiff(logits(g), base)).as(c.build().toString()).isZero();
        }
    }

    @Test
    void switchingDisablingDeletingAndMergeRefused() {
        Tensor base = logits(new Gpt(CFG, 5));
        Gpt g = new Gpt(CFG, 5);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.houlsby().reductionFactor(2).seed(1));
        pm.addAdapter("p", PeftConfig.pfeiffer().reductionFactor(4).seed(2));
        Rng rng = new Rng(7);
        for (String n : List.of("default", "p")) for (Variable v : pm.namedAdapterParameters(n).values()) Init.normal(v.data(), rng, 0, 0.5);
        Tensor withP = logits(g);
        assertThat(PeftModelTest.maxAbsDiff(withP, base)).isGreaterThan(1e-2);
        pm.setAdapter("default");
        Tensor withH = logits(g);
        assertThat(PeftModelTest.maxAbsDiff(withH, withP)).isGreaterThan(1e-2);
        // only the active adapter trains
        for (Variable v : pm.namedAdapterParameters("p").values()) assertThat(v.requiresGrad()).isFalse();
        for (Variable v : pm.namedAdapterParameters("default").values()) assertThat(v.requiresGrad()).isTrue();

        // the same "p" alone on a fresh base gives the same logits (the other adapter is really off)
        Gpt g2 = new Gpt(CFG, 5);
        PeftModel pm2 = PeftModel.wrap(g2, PeftConfig.pfeiffer().reductionFactor(4).seed(2));
        var src = pm.namedAdapterParameters("p").values().iterator();
        for (Variable v : pm2.namedAdapterParameters("default").values()) v.data().copyFrom(src.next().data());
        pm.setAdapter("p");
        assertThat(PeftModelTest.maxAbsDiff(logits(g), logits(g2))).isZero();

        assertThatThrownBy(pm::merge).isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot be merged").hasMessageContaining("'p'");
        assertThatThrownBy(pm::mergeAndUnload).isInstanceOf(IllegalStateException.class);
        assertThat(PeftModelTest.maxAbsDiff(logits(g), withP)).as("a refused merge changes nothing").isZero();
        assertThatThrownBy(() -> pm.addAdapter("lora", PeftConfig.lora(2, 4, "c_proj"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bottleneck adapter");

        pm.setAdaptersDisabled(true);
        assertThat(PeftModelTest.maxAbsDiff(logits(g), base)).isZero();
        pm.setAdaptersDisabled(false);
        assertThat(PeftModelTest.maxAbsDiff(logits(g), withP)).isZero();
        pm.deleteAdapter("p");
        assertThat(PeftModelTest.maxAbsDiff(logits(g), withH)).isZero();
        pm.deleteAdapter("default");
        assertThat(g.transformer.h.get(0).attn.cProj).isInstanceOf(Linear.class);
        assertThat(pm.model().namedModules().get("transformer.h.0.attn.c_proj")).isInstanceOf(Linear.class);
        assertThat(PeftModelTest.maxAbsDiff(logits(g), base)).isZero();
    }

    @Test
    void loraBelowABottleneckAdapterMergesAndTheAdapterStillAppliesAfterIt() {
        Gpt g = new Gpt(CFG, 5);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(2, 4, "c_proj").seed(1));
        pm.addAdapter("h", PeftConfig.houlsby().reductionFactor(2).seed(2));
        Rng rng = new Rng(9);
        for (String n : List.of("default", "h")) for (Variable v : pm.namedAdapterParameters(n).values()) Init.normal(v.data(), rng, 0, 0.5);
        pm.setAdapter("default");
        Tensor lora = logits(g);
        pm.merge();
        assertThat(PeftModelTest.maxAbsDiff(logits(g), lora)).isLessThan(1e-4);
        pm.unmerge();
        assertThat(PeftModelTest.maxAbsDiff(logits(g), lora)).isLessThan(1e-5);
    }

    @Test
    void savedConfigIsVectorgradsOwnAndAWrongShapeIsRefusedByName(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        Gpt g = new Gpt(CFG, 5);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.houlsby().reductionFactor(4).dropout(0.1));
        PeftFiles.save(pm, "default", dir.resolve("a"));
        Map<String, Object> j = dev.vectorgrad.tensor.Json.asMap(dev.vectorgrad.tensor.Json.read(dir.resolve("a").resolve(PeftFiles.CONFIG)), "config");
        assertThat(j.get("peft_type")).isEqualTo("BOTTLENECK");
        assertThat(((Number) j.get("reduction_factor")).doubleValue()).isEqualTo(4.0);
        assertThat(j.get("non_linearity")).isEqualTo("swish");
        try (var f = dev.vectorgrad.tensor.Safetensors.read(dir.resolve("a").resolve(PeftFiles.WEIGHTS))) {
            assertThat(f.tensor(PeftModel.PREFIX + "transformer.h.1.mlp.c_proj.adapter_down.weight").shape()).containsExactly(4, 16);
            assertThat(f.names()).hasSize(4 * 4);
        }
        PeftConfig back = PeftFiles.readConfig(dir.resolve("a"));
        assertThat(back.type()).isEqualTo(PeftConfig.Type.BOTTLENECK);
        assertThat(back.nonLinearity()).isEqualTo(PeftConfig.NonLinearity.SWISH);
        assertThat(back.dropout()).isEqualTo(0.1);
        // a model of another width: the first key's shape is named, and nothing is added
        Gpt wide = new Gpt(new GptConfig(13, 8, 2, 2, 32, 0.0, true, GptConfig.Activation.GELU, 1e-5), 5);
        assertThatThrownBy(() -> PeftFiles.load(wide, dir.resolve("a"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("transformer.h.0.attn.c_proj.adapter_down.weight").hasMessageContaining("[4, 16]");
        assertThat(wide.namedModules().get("transformer.h.0.attn.c_proj")).isInstanceOf(Linear.class);
    }

    @Test
    void configRefusesBadValues() {
        assertThatThrownBy(() -> PeftConfig.houlsby().reductionFactor(0).build()).hasMessageContaining("reduction_factor");
        assertThatThrownBy(() -> PeftConfig.pfeiffer().nonLinearity(null).build()).hasMessageContaining("non_linearity");
        assertThatThrownBy(() -> PeftConfig.houlsby().dora(true).build()).hasMessageContaining("LoRA options");
    }
}
