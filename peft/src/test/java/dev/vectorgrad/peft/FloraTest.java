package dev.vectorgrad.peft;

import static dev.vectorgrad.peft.DoraTest.d;
import static dev.vectorgrad.peft.DoraTest.randn;
import static dev.vectorgrad.peft.PeftModelTest.input;
import static dev.vectorgrad.peft.PeftModelTest.maxAbsDiff;
import static dev.vectorgrad.peft.PeftModelTest.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.GradCheck;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FLoRA's op, init, merge and file form, against naive double-precision formulas written here. */
class FloraTest {
    /** ΔW = s·B·G·A [out, in] in double. */
    static double[] naiveDeltaW(double[] a, double[] g, double[] b, int in, int out, int r, double s) {
        double[] ga = new double[r * in];
        for (int i = 0; i < r; i++)
            for (int k = 0; k < r; k++)
                for (int c = 0; c < in; c++) ga[i * in + c] += g[i * r + k] * a[k * in + c];
        double[] dw = new double[out * in];
        for (int o = 0; o < out; o++)
            for (int k = 0; k < r; k++)
                for (int c = 0; c < in; c++) dw[o * in + c] += s * b[o * r + k] * ga[k * in + c];
        return dw;
    }

    /** x·ΔWᵀ [tokens, out] in double. */
    static double[] naiveDelta(double[] x, double[] a, double[] g, double[] b, int tokens, int in, int out, int r, double s) {
        double[] dw = naiveDeltaW(a, g, b, in, out, r, s);
        double[] y = new double[tokens * out];
        for (int t = 0; t < tokens; t++)
            for (int o = 0; o < out; o++) {
                double acc = 0;
                for (int c = 0; c < in; c++) acc += x[t * in + c] * dw[o * in + c];
                y[t * out + o] = acc;
            }
        return y;
    }

    @Test
    void gradientsOfAllThreeFactorsMatchADoubleReference() {
        int tokens = 3, in = 5, out = 4, r = 3;
        float s = 1.5f;
        Rng rng = new Rng(1);
        Tensor x = randn(rng, tokens, in), a = randn(rng, r, in), g = randn(rng, r, r), b = randn(rng, out, r);
        GradCheck.Report rep = GradCheck.check(v -> FloraLinear.delta(v[0], v[1], v[2], v[3], s),
                ref -> naiveDelta(ref[0], ref[1], ref[2], ref[3], tokens, in, out, r, s), x, a, g, b);
        assertThat(rep.ok()).as(rep.toString()).isTrue();
        double[] want = naiveDelta(d(x), d(a), d(g), d(b), tokens, in, out, r, s);
        double[] got = d(FloraLinear.delta(Variable.of(x), Variable.of(a), Variable.of(g), Variable.of(b), s).data());
        for (int i = 0; i < want.length; i++) assertThat(Math.abs(got[i] - want[i])).isLessThan(1e-5 * (1 + Math.abs(want[i])));
    }

    @Test
    void initIsAZeroCoreBetweenKaimingUniformFactorsSoTheAdapterStartsAsANoOp() {
        Toy t = new Toy(8, 1, 1);
        Tensor x = input(3, 8, 2);
        Tensor y0 = run(t, x);
        PeftModel pm = PeftModel.wrap(t, PeftConfig.flora(4).alpha(8).targets("fc").seed(3));
        FloraLinear l = (FloraLinear) pm.adaptedLayers().get("layers.0.fc");
        assertThat(l.scaling("default")).isEqualTo(2f); // α / r
        assertThat(maxAbsDiff(l.core("default").data(), Tensor.zeros(4, 4))).isZero();
        // Kaiming-uniform with a = √5: U(−1/√fan_in, 1/√fan_in); A's fan_in is in = 8, B's is r = 4
        double boundA = 1 / Math.sqrt(8), boundB = 1 / Math.sqrt(4);
        for (double v : d(l.a("default").data())) assertThat(Math.abs(v)).isLessThanOrEqualTo(boundA);
        for (double v : d(l.b("default").data())) assertThat(Math.abs(v)).isLessThanOrEqualTo(boundB);
        assertThat(maxAbsDiff(l.b("default").data(), Tensor.zeros(16, 4))).as("B is not zero").isGreaterThan(0.1 * boundB);
        assertThat(maxAbsDiff(run(t, x), y0)).isZero();
        assertThat(pm.namedAdapterParameters("default")).hasSize(3);
        for (Variable p : pm.namedAdapterParameters("default").values()) assertThat(p.requiresGrad()).isTrue();
    }

    @Test
    void mergeAddsBGAScaledAndUnmergeRestoresTheWeight() {
        Toy t = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(t, PeftConfig.flora(2).alpha(3).targets("fc").seed(3));
        Rng rng = new Rng(9);
        for (Variable p : pm.namedAdapterParameters("default").values()) Init.normal(p.data(), rng, 0, 0.5);
        Tensor x = input(3, 4, 2);
        Tensor y = run(t, x);
        FloraLinear l = (FloraLinear) pm.adaptedLayers().get("layers.0.fc");
        Linear fc = l.linear();
        Tensor w0 = fc.weight.data().copy();
        double[] dw = naiveDeltaW(d(l.a("default").data()), d(l.core("default").data()), d(l.b("default").data()), 4, 8, 2, 1.5);
        pm.merge();
        double[] merged = d(fc.weight.data()), w = d(w0);
        for (int i = 0; i < dw.length; i++) assertThat(Math.abs(merged[i] - (w[i] + dw[i]))).isLessThan(1e-5 * (1 + Math.abs(w[i] + dw[i])));
        assertThat(maxAbsDiff(run(t, x), y)).as("merged = unmerged").isLessThan(1e-5);
        pm.unmerge();
        assertThat(maxAbsDiff(fc.weight.data(), w0)).isLessThan(1e-6);
        assertThat(maxAbsDiff(run(t, x), y)).isLessThan(1e-5);
    }

    @Test
    void filesCarryTheCoreUnderLoraEAndAFloraTypeThatReadsBack(@TempDir Path dir) throws Exception {
        Toy t = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(t, PeftConfig.flora(2).alpha(6).targets("fc").rankPattern("layers\\.1\\.fc", 3).seed(3));
        Rng rng = new Rng(5);
        for (Variable p : pm.namedAdapterParameters("default").values()) Init.normal(p.data(), rng, 0, 0.5);
        Tensor x = input(3, 4, 2);
        Tensor y = run(t, x);
        PeftFiles.save(pm, "default", dir);
        assertThat(Files.readString(dir.resolve(PeftFiles.CONFIG))).contains("\"peft_type\": \"FLORA\"");
        PeftConfig back = PeftFiles.readConfig(dir);
        assertThat(back.type()).isEqualTo(PeftConfig.Type.FLORA);
        assertThat(back.alpha()).isEqualTo(6.0);
        var keys = dev.vectorgrad.tensor.Safetensors.readAll(dir.resolve(PeftFiles.WEIGHTS));
        assertThat(keys.get("base_model.model.layers.1.fc.lora_E.weight").shape()).containsExactly(3, 3);
        assertThat(keys.get("base_model.model.layers.0.fc.lora_E.weight").shape()).containsExactly(2, 2);
        assertThat(keys.get("base_model.model.layers.0.fc.lora_A.weight").shape()).containsExactly(2, 4);
        assertThat(keys.get("base_model.model.layers.0.fc.lora_B.weight").shape()).containsExactly(8, 2);
        Toy fresh = new Toy(4, 2, 1);
        PeftFiles.load(fresh, dir);
        assertThat(maxAbsDiff(run(fresh, x), y)).isLessThan(1e-6);
        // a file without the core is refused by name
        var noCore = new java.util.LinkedHashMap<>(keys);
        noCore.remove("base_model.model.layers.1.fc.lora_E.weight");
        dev.vectorgrad.tensor.Safetensors.Writer wr = dev.vectorgrad.tensor.Safetensors.writer();
        for (var e : noCore.entrySet()) wr.put(e.getKey(), e.getValue());
        wr.write(dir.resolve(PeftFiles.WEIGHTS));
        assertThatThrownBy(() -> PeftFiles.load(new Toy(4, 2, 1), dir)).hasMessageContaining("layers.1.fc.lora_E.weight");
        assertThatThrownBy(() -> PeftConfig.flora(2).targets("fc").rslora(true).build()).hasMessageContaining("FLoRA");
    }
}
