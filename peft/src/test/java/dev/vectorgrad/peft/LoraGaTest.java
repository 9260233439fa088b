package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.HfGpt2;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA-GA on a layer whose loss gradient is a matrix with known singular factors (so the best rank-2r approximation
 * is written down here, not computed by the code under test), and end to end on a small GPT.
 */
class LoraGaTest {
    static final int IN = 6, OUT = 8, R = 2;
    static final double[] SIGMA = {5, 4, 3, 2, 1.5, 1};

    /** One Linear; with x = I (IN × IN) and loss Σ Y ⊙ (x·Wᵀ + b), ∂L/∂W = Yᵀ. */
    static final class One extends Module {
        final Linear fc;

        One() {
            fc = registerModule("fc", new Linear(IN, OUT, true, new Rng(3)));
        }

        @Override
        public Variable forward(Variable x) {
            return fc.forward(x);
        }
    }

    /** Orthonormal columns (rows × cols) by Gram–Schmidt on Gaussians, in double. */
    static double[][] orthonormal(int rows, int cols, Rng rng) {
        double[][] q = new double[cols][rows];
        for (int c = 0; c < cols; c++) {
            for (int i = 0; i < rows; i++) q[c][i] = rng.nextGaussian();
            for (int pass = 0; pass < 2; pass++)
                for (int p = 0; p < c; p++) {
                    double d = 0;
                    for (int i = 0; i < rows; i++) d += q[c][i] * q[p][i];
                    for (int i = 0; i < rows; i++) q[c][i] -= d * q[p][i];
                }
            double n = 0;
            for (int i = 0; i < rows; i++) n += q[c][i] * q[c][i];
            n = Math.sqrt(n);
            for (int i = 0; i < rows; i++) q[c][i] /= n;
        }
        return q; // q[c] is column c
    }

    /** Σ_{i in [from, to)} f(σ_i)·u_i·v_iᵀ (OUT × IN). */
    static double[] partial(double[][] u, double[][] v, int from, int to, java.util.function.DoubleUnaryOperator f) {
        double[] m = new double[OUT * IN];
        for (int k = from; k < to; k++)
            for (int o = 0; o < OUT; o++) for (int i = 0; i < IN; i++) m[o * IN + i] += f.applyAsDouble(SIGMA[k]) * u[k][o] * v[k][i];
        return m;
    }

    static Tensor yFor(double[] g, double[] noise, double sign) {
        float[] y = new float[IN * OUT];
        for (int o = 0; o < OUT; o++) for (int i = 0; i < IN; i++) y[i * OUT + o] = (float) (g[o * IN + i] + sign * noise[o * IN + i]);
        return Tensor.wrap(y, IN, OUT);
    }

    static Tensor eye() {
        Tensor x = Tensor.zeros(IN, IN);
        for (int i = 0; i < IN; i++) x.set(1f, i, i);
        return x;
    }

    static double relErr(double[] got, double[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < got.length; i++) { num += (got[i] - want[i]) * (got[i] - want[i]); den += want[i] * want[i]; }
        return Math.sqrt(num / den);
    }

    /**
     * The first LoRA step's change of W per unit learning rate, s·(B·g_A + g_B·A) = s²·(B·Bᵀ·G + G·AᵀA), with the
     * gradients from a backward pass of the wrapped model, against the closed form from the known factors of G.
     */
    @Test
    void theFirstStepFollowsTheBestRank2rApproximationOfTheGradient() {
        Rng rng = new Rng(17);
        double[][] u = orthonormal(OUT, IN, rng), v = orthonormal(IN, IN, rng);
        double[] g = partial(u, v, 0, IN, x -> x); // G = U·diag(σ)·Vᵀ
        double[] noise = new double[OUT * IN];
        for (int i = 0; i < noise.length; i++) noise[i] = rng.nextGaussian();
        double s = 4.0 / R; // α = 4
        double c = Math.pow(OUT, 0.25) / Math.sqrt(16);
        for (LoraGa.Scale scale : LoraGa.Scale.values()) {
            One m = new One();
            Tensor probe = PeftModelTest.input(5, IN, 9);
            Tensor before = PeftModelTest.run(m, probe);
            // two batches whose gradients average to G: Gᵀ + N and Gᵀ − N
            Tensor[] ys = {yFor(g, noise, 1), yFor(g, noise, -1)};
            PeftModel pm = LoraGa.wrap(m, PeftConfig.lora(R, 4, "fc").build(), 2,
                    i -> m.forward(Variable.of(eye())).mul(Variable.of(ys[i])).sum().backward(), LoraGa.Options.DEFAULTS.scale(scale));
            assertThat(PeftModelTest.maxAbsDiff(PeftModelTest.run(m, probe), before)).as("function at init, " + scale).isLessThan(1e-5);
            assertThat(m.fc.weight.grad()).as("the estimation's gradients are cleared").isNull();

            m.forward(Variable.of(eye())).mul(Variable.of(yFor(g, noise, 0))).sum().backward();
            LoraLinear l = (LoraLinear) pm.adaptedLayers().get("fc");
            double[] a = DoraTest.d(l.a("default").data()), b = DoraTest.d(l.b("default").data());
            double[] ga = DoraTest.d(l.a("default").grad()), gb = DoraTest.d(l.b("default").grad());
            double[] step = LoraProOptimizer.equivalent(a, b, ga, gb, OUT, IN, R, s);
            double[] want;
            if (scale == LoraGa.Scale.PAPER_STABLE) { // c²·s²·(best rank-2r approximation of G)
                want = partial(u, v, 0, 2 * R, x -> x);
                for (int i = 0; i < want.length; i++) want[i] *= c * c * s * s;
            } else { // PEFT folds S into B: s²·(Σ_{i<r} σ u vᵀ + c²·Σ_{r≤i<2r} σ³ u vᵀ)
                double[] top = partial(u, v, 0, R, x -> x), next = partial(u, v, R, 2 * R, x -> x * x * x);
                want = new double[top.length];
                for (int i = 0; i < want.length; i++) want[i] = s * s * (top[i] + c * c * next[i]);
            }
            assertThat(relErr(step, want)).as(scale.toString()).isLessThan(1e-4);
        }
    }

    @Test
    void directionsPickPeftsIndexSets() {
        int[][] arb2r = LoraGa.indices(LoraGa.Direction.ARB2R, 3, 0), a2rbr = LoraGa.indices(LoraGa.Direction.A2RBR, 3, 0);
        int[][] arbr = LoraGa.indices(LoraGa.Direction.ARBR, 3, 0), rnd = LoraGa.indices(LoraGa.Direction.RANDOM, 3, 5);
        assertThat(arb2r[0]).containsExactly(0, 1, 2);
        assertThat(arb2r[1]).containsExactly(3, 4, 5);
        assertThat(a2rbr[0]).containsExactly(3, 4, 5);
        assertThat(a2rbr[1]).containsExactly(0, 1, 2);
        assertThat(arbr[0]).containsExactly(1, 3, 5);
        assertThat(arbr[1]).containsExactly(0, 2, 4);
        assertThat(rnd[0]).isEqualTo(rnd[1]).doesNotHaveDuplicates();
        for (int i : rnd[0]) assertThat(i).isBetween(0, 5);
        assertThatThrownBy(() -> LoraGa.estimateGradients(new One(), PeftConfig.lora(4, 4, "fc").build(), 1, i -> {}))
                .hasMessageContaining("2r = 8 exceeds min(in, out) = 6");
    }

    @Test
    void theSavedRank2rAdapterLoadsOntoTheOriginalModelToTheTunedLogits(@TempDir Path dir) throws IOException {
        Gpt pretrained = new Gpt(AdapterReloadTest.CFG, 11);
        Path baseDir = dir.resolve("base");
        HfGpt2.save(pretrained, baseDir);
        IntTensor probe = IntTensor.wrap(new int[] {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}, 2, 8);
        Gpt model = HfGpt2.load(baseDir);
        Tensor before = AdapterReloadTest.logits(model, probe);
        Rng rng = new Rng(5);
        IntTensor[] xs = new IntTensor[3], ys = new IntTensor[3];
        for (int k = 0; k < 3; k++) {
            int[] x = new int[16], y = new int[16];
            for (int i = 0; i < 16; i++) { x[i] = rng.nextInt(13); y[i] = (x[i] * 5 + 2) % 13; }
            xs[k] = IntTensor.wrap(x, 2, 8);
            ys[k] = IntTensor.wrap(y, 2, 8);
        }
        PeftModel pm = LoraGa.wrap(model, PeftConfig.lora(2, 4, AdapterReloadTest.LINEARS).seed(3).build(), 3, i -> model.loss(xs[i], ys[i]).backward());
        assertThat(PeftModelTest.maxAbsDiff(AdapterReloadTest.logits(model, probe), before)).as("function at init").isLessThan(1e-5);
        AdapterReloadTest.train(model, pm, "adamw");
        Tensor tuned = AdapterReloadTest.logits(model, probe);
        assertThat(PeftModelTest.maxAbsDiff(tuned, before)).isGreaterThan(1e-3);
        PeftFiles.save(pm, "default", dir.resolve("adapter"));
        Map<String, Object> j = Json.asMap(Json.read(dir.resolve("adapter").resolve(PeftFiles.CONFIG)), "config");
        assertThat(((Number) j.get("r")).intValue()).isEqualTo(4);
        assertThat(((Number) j.get("lora_alpha")).doubleValue()).isCloseTo(8, offset(1e-12));
        Gpt fresh = HfGpt2.load(baseDir);
        PeftFiles.load(fresh, dir.resolve("adapter"));
        assertThat(PeftModelTest.maxAbsDiff(AdapterReloadTest.logits(fresh, probe), tuned)).isLessThanOrEqualTo(1e-5);
    }
}
