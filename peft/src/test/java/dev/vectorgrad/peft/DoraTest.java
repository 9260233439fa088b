package dev.vectorgrad.peft;

import static dev.vectorgrad.peft.PeftModelTest.input;
import static dev.vectorgrad.peft.PeftModelTest.maxAbsDiff;
import static dev.vectorgrad.peft.PeftModelTest.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.GradCheck;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DoRA's op, init, merge and file form, against naive double-precision formulas written here. */
class DoraTest {
    static Tensor randn(Rng rng, int... shape) {
        Tensor t = Tensor.zeros(shape);
        Init.normal(t, rng, 0, 1);
        return t;
    }

    /** y = x·[(m/n) ⊙ (W + s·B·A)]ᵀ + b − (x·Wᵀ + b) in double: DoRA's Δ(x) without dropout, the paper's form. */
    static double[] naiveDelta(double[] x, double[] w, double[] a, double[] b, double[] m, double[] n, int tokens, int in, int out, int r, double s) {
        double[] y = new double[tokens * out];
        for (int o = 0; o < out; o++) {
            double[] row = new double[in];
            for (int i = 0; i < in; i++) {
                double ba = 0;
                for (int k = 0; k < r; k++) ba += b[o * r + k] * a[k * in + i];
                row[i] = m[o] / n[o] * (w[o * in + i] + s * ba) - w[o * in + i];
            }
            for (int t = 0; t < tokens; t++) {
                double acc = 0;
                for (int i = 0; i < in; i++) acc += x[t * in + i] * row[i];
                y[t * out + o] = acc;
            }
        }
        return y;
    }

    static double[] naiveRowNorms(double[] w, double[] a, double[] b, int in, int out, int r, double s) {
        double[] n = new double[out];
        for (int o = 0; o < out; o++) {
            double acc = 0;
            for (int i = 0; i < in; i++) {
                double ba = 0;
                for (int k = 0; k < r; k++) ba += b[o * r + k] * a[k * in + i];
                double v = w[o * in + i] + s * ba;
                acc += v * v;
            }
            n[o] = Math.sqrt(acc);
        }
        return n;
    }

    static double[] d(Tensor t) {
        float[] f = t.contiguous().toArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }

    @Test
    void gradientsOfTheOpTreatTheNormAsAConstant() {
        int tokens = 3, in = 4, out = 5, r = 2;
        float s = 1.5f;
        Rng rng = new Rng(1);
        Tensor x = randn(rng, tokens, in), w = randn(rng, out, in), a = randn(rng, r, in), b = randn(rng, out, r), m = randn(rng, out).abs().add(0.5f);
        // the reference holds n at the unperturbed inputs' value: what "detached" means for the derivative
        double[] n0 = naiveRowNorms(d(w), d(a), d(b), in, out, r, s);
        GradCheck.Report rep = GradCheck.check(v -> DoraLinear.delta(v[0], v[1], v[2], v[3], v[4], s),
                ref -> naiveDelta(ref[0], ref[1], ref[2], ref[3], ref[4], n0, tokens, in, out, r, s), x, w, a, b, m);
        assertThat(rep.ok()).as(rep.toString()).isTrue();
        // and the forward is the paper's W' = m·(W + sBA)/‖W + sBA‖ − W applied to x
        double[] want = naiveDelta(d(x), d(w), d(a), d(b), d(m), n0, tokens, in, out, r, s);
        double[] got = d(DoraLinear.delta(dev.vectorgrad.autograd.Variable.of(x), dev.vectorgrad.autograd.Variable.of(w),
                dev.vectorgrad.autograd.Variable.of(a), dev.vectorgrad.autograd.Variable.of(b), dev.vectorgrad.autograd.Variable.of(m), s).data());
        for (int i = 0; i < want.length; i++) assertThat(Math.abs(got[i] - want[i])).isLessThan(1e-5 * (1 + Math.abs(want[i])));
    }

    @Test
    void magnitudeStartsAtTheRowNormsSoTheAdapterIsANoOp() {
        Toy t = new Toy(4, 2, 1);
        Tensor x = input(3, 4, 2);
        Tensor y0 = run(t, x);
        Tensor w0 = t.layers.get(0).fc.weight.data().copy(); // [8, 4]
        PeftModel pm = PeftModel.wrap(t, PeftConfig.lora(2, 4, "fc").dora(true));
        DoraLinear l = (DoraLinear) pm.adaptedLayers().get("layers.0.fc");
        double[] n = naiveRowNorms(d(w0), new double[2 * 4], new double[8 * 2], 4, 8, 2, 2); // B = 0
        double[] m = d(l.magnitude("default").data());
        for (int o = 0; o < 8; o++) assertThat(Math.abs(m[o] - n[o])).isLessThan(1e-6 * n[o]);
        assertThat(maxAbsDiff(run(t, x), y0)).isLessThan(1e-6);
        assertThat(pm.namedAdapterParameters("default")).containsKey("base_model.model.layers.0.fc.lora_magnitude_vector.default.weight");
        assertThat(pm.trainableParameters()).isEqualTo(2L * (2 * 4 + 8 * 2 + 8));
    }

    @Test
    void mergeWritesTheRescaledWeightAndUnmergeRestoresIt() {
        Toy t = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(t, PeftConfig.lora(2, 4, "fc").dora(true).seed(3));
        Rng rng = new Rng(9);
        for (var p : pm.namedAdapterParameters("default").values()) Init.normal(p.data(), rng, 0.5, 0.5);
        Tensor x = input(3, 4, 2);
        Tensor y = run(t, x);
        DoraLinear l = (DoraLinear) pm.adaptedLayers().get("layers.0.fc");
        Linear fc = l.linear();
        Tensor w0 = fc.weight.data().copy();
        double[] a = d(l.a("default").data()), b = d(l.b("default").data()), m = d(l.magnitude("default").data()), w = d(w0);
        double[] n = naiveRowNorms(w, a, b, 4, 8, 2, 2);
        pm.merge();
        double[] merged = d(fc.weight.data());
        for (int o = 0; o < 8; o++)
            for (int i = 0; i < 4; i++) {
                double ba = 0;
                for (int k = 0; k < 2; k++) ba += b[o * 2 + k] * a[k * 4 + i];
                double want = m[o] / n[o] * (w[o * 4 + i] + 2 * ba);
                assertThat(Math.abs(merged[o * 4 + i] - want)).as("W'[%d, %d]", o, i).isLessThan(1e-5 * (1 + Math.abs(want)));
            }
        assertThat(maxAbsDiff(run(t, x), y)).as("merged = unmerged").isLessThan(1e-5);
        pm.unmerge();
        assertThat(maxAbsDiff(fc.weight.data(), w0)).isLessThan(1e-5);
        assertThat(maxAbsDiff(run(t, x), y)).isLessThan(1e-5);
    }

    @Test
    void peftFilesCarryTheMagnitudeAndTheFlag(@TempDir Path dir) throws Exception {
        Toy t = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(t, PeftConfig.lora(2, 4, "fc").dora(true).seed(3));
        PeftFiles.save(pm, "default", dir);
        assertThat(PeftFiles.readConfig(dir).useDora()).isTrue();
        assertThat(java.nio.file.Files.readString(dir.resolve(PeftFiles.CONFIG))).contains("\"use_dora\": true");
        var keys = dev.vectorgrad.tensor.Safetensors.readAll(dir.resolve(PeftFiles.WEIGHTS));
        assertThat(keys.get("base_model.model.layers.1.fc.lora_magnitude_vector").shape()).containsExactly(8);
        // a file without the magnitude is refused by name
        var noMag = new java.util.LinkedHashMap<>(keys);
        noMag.remove("base_model.model.layers.1.fc.lora_magnitude_vector");
        dev.vectorgrad.tensor.Safetensors.Writer wr = dev.vectorgrad.tensor.Safetensors.writer();
        for (var e : noMag.entrySet()) wr.put(e.getKey(), e.getValue());
        wr.write(dir.resolve(PeftFiles.WEIGHTS));
        assertThatThrownBy(() -> PeftFiles.load(new Toy(4, 2, 1), dir)).hasMessageContaining("layers.1.fc.lora_magnitude_vector");
        assertThatThrownBy(() -> PeftConfig.vera(4).targets("fc").dora(true).build()).hasMessageContaining("use_dora");
    }

    @Test
    void onAnEmbeddingTheMagnitudeRescalesEachColumnOverTheVocabulary(@TempDir Path dir) throws Exception {
        LoraEmbeddingTest.Net net = new LoraEmbeddingTest.Net(); // emb: 10 × 6
        Tensor y0 = LoraEmbeddingTest.logits(net);
        PeftModel pm = PeftModel.wrap(net, PeftConfig.lora(2, 4, "emb").dora(true).seed(5));
        DoraEmbedding le = (DoraEmbedding) pm.adaptedEmbeddings().get("emb");
        assertThat(maxAbsDiff(LoraEmbeddingTest.logits(net), y0)).as("a no-op at init").isLessThan(1e-6);
        Rng rng = new Rng(8);
        for (var p : pm.namedAdapterParameters("default").values()) Init.normal(p.data(), rng, 0.5, 0.5);
        double[] w = d(le.embedding().weight.data()), a = d(le.a("default").data()), b = d(le.b("default").data()), m = d(le.magnitude("default").data());
        int num = 10, dim = 6, r = 2;
        double s = 2;
        // W + ΔW with ΔW[v, c] = s · Σ_k B[c, k]·A[k, v]; n_c = ‖column c‖ over v; expected rows (W + ΔW)[x] · m / n
        double[][] sum = new double[num][dim];
        double[] n = new double[dim];
        for (int v = 0; v < num; v++)
            for (int c = 0; c < dim; c++) {
                double ba = 0;
                for (int k = 0; k < r; k++) ba += b[c * r + k] * a[k * num + v];
                sum[v][c] = w[v * dim + c] + s * ba;
                n[c] += sum[v][c] * sum[v][c];
            }
        for (int c = 0; c < dim; c++) n[c] = Math.sqrt(n[c]);
        int[] ids = {0, 3, 3, 9, 5, 1};
        double[] got = d(le.forward(LoraEmbeddingTest.IDS).data());
        for (int t = 0; t < ids.length; t++)
            for (int c = 0; c < dim; c++) {
                double want = sum[ids[t]][c] * m[c] / n[c];
                assertThat(Math.abs(got[t * dim + c] - want)).as("token %d dim %d", t, c).isLessThan(1e-5 * (1 + Math.abs(want)));
            }
        Tensor y = LoraEmbeddingTest.logits(net);
        Tensor w0 = le.embedding().weight.data().copy();
        pm.merge();
        assertThat(maxAbsDiff(LoraEmbeddingTest.logits(net), y)).as("merged = unmerged").isLessThan(1e-5);
        pm.unmerge();
        assertThat(maxAbsDiff(le.embedding().weight.data(), w0)).isLessThan(1e-5);
        PeftFiles.save(pm, "default", dir);
        LoraEmbeddingTest.Net fresh = new LoraEmbeddingTest.Net();
        PeftFiles.load(fresh, dir);
        assertThat(maxAbsDiff(LoraEmbeddingTest.logits(fresh), y)).as("reloaded").isLessThan(1e-6);
    }
}
