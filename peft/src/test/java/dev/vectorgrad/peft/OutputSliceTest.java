package dev.vectorgrad.peft;

import static dev.vectorgrad.peft.DoraTest.d;
import static dev.vectorgrad.peft.DoraTest.randn;
import static dev.vectorgrad.peft.PeftModelTest.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.GradCheck;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.transformer.HfGpt2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapters on an output slice of GPT-2's fused {@code c_attn} ({@code c_attn.q}, {@code .k}, {@code .v}): the
 * layer's forward and backward against naive double-precision formulas written here, parameter counts from the
 * shapes, a merge that touches only the slice's rows, and the errors for what cannot be sliced.
 */
class OutputSliceTest {
    static final GptConfig CFG = AdapterReloadTest.CFG; // n_embd 16: c_attn 16 → 48, q / k / v rows 0 / 16 / 32
    static final int C = 16, R = 2;
    static final String L0 = "transformer.h.0.attn.c_attn";

    static Linear cAttn(Gpt g, int layer) {
        return g.transformer.h.get(layer).attn.cAttn;
    }

    @Test
    void sliceAddGradientsMatchADoubleReferenceOnBothAxes() {
        Rng rng = new Rng(5);
        // activations: y [2, 3, 7], d [2, 3, 2] into columns 4..6
        GradCheck.Report act = GradCheck.check(v -> SliceAdd.apply(v[0], v[1], -1, 4), ref -> {
            double[] y = ref[0].clone();
            for (int t = 0; t < 6; t++) for (int j = 0; j < 2; j++) y[t * 7 + 4 + j] += ref[1][t * 2 + j];
            return y;
        }, randn(rng, 2, 3, 7), randn(rng, 2, 3, 2));
        assertThat(act.ok()).as(act.toString()).isTrue();
        // a weight: W [6, 4], ΔW [2, 4] into rows 2..3
        GradCheck.Report w = GradCheck.check(v -> SliceAdd.apply(v[0], v[1], 0, 2), ref -> {
            double[] y = ref[0].clone();
            for (int i = 0; i < 8; i++) y[8 + i] += ref[1][i];
            return y;
        }, randn(rng, 6, 4), randn(rng, 2, 4));
        assertThat(w.ok()).as(w.toString()).isTrue();
        assertThatThrownBy(() -> SliceAdd.apply(Variable.of(Tensor.zeros(2, 7)), Variable.of(Tensor.zeros(2, 3)), -1, 5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 3]").hasMessageContaining("offset 5");
    }

    @Test
    void qAndVAreSeparateSliceLayersOfOneAdapter() {
        Gpt g = new Gpt(CFG, 11);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_attn.q", "c_attn.v").seed(1));
        assertThat(pm.targets("default")).containsExactly(L0 + ".q", L0 + ".v", "transformer.h.1.attn.c_attn.q", "transformer.h.1.attn.c_attn.v");
        LoraLinear q = (LoraLinear) pm.layer(L0 + ".q", "default"), v = (LoraLinear) pm.layer(L0 + ".v", "default");
        assertThat(q).isNotSameAs(v);
        assertThat(q.outputSlice()).isEqualTo(new OutputSlice("q", 0, C));
        assertThat(v.outputSlice()).isEqualTo(new OutputSlice("v", 2 * C, C));
        assertThat(q.outFeatures()).isEqualTo(C);
        assertThat(q.a("default").shape()).containsExactly(R, C);
        assertThat(q.b("default").shape()).containsExactly(C, R); // B has only the slice's rows
        assertThat(q.linear()).isSameAs(v.linear()).isSameAs(cAttn(g, 0));
        // r·(in + slice) per slice, two slices in each of two layers
        assertThat(pm.trainableParameters()).isEqualTo(2L * 2 * R * (C + C));
        // with B = 0 (the init) the model is unchanged
        Gpt base = new Gpt(CFG, 11);
        IntTensor ids = IntTensor.wrap(new int[] {1, 2, 3, 4, 5, 6}, 1, 6);
        assertThat(maxAbsDiff(AdapterReloadTest.logits(g, ids), AdapterReloadTest.logits(base, ids))).isZero();
    }

    /** y = x·Wᵀ + b + Σ_slices s·(x·Aᵀ·Bᵀ) on that slice's columns, in double; x [n, in], W [out, in]. */
    static double[] naiveForward(double[] x, double[] w, double[] bias, List<double[][]> ab, List<OutputSlice> sl, int n, int in, int out, int r, double s) {
        double[] y = new double[n * out];
        for (int t = 0; t < n; t++)
            for (int o = 0; o < out; o++) {
                double acc = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) acc += x[t * in + i] * w[o * in + i];
                y[t * out + o] = acc;
            }
        for (int k = 0; k < sl.size(); k++) {
            double[] a = ab.get(k)[0], b = ab.get(k)[1];
            OutputSlice q = sl.get(k);
            for (int t = 0; t < n; t++)
                for (int o = 0; o < q.size(); o++) {
                    double acc = 0;
                    for (int j = 0; j < r; j++) {
                        double ax = 0;
                        for (int i = 0; i < in; i++) ax += a[j * in + i] * x[t * in + i];
                        acc += b[o * r + j] * ax;
                    }
                    y[t * out + q.offset() + o] += s * acc;
                }
        }
        return y;
    }

    @Test
    void forwardAndBackwardOfLoraOnQAndVMatchClosedForms() {
        Gpt g = new Gpt(CFG, 11);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(R, 3, "c_attn.q", "c_attn.v").seed(2));
        LoraLinear q = (LoraLinear) pm.layer(L0 + ".q", "default"), v = (LoraLinear) pm.layer(L0 + ".v", "default");
        Rng rng = new Rng(7);
        try (var off = Grad.disabled()) {
            q.b("default").data().copyFrom(randn(rng, C, R));
            v.b("default").data().copyFrom(randn(rng, C, R));
        }
        double s = 3.0 / R;
        int n = 5;
        Tensor x = randn(rng, 1, n, C);
        Variable xv = new Variable(x.copy(), true);
        Variable y = cAttn(g, 0).forward(xv); // the Linear's forward runs its wrapper chain
        double[] w = d(cAttn(g, 0).weight.data()), bias = d(cAttn(g, 0).bias.data());
        List<OutputSlice> sl = List.of(q.outputSlice(), v.outputSlice());
        List<double[][]> ab = List.of(new double[][] {d(q.a("default").data()), d(q.b("default").data())},
                new double[][] {d(v.a("default").data()), d(v.b("default").data())});
        double[] want = naiveForward(d(x), w, bias, ab, sl, n, C, 3 * C, R, s);
        double[] got = d(y.data());
        for (int i = 0; i < want.length; i++) assertThat(Math.abs(got[i] - want[i])).as("y[%d]", i).isLessThan(1e-5 * (1 + Math.abs(want[i])));
        // k's columns are exactly the base layer's
        Tensor baseY = xv.data().reshape(n, C).matmul(cAttn(g, 0).weight.data().transpose(0, 1)).add(cAttn(g, 0).bias.data());
        assertThat(maxAbsDiff(y.data().reshape(n, 3 * C).narrow(1, C, C), baseY.narrow(1, C, C))).isLessThan(1e-6);

        // backward with a random upstream gradient G [n, 3C]: against the closed forms in double
        Tensor gt = randn(rng, 1, n, 3 * C);
        y.backward(gt);
        double[] gg = d(gt), xd = d(x);
        double[] dx = new double[n * C];
        for (int t = 0; t < n; t++)
            for (int i = 0; i < C; i++) {
                double acc = 0;
                for (int o = 0; o < 3 * C; o++) acc += gg[t * 3 * C + o] * w[o * C + i];
                dx[t * C + i] = acc;
            }
        for (int k = 0; k < 2; k++) {
            double[] a = ab.get(k)[0], b = ab.get(k)[1];
            int offset = sl.get(k).offset();
            LoraLinear l = k == 0 ? q : v;
            double[] da = new double[R * C], db = new double[C * R];
            for (int t = 0; t < n; t++) {
                double[] gb = new double[R]; // (G_slice·B)[t, j]
                double[] ax = new double[R]; // (x·Aᵀ)[t, j]
                for (int j = 0; j < R; j++) {
                    for (int o = 0; o < C; o++) gb[j] += gg[t * 3 * C + offset + o] * b[o * R + j];
                    for (int i = 0; i < C; i++) ax[j] += a[j * C + i] * xd[t * C + i];
                }
                for (int j = 0; j < R; j++) {
                    for (int i = 0; i < C; i++) {
                        da[j * C + i] += s * gb[j] * xd[t * C + i];   // dA = s·(G_s·B)ᵀ·x
                        dx[t * C + i] += s * gb[j] * a[j * C + i];    // dx += s·G_s·B·A
                    }
                    for (int o = 0; o < C; o++) db[o * R + j] += s * gg[t * 3 * C + offset + o] * ax[j]; // dB = s·G_sᵀ·(x·Aᵀ)
                }
            }
            assertClose(l.a("default").grad(), da, "dA of " + sl.get(k).name());
            assertClose(l.b("default").grad(), db, "dB of " + sl.get(k).name());
        }
        assertClose(xv.grad(), dx, "dx");
        assertThat(cAttn(g, 0).weight.grad()).as("W is frozen").isNull();
    }

    static void assertClose(Tensor got, double[] want, String what) {
        double[] gd = d(got);
        assertThat(gd.length).as(what).isEqualTo(want.length);
        for (int i = 0; i < want.length; i++) assertThat(Math.abs(gd[i] - want[i])).as(what + "[" + i + "]").isLessThan(1e-4 * (1 + Math.abs(want[i])));
    }

    @Test
    void mergeWritesOnlyTheSliceRowsAndUnmergeRestoresThem() {
        Gpt g = new Gpt(CFG, 11);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_attn.q", "c_attn.v").seed(3));
        Rng rng = new Rng(8);
        for (String t : pm.targets("default"))
            try (var off = Grad.disabled()) {
                ((LoraLinear) pm.layer(t, "default")).b("default").data().copyFrom(randn(rng, C, R));
            }
        IntTensor ids = IntTensor.wrap(new int[] {3, 1, 4, 1, 5, 9, 2, 6}, 1, 8);
        Tensor unmerged = AdapterReloadTest.logits(g, ids);
        Tensor w0 = cAttn(g, 0).weight.data().copy();
        LoraLinear q = (LoraLinear) pm.layer(L0 + ".q", "default"), v = (LoraLinear) pm.layer(L0 + ".v", "default");
        assertThat(q.deltaWeight("default").shape()).containsExactly(C, C); // ΔW_q
        pm.merge();
        Tensor w1 = cAttn(g, 0).weight.data();
        // k's rows keep their bits; q's and v's rows are W + s·B·A (naive, in double)
        assertThat(maxAbsDiff(w1.narrow(0, C, C), w0.narrow(0, C, C))).isZero();
        for (LoraLinear l : List.of(q, v)) {
            double[] a = d(l.a("default").data()), b = d(l.b("default").data()), w = d(w0);
            int off = l.outputSlice().offset();
            double[] merged = d(w1);
            for (int o = 0; o < C; o++)
                for (int i = 0; i < C; i++) {
                    double dw = 0;
                    for (int j = 0; j < R; j++) dw += b[o * R + j] * a[j * C + i];
                    double want = w[(off + o) * C + i] + 2.0 * dw; // s = α/r = 4/2
                    assertThat(Math.abs(merged[(off + o) * C + i] - want)).isLessThan(1e-5 * (1 + Math.abs(want)));
                }
        }
        assertThat(q.passThrough()).isTrue();
        assertThat(maxAbsDiff(AdapterReloadTest.logits(g, ids), unmerged)).isLessThan(1e-5);
        pm.unmerge();
        assertThat(maxAbsDiff(cAttn(g, 0).weight.data(), w0)).isLessThan(1e-6);
        assertThat(maxAbsDiff(AdapterReloadTest.logits(g, ids), unmerged)).isLessThan(1e-5);
        // merge and unload: a plain GPT with the slices folded in
        pm.mergeAndUnload();
        assertThat(g.namedModules().get(L0)).isExactlyInstanceOf(Linear.class);
        assertThat(maxAbsDiff(AdapterReloadTest.logits(g, ids), unmerged)).isLessThan(1e-5);
    }

    @Test
    void veraOnQAndVSizesItsProjectionsBySliceAndMatchesItsClosedFormOnBothPaths() {
        Gpt g = new Gpt(CFG, 11);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.vera(4, 3, "c_attn.q", "c_attn.v").seed(4));
        VeraProjections p = pm.projections("default");
        assertThat(p.maxIn()).isEqualTo(C);
        assertThat(p.maxOut()).isEqualTo(C); // slice out = n_embd, not 3·n_embd
        assertThat(pm.trainableParameters()).isEqualTo(2L * 2 * (C + 4)); // λ_b (slice) + λ_d (r) per slice
        VeraLinear v = (VeraLinear) pm.layer(L0 + ".v", "default");
        Rng rng = new Rng(9);
        try (var off = Grad.disabled()) {
            v.lambdaB("default").data().copyFrom(randn(rng, C));
            v.lambdaD("default").data().copyFrom(randn(rng, 4));
        }
        // ΔW_v = diag(λ_b)·B[:C]·diag(λ_d)·A[:, :C] in double
        double[] lb = d(v.lambdaB("default").data()), ld = d(v.lambdaD("default").data()), a = d(p.a()), b = d(p.b());
        double[] dw = new double[C * C];
        for (int o = 0; o < C; o++)
            for (int i = 0; i < C; i++)
                for (int j = 0; j < 4; j++) dw[o * C + i] += lb[o] * b[o * 4 + j] * ld[j] * a[j * C + i];
        assertClose(v.deltaWeight("default"), dw, "ΔW_v");
        Tensor x = randn(rng, 3, C);
        Tensor base = x.matmul(cAttn(g, 0).weight.data().transpose(0, 1)).add(cAttn(g, 0).bias.data());
        double[] want = d(base), xd = d(x);
        for (int t = 0; t < 3; t++)
            for (int o = 0; o < C; o++)
                for (int i = 0; i < C; i++) want[t * 3 * C + 2 * C + o] += dw[o * C + i] * xd[t * C + i];
        try {
            for (Boolean weightPath : new Boolean[] {false, true}) {
                VeraLinear.forceWeightPath = weightPath;
                Variable lb0 = v.lambdaB("default");
                lb0.zeroGrad();
                Variable y = cAttn(g, 0).forward(Variable.of(x));
                assertClose(y.data(), want, "y, weight path " + weightPath);
                // dλ_b[o] = Σ_t G[t, 2C+o]·(ΔW/λ_b · x)[t, o]
                Tensor gt = randn(new Rng(10), 3, 3 * C);
                y.backward(gt);
                double[] gd = d(gt), dlb = new double[C];
                for (int t = 0; t < 3; t++)
                    for (int o = 0; o < C; o++) {
                        double m = 0;
                        for (int i = 0; i < C; i++) m += dw[o * C + i] / lb[o] * xd[t * C + i];
                        dlb[o] += gd[t * 3 * C + 2 * C + o] * m;
                    }
                assertClose(lb0.grad(), dlb, "dλ_b, weight path " + weightPath);
            }
        } finally {
            VeraLinear.forceWeightPath = null;
        }
    }

    @Test
    void slicesOfSeveralAdaptersStackSwitchAndDelete() {
        Gpt g = new Gpt(CFG, 11);
        IntTensor ids = IntTensor.wrap(new int[] {3, 1, 4, 1, 5, 9}, 1, 6);
        Tensor base = AdapterReloadTest.logits(g, ids);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_attn.q", "c_attn.v").seed(5));
        pm.addAdapter("k", PeftConfig.lora(R, 4, "c_attn.k").seed(6));
        pm.addAdapter("whole", PeftConfig.lora(R, 4, "c_attn").seed(7));
        Rng rng = new Rng(11);
        for (String name : List.of("default", "k", "whole"))
            for (String t : pm.targets(name))
                try (var off = Grad.disabled()) {
                    LoraLinear l = (LoraLinear) pm.layer(t, name);
                    l.b(name).data().copyFrom(randn(rng, l.outFeatures(), R));
                }
        assertThat(pm.layer(L0 + ".k", "k")).isNotSameAs(pm.layer(L0 + ".q", "default"));
        assertThat(((AdapterLinear) pm.layer(L0, "whole")).outputSlice()).isNull();
        Tensor[] out = new Tensor[3];
        int i = 0;
        for (String name : List.of("default", "k", "whole")) {
            pm.setAdapter(name);
            out[i++] = AdapterReloadTest.logits(g, ids);
        }
        assertThat(maxAbsDiff(out[0], out[1])).isGreaterThan(1e-4);
        assertThat(maxAbsDiff(out[1], out[2])).isGreaterThan(1e-4);
        // only the active adapter trains
        pm.setAdapter("k");
        assertThat(pm.trainableParameters()).isEqualTo(2L * R * (C + C));
        pm.deleteAdapter("default");
        pm.setAdapter("k");
        assertThat(maxAbsDiff(AdapterReloadTest.logits(g, ids), out[1])).isLessThan(1e-6);
        pm.deleteAdapter("k");
        pm.deleteAdapter("whole");
        assertThat(g.namedModules().get(L0)).isExactlyInstanceOf(Linear.class);
        assertThat(maxAbsDiff(AdapterReloadTest.logits(g, ids), base)).isZero();
    }

    @Test
    void whatCannotBeSlicedIsRefusedNamingTheTarget() {
        Gpt g = new Gpt(CFG, 11);
        assertThatThrownBy(() -> PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_attn.x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("target 'c_attn.x': unknown output slice 'x' of module 'transformer.h.0.attn.c_attn'").hasMessageContaining("q, k, v");
        assertThatThrownBy(() -> PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_fc.q")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'transformer.h.0.mlp.c_fc'").hasMessageContaining("no named output slices");
        assertThatThrownBy(() -> PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_attn", "c_attn.q")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("whole and its output slice(s) [q]");
        assertThatThrownBy(() -> PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_attn.q").dora(true)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'" + L0 + ".q'").hasMessageContaining("DoRA cannot adapt a slice");
        assertThatThrownBy(() -> PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_attn.v").init(PeftConfig.LoraInit.PISSA)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PISSA init cannot adapt a slice");
        assertThatThrownBy(() -> PeftModel.wrap(g, PeftConfig.flora(2).targets("c_attn.q")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("FLORA cannot adapt a slice");
        assertThatThrownBy(() -> LoraGa.estimateGradients(g, PeftConfig.lora(R, 4, "c_attn.q").build(), 1, s -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("LoRA-GA").hasMessageContaining("output slice");
        // nothing was changed by the refusals
        assertThat(g.namedModules().get(L0)).isExactlyInstanceOf(Linear.class);
        assertThat(g.numParameters(true)).isEqualTo(g.numParameters(false));
    }

    @Test
    void layersExclusionAndRankPatternsApplyToSliceTargets() {
        Gpt g = new Gpt(CFG, 11);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_attn.q", "c_attn.v").rankPattern("c_attn.v", 3).alphaPattern("c_attn.v", 9)
                .exclude("h.0.attn.c_attn.q").seed(1));
        assertThat(pm.targets("default")).containsExactly(L0 + ".v", "transformer.h.1.attn.c_attn.q", "transformer.h.1.attn.c_attn.v");
        LoraLinear v = (LoraLinear) pm.layer(L0 + ".v", "default"), q = (LoraLinear) pm.layer("transformer.h.1.attn.c_attn.q", "default");
        assertThat(v.rank("default")).isEqualTo(3);
        assertThat(v.scaling("default")).isEqualTo(3f); // α 9 / r 3
        assertThat(q.rank("default")).isEqualTo(R);
        assertThat(q.scaling("default")).isEqualTo(2f);
        // the rows the slice adapts, as a view of W₀
        assertThat(v.baseWeightSlice().shape()).containsExactly(C, C);
        assertThat(maxAbsDiff(v.baseWeightSlice(), cAttn(g, 0).weight.data().narrow(0, 2 * C, C))).isZero();
        PeftModel one = PeftModel.wrap(new Gpt(CFG, 11), PeftConfig.lora(R, 4, "c_attn.k").layers(1));
        assertThat(one.targets("default")).containsExactly("transformer.h.1.attn.c_attn.k");
        assertThatThrownBy(() -> pm.layer(L0 + ".q", "default")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has no target '" + L0 + ".q'");
    }

    /** B (and VeRA's λ) set to seeded random values so that a file holding zeros or the wrong slice would fail. */
    static void randomise(PeftModel pm, long seed) {
        Rng rng = new Rng(seed);
        try (var off = Grad.disabled()) {
            for (String t : pm.targets("default"))
                for (Variable p : pm.layer(t, "default").adapterParameters("default")) p.data().copyFrom(randn(rng, p.shape()));
        }
    }

    @Test
    void aSlicedLoraDirectoryHoldsTheSliceRowsUnderTheTargetPathsAndItsSliceTable(@TempDir Path dir) throws IOException {
        Gpt g = new Gpt(CFG, 11);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(R, 4, "c_attn.q", "c_attn.v").seed(6));
        randomise(pm, 12);
        PeftFiles.save(pm, "default", dir);
        Map<String, Object> j = Json.asMap(Json.read(dir.resolve(PeftFiles.CONFIG)), "config");
        assertThat(j.get("peft_type")).isEqualTo("LORA");
        assertThat(j.get("target_modules")).isEqualTo(List.of("c_attn.q", "c_attn.v"));
        Map<?, ?> table = (Map<?, ?>) j.get(PeftFiles.OUTPUT_SLICES);
        assertThat(List.copyOf(table.keySet())).isEqualTo(List.of("c_attn.q", "c_attn.v"));
        assertThat(((Map<?, ?>) table.get("c_attn.q")).toString()).isEqualTo("{offset=0, size=16, out_features=48}");
        assertThat(((Map<?, ?>) table.get("c_attn.v")).toString()).isEqualTo("{offset=32, size=16, out_features=48}");
        try (SafetensorsFile f = Safetensors.read(dir.resolve(PeftFiles.WEIGHTS))) {
            TreeSet<String> want = new TreeSet<>();
            for (int l = 0; l < 2; l++)
                for (String sl : List.of("q", "v")) {
                    String k = PeftModel.PREFIX + "transformer.h." + l + ".attn.c_attn." + sl;
                    want.add(k + ".lora_A.weight");
                    want.add(k + ".lora_B.weight");
                    LoraLinear layer = (LoraLinear) pm.layer("transformer.h." + l + ".attn.c_attn." + sl, "default");
                    assertThat(f.tensor(k + ".lora_A.weight").shape()).containsExactly(R, C);
                    assertThat(f.tensor(k + ".lora_B.weight").shape()).containsExactly(C, R);
                    assertThat(maxAbsDiff(f.tensor(k + ".lora_B.weight"), layer.b("default").data())).isZero();
                    assertThat(maxAbsDiff(f.tensor(k + ".lora_A.weight"), layer.a("default").data())).isZero();
                }
            assertThat(new TreeSet<>(f.names())).isEqualTo(want);
        }
        // an adapter without slices keeps PEFT's config: no vectorgrad key
        PeftModel plain = PeftModel.wrap(new Gpt(CFG, 11), PeftConfig.lora(R, 4, "c_attn"));
        PeftFiles.save(plain, "default", dir.resolve("plain"));
        assertThat(Json.asMap(Json.read(dir.resolve("plain").resolve(PeftFiles.CONFIG)), "config")).doesNotContainKey(PeftFiles.OUTPUT_SLICES);
        PeftFiles.saveNative(plain, "default", dir.resolve("plain.safetensors"));
        try (SafetensorsFile f = Safetensors.read(dir.resolve("plain.safetensors"))) {
            assertThat(f.metadata().get(PeftFiles.NATIVE_CONFIG)).doesNotContain(PeftFiles.OUTPUT_SLICES);
        }
        PeftFiles.saveNative(pm, "default", dir.resolve("sliced.safetensors"));
        try (SafetensorsFile f = Safetensors.read(dir.resolve("sliced.safetensors"))) {
            assertThat(f.metadata().get(PeftFiles.NATIVE_CONFIG)).contains("\"" + PeftFiles.OUTPUT_SLICES + "\":{\"c_attn.q\":{\"offset\":0,");
        }
    }

    @Test
    void veraOnSlicesAndItsExactLoraExportReloadOntoAFreshBase(@TempDir Path dir) throws IOException {
        Gpt pre = new Gpt(CFG, 11);
        HfGpt2.save(pre, dir.resolve("base"));
        Gpt g = HfGpt2.load(dir.resolve("base"));
        PeftModel pm = PeftModel.wrap(g, PeftConfig.vera(4, 3, "c_attn.q", "c_attn.v").seed(7));
        randomise(pm, 13);
        IntTensor ids = IntTensor.wrap(new int[] {3, 1, 4, 1, 5, 9, 2, 6}, 1, 8);
        Tensor tuned = AdapterReloadTest.logits(g, ids);
        assertThat(maxAbsDiff(tuned, AdapterReloadTest.logits(HfGpt2.load(dir.resolve("base")), ids))).isGreaterThan(1e-3);
        PeftFiles.save(pm, "default", dir.resolve("vera"));
        try (SafetensorsFile f = Safetensors.read(dir.resolve("vera").resolve(PeftFiles.WEIGHTS))) {
            assertThat(f.tensor(PeftFiles.VERA_B).shape()).containsExactly(C, 4); // max out over the targets: the slice's n_embd
            assertThat(f.tensor(PeftFiles.VERA_A).shape()).containsExactly(4, C);
            assertThat(f.tensor(PeftModel.PREFIX + L0 + ".v.vera_lambda_b").shape()).containsExactly(C);
        }
        PeftFiles.saveVeraAsLora(pm, "default", dir.resolve("as-lora"));
        for (String sub : List.of("vera", "as-lora")) {
            Gpt fresh = HfGpt2.load(dir.resolve("base"));
            PeftModel back = PeftFiles.load(fresh, dir.resolve(sub));
            assertThat(back.targets("default")).contains(L0 + ".q", L0 + ".v");
            assertThat(maxAbsDiff(AdapterReloadTest.logits(fresh, ids), tuned)).as(sub).isLessThan(1e-5);
        }
    }

    @Test
    void aFileWhoseSlicesDoNotFitTheModelIsRefusedNamingIt(@TempDir Path dir) throws IOException {
        PeftModel pm = PeftModel.wrap(new Gpt(CFG, 11), PeftConfig.lora(R, 4, "c_attn.q", "c_attn.v").seed(6));
        PeftFiles.save(pm, "default", dir);
        Path cf = dir.resolve(PeftFiles.CONFIG);
        String good = Files.readString(cf);
        Map<String, Object> j = new LinkedHashMap<>(Json.asMap(Json.parse(good), "config"));
        // q said to be rows [16, 32): not this model's q
        j.put(PeftFiles.OUTPUT_SLICES, Map.of("c_attn.q", Map.of("offset", 16, "size", 16, "out_features", 48),
                "c_attn.v", Map.of("offset", 32, "size", 16, "out_features", 48)));
        Files.writeString(cf, Json.writePretty(j));
        assertThatThrownBy(() -> PeftFiles.load(new Gpt(CFG, 11), dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(cf.toString()).hasMessageContaining("c_attn.q is rows [16, 32) of 48 outputs, but in this model it is rows [0, 16) of 48");
        j.put(PeftFiles.OUTPUT_SLICES, Map.of("c_attn.q", Map.of("offset", 0, "size", 16, "out_features", 48)));
        Files.writeString(cf, Json.writePretty(j));
        assertThatThrownBy(() -> PeftFiles.load(new Gpt(CFG, 11), dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(cf.toString()).hasMessageContaining("does not list output slice target 'c_attn.v'");
        j.put(PeftFiles.OUTPUT_SLICES, "rows");
        Files.writeString(cf, Json.writePretty(j));
        assertThatThrownBy(() -> PeftFiles.load(new Gpt(CFG, 11), dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(cf.toString()).hasMessageContaining(PeftFiles.OUTPUT_SLICES);
        // an unknown slice name in target_modules
        Files.writeString(cf, good.replace("\"c_attn.v\"", "\"c_attn.x\""));
        assertThatThrownBy(() -> PeftFiles.load(new Gpt(CFG, 11), dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(dir.toString()).hasMessageContaining("unknown output slice 'x'");
        // without the table the target names alone define the slices
        j.remove(PeftFiles.OUTPUT_SLICES);
        Files.writeString(cf, Json.writePretty(j));
        assertThat(PeftFiles.load(new Gpt(CFG, 11), dir).targets("default")).hasSize(4);
    }
}
