package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.GradCheck;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftModelTest {
    @TempDir Path tmp;

    static Tensor input(int n, int d, long seed) {
        Tensor x = Tensor.zeros(n, d);
        Init.normal(x, new Rng(seed), 0, 1);
        return x;
    }

    static Tensor run(Module m, Tensor x) {
        try (var g = Grad.disabled()) {
            return m.forward(Variable.of(x)).data().contiguous();
        }
    }

    /** Gives every zero-initialised adapter part random values so adapters are not no-ops. */
    static void randomise(PeftModel pm, String name, long seed) {
        Rng rng = new Rng(seed);
        for (AdapterLinear a : pm.adapterLayers()) {
            if (!a.hasAdapter(name)) continue;
            if (a instanceof LoraLinear l) Init.normal(l.b(name).data(), rng, 0, 0.3);
            if (a instanceof VeraLinear v) { Init.normal(v.lambdaB(name).data(), rng, 0, 1); Init.normal(v.lambdaD(name).data(), rng, 0, 1); }
        }
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        float[] x = a.contiguous().toArray(), y = b.contiguous().toArray();
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs((double) x[i] - y[i]));
        return m;
    }

    @Test
    void loraLayerComputesBaseplusScaledBA() {
        Linear base = new Linear(6, 4, true, new Rng(1));
        LoraLinear l = new LoraLinear(base).addAdapter("default", 3, 12, false, 0, new Rng(2));
        assertThat(l.b("default").data().abs().sum().item()).isZero();
        float bound = (float) (1 / Math.sqrt(6));
        for (float v : l.a("default").data().toArray()) assertThat(Math.abs(v)).isLessThanOrEqualTo(bound);
        Init.normal(l.b("default").data(), new Rng(3), 0, 1);
        Tensor x = input(5, 6, 4);
        Tensor expect = x.matmul(base.weight.data().t()).add(base.bias.data())
                .add(x.matmul(l.a("default").data().t()).matmul(l.b("default").data().t()).mul(4f));
        assertThat(maxAbsDiff(run(l, x), expect)).isLessThan(1e-5);
        assertThat(l.scaling("default")).isEqualTo(4f);
        assertThat(new LoraLinear(new Linear(6, 4)).addAdapter("r", 4, 8, true, 0, new Rng(1)).scaling("r")).isEqualTo(4f); // α/√r
        assertThat(base.weight.requiresGrad()).isFalse();
        assertThat(l.a("default").requiresGrad()).isTrue();
    }

    @Test
    void veraLayerMatchesFormulaAndGradCheck() {
        VeraProjections p = VeraProjections.fromKey(5, 4, 8, 9);
        Linear base = new Linear(6, 7, true, new Rng(1));
        VeraLinear v = new VeraLinear(base).addAdapter("default", p, 0.1, 0);
        assertThat(v.lambdaB("default").data().abs().sum().item()).isZero();
        Init.normal(v.lambdaB("default").data(), new Rng(2), 0, 1);
        Init.normal(v.lambdaD("default").data(), new Rng(3), 0, 1);
        Tensor x = input(3, 6, 4);
        Tensor as = p.a().narrow(1, 0, 6), bs = p.b().narrow(0, 0, 7);
        Tensor expect = x.matmul(base.weight.data().t()).add(base.bias.data())
                .add(x.matmul(as.t()).mul(v.lambdaD("default").data()).matmul(bs.t()).mul(v.lambdaB("default").data()));
        assertThat(maxAbsDiff(run(v, x), expect)).isLessThan(1e-5);
        // the fused op's backward against central differences of a double reference
        GradCheck.Report r = GradCheck.check(in -> VeraOp.apply(in[0], p, in[1], in[2]), d -> {
            double[] xs = d[0], ld = d[1], lb = d[2];
            double[] y = new double[3 * 7];
            for (int n = 0; n < 3; n++)
                for (int o = 0; o < 7; o++) {
                    double s = 0;
                    for (int j = 0; j < 4; j++) {
                        double u = 0;
                        for (int i = 0; i < 6; i++) u += p.a().get(j, i) * xs[n * 6 + i];
                        s += p.b().get(o, j) * ld[j] * u;
                    }
                    y[n * 7 + o] = lb[o] * s;
                }
            return y;
        }, x, v.lambdaD("default").data().copy(), v.lambdaB("default").data().copy());
        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(v.deltaWeight("default").sub(bs.mul(v.lambdaB("default").data().reshape(7, 1)).matmul(as.mul(v.lambdaD("default").data().reshape(4, 1)))).abs().max(0, false).max(0, false).item())
                .isLessThan(1e-6f);
    }

    /** VeRA's weight form (W₀ + ΔW(λ)) and its per-token form give the same outputs and gradients. */
    @Test
    void veraWeightPathEqualsPerTokenPath() {
        int in = 19, out = 23, r = 11;
        VeraProjections p = VeraProjections.fromKey(9, r, 21, 25);
        float[][] ys = new float[2][], gx = new float[2][], gd = new float[2][], gb = new float[2][];
        for (int path = 0; path < 2; path++) {
            Linear base = new Linear(in, out, true, new Rng(1));
            VeraLinear v = new VeraLinear(base).addAdapter("default", p, 0.1, 0);
            Init.normal(v.lambdaB("default").data(), new Rng(2), 0, 1);
            Init.normal(v.lambdaD("default").data(), new Rng(3), 0, 1);
            Variable x = Variable.param(input(35, in, 11).reshape(5, 7, in)); // 35 tokens
            VeraLinear.forceWeightPath = path == 1;
            try {
                Variable y = v.forward(x);
                y.mul(Variable.of(input(35, out, 12).reshape(5, 7, out))).sum().backward();
                ys[path] = y.data().toArray();
            } finally {
                VeraLinear.forceWeightPath = null;
            }
            gx[path] = x.grad().toArray();
            gd[path] = v.lambdaD("default").grad().toArray();
            gb[path] = v.lambdaB("default").grad().toArray();
        }
        assertClose(ys[1], ys[0], 1e-5);
        assertClose(gx[1], gx[0], 1e-5);
        assertClose(gd[1], gd[0], 1e-4);
        assertClose(gb[1], gb[0], 1e-4);
    }

    /** The weight form's own backward against central differences of a double reference. */
    @Test
    void veraDeltaWeightGradCheck() {
        int in = 6, out = 5, r = 3;
        VeraProjections p = VeraProjections.fromKey(4, r, 7, 6);
        Tensor ld = input(1, r, 13).reshape(r), lb = input(1, out, 14).reshape(out);
        GradCheck.Report rep = GradCheck.check(v -> VeraDeltaWeight.apply(p, in, out, v[0], v[1]), d -> {
            double[] w = new double[out * in];
            for (int o = 0; o < out; o++)
                for (int i = 0; i < in; i++) {
                    double s = 0;
                    for (int j = 0; j < r; j++) s += p.b().get(o, j) * d[0][j] * p.a().get(j, i);
                    w[o * in + i] = d[1][o] * s;
                }
            return w;
        }, ld, lb);
        assertThat(rep.ok()).as(rep.toString()).isTrue();
    }

    private static void assertClose(float[] got, float[] want, double tol) {
        assertThat(got).hasSameSizeAs(want);
        for (int i = 0; i < got.length; i++)
            assertThat((double) got[i]).as("element %d", i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(tol * (1 + Math.abs(want[i]))));
    }

    @Test
    void targetsByListRegexAllLinearExcludeLayersAndPatterns() {
        Toy m = new Toy(4, 3, 1);
        assertThat(PeftModel.resolve(m, PeftConfig.lora(2, 2, "q_proj"))).containsExactly("layers.0.attn.q_proj", "layers.1.attn.q_proj", "layers.2.attn.q_proj");
        assertThat(PeftModel.resolve(m, PeftConfig.lora(2, 2, "1.attn.v_proj", "layers.2.fc"))).containsExactly("layers.1.attn.v_proj", "layers.2.fc");
        assertThat(PeftModel.resolve(m, PeftConfig.lora(2, 2).targetRegex(".*\\.(q|v)_proj").layers(0)))
                .containsExactly("layers.0.attn.q_proj", "layers.0.attn.v_proj");
        assertThatThrownBy(() -> PeftModel.resolve(m, PeftConfig.lora(2, 2).targetRegex("q_proj"))) // must match the whole path
                .hasMessageContaining("selects no Linear");
        List<String> all = PeftModel.resolve(m, PeftConfig.lora(2, 2, PeftConfig.ALL_LINEAR).exclude("fc"));
        assertThat(all).hasSize(6).doesNotContain("lm_head").allMatch(s -> s.endsWith("_proj"));
        assertThat(PeftModel.resolve(m, PeftConfig.lora(2, 2, PeftConfig.ALL_LINEAR))).hasSize(9).doesNotContain("lm_head");
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "q_proj", "fc").rankPattern("layers.1.fc", 3).alphaPattern("fc", 6));
        LoraLinear l1 = (LoraLinear) pm.adaptedLayers().get("layers.1.fc");
        assertThat(l1.rank("default")).isEqualTo(3);
        assertThat(l1.scaling("default")).isEqualTo(2f);
        LoraLinear l0 = (LoraLinear) pm.adaptedLayers().get("layers.0.fc");
        assertThat(l0.rank("default")).isEqualTo(2);
        assertThat(l0.scaling("default")).isEqualTo(3f);
        assertThat(((LoraLinear) pm.adaptedLayers().get("layers.0.attn.q_proj")).scaling("default")).isEqualTo(2f);
    }

    @Test
    void baseFrozenOnlyAdapterTrainsAndNamesArePefts() {
        Toy m = new Toy(4, 2, 1);
        long total = m.numParameters(false);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 2, "q_proj"));
        assertThat(pm.trainableParameters()).isEqualTo(2L * (2 * 4 + 4 * 2));
        assertThat(pm.totalParameters()).isEqualTo(total + pm.trainableParameters());
        assertThat(pm.summary()).isEqualTo(String.format(java.util.Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                pm.trainableParameters(), pm.totalParameters(), 100.0 * pm.trainableParameters() / pm.totalParameters()));
        List<String> trainable = new ArrayList<>();
        m.namedParameters().forEach((k, v) -> { if (v.requiresGrad()) trainable.add(k); });
        assertThat(trainable).containsExactly("layers.0.attn.q_proj.lora_A.default.weight", "layers.0.attn.q_proj.lora_B.default.weight",
                "layers.1.attn.q_proj.lora_A.default.weight", "layers.1.attn.q_proj.lora_B.default.weight");
        assertThat(m.namedParameters()).containsKey("layers.0.attn.q_proj.base_layer.weight");
        // the forward goes through the adapter even though Toy calls its Linear fields directly
        randomise(pm, "default", 9);
        Tensor x = input(3, 4, 2);
        Tensor adapted = run(m, x);
        pm.setAdaptersDisabled(true);
        Tensor plain = run(m, x);
        assertThat(maxAbsDiff(adapted, plain)).isGreaterThan(1e-3);
        // VeRA counts Σ(out + r)
        Toy m2 = new Toy(4, 2, 1);
        PeftModel v = PeftModel.wrap(m2, PeftConfig.vera(3, 7, "q_proj", "fc"));
        assertThat(v.trainableParameters()).isEqualTo(2L * ((4 + 3) + (8 + 3)));
        VeraProjections p = v.projections("default");
        assertThat(p.maxIn()).isEqualTo(4);
        assertThat(p.maxOut()).isEqualTo(8);
    }

    @Test
    void errorsNameTheProblemAndChangeNothing() {
        Toy m = new Toy(4, 2, 1);
        List<String> before = new ArrayList<>(m.namedParameters().keySet());
        Tensor x = input(2, 4, 3);
        Tensor y0 = run(m, x);
        assertThatThrownBy(() -> PeftModel.wrap(m, PeftConfig.lora(2, 2, "q_proj", "k_proj"))).hasMessageContaining("'k_proj'");
        assertThatThrownBy(() -> PeftModel.wrap(m, PeftConfig.lora(0, 2, "q_proj"))).hasMessageContaining("r must be positive");
        assertThatThrownBy(() -> PeftModel.wrap(m, PeftConfig.lora(2, 2, "q_proj").rankPattern("layers.1.attn.q_proj", 0)))
                .hasMessageContaining("layers.1.attn.q_proj");
        assertThatThrownBy(() -> PeftModel.wrap(m, PeftConfig.lora(2, 2, "norm"))).hasMessageContaining("layers.0.norm").hasMessageContaining("LayerNorm");
        assertThat(m.namedParameters().keySet()).containsExactlyElementsOf(before);
        assertThat(m.numParameters(true)).isEqualTo(m.numParameters(false));
        assertThat(maxAbsDiff(run(m, x), y0)).isZero();
    }

    @Test
    void mergeUnmergeAndMergeAndUnload() {
        for (PeftConfig cfg : List.of(PeftConfig.lora(2, 4, "q_proj", "fc").build(), PeftConfig.vera(3, 11, "q_proj", "fc").build())) {
            Toy m = new Toy(4, 2, 1);
            Tensor w0 = m.layers.get(0).fc.weight.data().copy();
            Tensor x = input(3, 4, 2);
            PeftModel pm = PeftModel.wrap(m, cfg);
            randomise(pm, "default", 5);
            Tensor unmerged = run(m, x);
            pm.merge();
            assertThat(maxAbsDiff(m.layers.get(0).fc.weight.data(), w0)).isGreaterThan(1e-4);
            assertThat(maxAbsDiff(run(m, x), unmerged)).isLessThan(1e-5);
            pm.unmerge();
            assertThat(maxAbsDiff(m.layers.get(0).fc.weight.data(), w0)).isLessThan(1e-6);
            assertThat(maxAbsDiff(run(m, x), unmerged)).isLessThan(1e-6);
            Module plain = pm.mergeAndUnload();
            assertThat(plain.namedModules().get("layers.0.fc")).isInstanceOf(Linear.class);
            assertThat(plain.namedParameters().keySet()).noneMatch(k -> k.contains("lora") || k.contains("vera") || k.contains("base_layer"));
            assertThat(m.layers.get(0).fc.forwardDelegate()).isNull();
            assertThat(maxAbsDiff(run(plain, x), unmerged)).isLessThan(1e-5);
        }
    }

    @Test
    void safeMergeRefusesNonFiniteValues() {
        Toy m = new Toy(4, 1, 1);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "fc"));
        LoraLinear l = (LoraLinear) pm.adaptedLayers().get("layers.0.fc");
        l.b("default").data().set(Float.POSITIVE_INFINITY, 0, 0);
        Tensor w0 = m.layers.get(0).fc.weight.data().copy();
        assertThatThrownBy(pm::merge).hasMessageContaining("non-finite");
        assertThat(m.layers.get(0).fc.weight.data().contentEquals(w0)).isTrue();
        assertThat(l.isMerged()).isFalse();
    }

    @Test
    void severalNamedAdaptersLoraAndVeraTogether() {
        Toy m = new Toy(4, 2, 1);
        Tensor x = input(3, 4, 2);
        Tensor base = run(m, x);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "q_proj"));
        randomise(pm, "default", 1);
        Tensor withLora = run(m, x);
        pm.addAdapter("v", PeftConfig.vera(3, 2, "q_proj", "fc"));
        randomise(pm, "v", 2);
        assertThat(pm.activeAdapter()).isEqualTo("v");
        Tensor withVera = run(m, x);
        assertThat(maxAbsDiff(withVera, withLora)).isGreaterThan(1e-4);
        // only the active adapter trains
        assertThat(pm.trainableParameters()).isEqualTo(2L * ((4 + 3) + (8 + 3)));
        pm.setAdapter("default");
        assertThat(maxAbsDiff(run(m, x), withLora)).isLessThan(1e-6);
        assertThat(pm.trainableParameters()).isEqualTo(2L * (2 * 4 + 4 * 2));
        pm.setAdaptersDisabled(true);
        assertThat(maxAbsDiff(run(m, x), base)).isLessThan(1e-6);
        pm.setAdaptersDisabled(false);
        pm.deleteAdapter("default");
        assertThat(pm.activeAdapter()).isEqualTo("v");
        assertThat(maxAbsDiff(run(m, x), withVera)).isLessThan(1e-6);
        assertThat(m.namedParameters().keySet()).noneMatch(k -> k.contains("lora"));
        pm.deleteAdapter("v");
        assertThat(m.namedModules().get("layers.0.attn.q_proj")).isInstanceOf(Linear.class);
        assertThat(maxAbsDiff(run(m, x), base)).isZero();
        assertThat(m.layers.get(0).attn.qProj.forwardDelegate()).isNull();
    }

    @Test
    void peftDirectoriesRoundTripAndVeraExportsAsExactLora() throws Exception {
        Tensor x = input(3, 4, 2);
        for (PeftConfig cfg : List.of(PeftConfig.lora(2, 4, "q_proj", "fc").rankPattern("fc", 3).build(), PeftConfig.vera(3, 11, "q_proj", "fc").build(),
                PeftConfig.vera(3, 11, "q_proj", "fc").saveProjection(false).build())) {
            Toy m = new Toy(4, 2, 1);
            PeftModel pm = PeftModel.wrap(m, cfg);
            randomise(pm, "default", 5);
            Tensor y = run(m, x);
            Path dir = Files.createTempDirectory(tmp, "adapter");
            PeftFiles.save(pm, "default", dir);
            Toy m2 = new Toy(4, 2, 1);
            PeftModel back = PeftFiles.load(m2, dir);
            assertThat(maxAbsDiff(run(m2, x), y)).isZero();
            if (cfg.type() == PeftConfig.Type.VERA) {
                assertThat(back.projections("default").a().contentEquals(pm.projections("default").a())).isTrue();
                assertThat(back.projections("default").b().contentEquals(pm.projections("default").b())).isTrue();
                Path lora = Files.createTempDirectory(tmp, "as-lora");
                PeftFiles.saveVeraAsLora(pm, "default", lora);
                Toy m3 = new Toy(4, 2, 1);
                PeftModel asLora = PeftFiles.load(m3, lora);
                assertThat(asLora.config("default").type()).isEqualTo(PeftConfig.Type.LORA);
                assertThat(maxAbsDiff(run(m3, x), y)).isLessThan(1e-5);
            }
        }
    }

    @Test
    void malformedDirectoriesAreRejectedNamingTheKeyAndChangeNothing() throws Exception {
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "q_proj"));
        Path dir = tmp.resolve("a");
        PeftFiles.save(pm, "default", dir);
        // drop one tensor
        var sd = dev.vectorgrad.tensor.Safetensors.readAll(dir.resolve(PeftFiles.WEIGHTS));
        sd.remove("base_model.model.layers.1.attn.q_proj.lora_B.weight");
        dev.vectorgrad.tensor.Safetensors.write(dir.resolve(PeftFiles.WEIGHTS), sd);
        Toy fresh = new Toy(4, 2, 1);
        List<String> before = new ArrayList<>(fresh.namedParameters().keySet());
        assertThatThrownBy(() -> PeftFiles.load(fresh, dir)).hasMessageContaining("base_model.model.layers.1.attn.q_proj.lora_B.weight");
        sd.put("base_model.model.layers.1.attn.q_proj.lora_B.weight", Tensor.zeros(4, 3));
        dev.vectorgrad.tensor.Safetensors.write(dir.resolve(PeftFiles.WEIGHTS), sd);
        assertThatThrownBy(() -> PeftFiles.load(fresh, dir)).hasMessageContaining("layers.1.attn.q_proj.lora_B.weight").hasMessageContaining("[4, 3]");
        String json = Files.readString(dir.resolve(PeftFiles.CONFIG)).replace("\"q_proj\"", "\"k_proj\"");
        Files.writeString(dir.resolve(PeftFiles.CONFIG), json);
        assertThatThrownBy(() -> PeftFiles.load(fresh, dir)).hasMessageContaining("k_proj");
        assertThat(fresh.namedParameters().keySet()).containsExactlyElementsOf(before);
        assertThat(fresh.numParameters(true)).isEqualTo(fresh.numParameters(false));
    }

    @Test
    void nativeVeraFileHoldsOnlyLambdasAndTheKeyAndRegeneratesBitIdentically() throws Exception {
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.vera(16, 1234, "q_proj", "fc"));
        randomise(pm, "default", 5);
        Tensor x = input(3, 4, 2);
        Tensor y = run(m, x);
        Path f = tmp.resolve("vera.safetensors");
        PeftFiles.saveNative(pm, "default", f);
        var sd = dev.vectorgrad.tensor.Safetensors.readAll(f);
        assertThat(sd.keySet()).allMatch(k -> k.contains("vera_lambda"));
        long payload = 4L * 2 * ((4 + 16) + (8 + 16));
        long header;
        try (var sf = dev.vectorgrad.tensor.Safetensors.read(f)) { header = Files.size(f) - sf.dataLength(); }
        assertThat(Files.size(f) - header).isEqualTo(payload);
        Toy m2 = new Toy(4, 2, 1);
        PeftModel back = PeftModel.of(m2);
        PeftFiles.loadNative(back, f, "default");
        assertThat(back.projections("default").a().contentEquals(pm.projections("default").a())).isTrue();
        assertThat(back.projections("default").b().contentEquals(pm.projections("default").b())).isTrue();
        assertThat(back.projections("default").a().contentEquals(
                dev.vectorgrad.tensor.TorchGenerator.veraProjections(1234, 16, 4, 8)[0])).isTrue();
        assertThat(maxAbsDiff(run(m2, x), y)).isZero();
        // the same adapter as a PEFT directory without the projections
        Path dir = tmp.resolve("peft-noproj");
        PeftFiles.save(pm, "default", dir, false);
        assertThat(dev.vectorgrad.tensor.Safetensors.readAll(dir.resolve(PeftFiles.WEIGHTS)).keySet()).noneMatch(k -> k.contains("vera_A"));
        assertThat(Files.readString(dir.resolve(PeftFiles.CONFIG))).contains("\"save_projection\": false");
    }
}
