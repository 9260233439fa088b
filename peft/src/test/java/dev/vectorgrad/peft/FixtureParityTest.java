package dev.vectorgrad.peft;

import dev.vectorgrad.testdata.TestData;
import dev.vectorgrad.testdata.Tolerance;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** PEFT's own numbers for the three adapter fixtures, through {@code vectorgrad logits --adapter … [--merge] [--grads]}. */
class FixtureParityTest {
    @TempDir Path tmp;

    private Map<String, Tensor> runLogits(String... args) throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int rc = PeftLogitsCommand.run(args, new PrintStream(o), new PrintStream(e));
        assertThat(rc).as("exit status; stderr: %s", e).isZero();
        String out = null;
        for (int i = 0; i < args.length; i++) if (args[i].equals("--out")) out = args[i + 1];
        return Safetensors.readAll(Path.of(out));
    }

    /**
     * The effect must agree to 1e-5 of its own scale, or — where the effect is tiny (VeRA's is ~1e-3 of the logits)
     * — to a few float32 ulps of the logits: the reference effect is itself the difference of two float32 forwards
     * (PEFT's own merged and unmerged logits differ by ~4 ulps), so nothing finer is measurable.
     */
    static void assertEffect(String what, Tensor actual, Tensor expected, Tensor logits) {
        float[] a = actual.contiguous().toArray(), e = expected.contiguous().toArray(), l = logits.contiguous().toArray();
        double maxE = 0, maxL = 0, maxDiff = 0;
        for (int i = 0; i < a.length; i++) {
            maxE = Math.max(maxE, Math.abs(e[i]));
            maxL = Math.max(maxL, Math.abs(l[i]));
            maxDiff = Math.max(maxDiff, Math.abs((double) a[i] - e[i]));
        }
        double tol = Math.max(1e-5 * maxE, 8 * Math.ulp((float) maxL));
        assertThat(maxDiff).as(what + " (max |effect| " + maxE + ", error relative to it " + maxDiff / maxE + ")").isLessThanOrEqualTo(tol);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-small-lora", "gpt2-small-vera", "gpt2-small-vera-noproj", "gpt2-other-dora", "gpt2-other-adalora"})
    void reproducesPeft(String name) throws Exception {
        Path fx = TestData.hf(name);
        Map<String, Tensor> exp = Safetensors.readAll(fx.resolve("expected.safetensors"));
        String model = fx.resolve("model").toString(), adapter = fx.resolve("adapter").toString(), in = fx.resolve("expected.safetensors").toString();
        Map<String, Tensor> base = runLogits("--model", model, "--inputs", in, "--out", tmp.resolve("base.safetensors").toString());
        Map<String, Tensor> got = runLogits("--model", model, "--adapter", adapter, "--inputs", in, "--out", tmp.resolve("a.safetensors").toString(), "--grads");
        Map<String, Tensor> merged = runLogits("--model", model, "--adapter", adapter, "--merge", "--inputs", in, "--out", tmp.resolve("m.safetensors").toString());

        assertThat(Tolerance.relErr(base.get("logits"), exp.get("base_logits"))).as("base logits").isLessThan(1e-5);
        assertThat(Tolerance.relErr(got.get("logits"), exp.get("logits"))).as("logits").isLessThan(1e-5);
        Tensor effect = got.get("logits").sub(base.get("logits"));
        Tensor expEffect = exp.get("logits").sub(exp.get("base_logits"));
        assertThat(expEffect.abs().max(0, false).max(0, false).max(0, false).item()).as("the adapter is not a no-op").isGreaterThan(0f);
        assertEffect("adapter effect logits - base_logits", effect, expEffect, exp.get("logits"));
        Tensor mEffect = merged.get("logits").sub(base.get("logits"));
        Tensor expMEffect = exp.get("merged_logits").sub(exp.get("base_logits"));
        assertThat(Tolerance.relErr(merged.get("logits"), exp.get("merged_logits"))).as("merged logits").isLessThan(1e-5);
        assertEffect("merged effect merged_logits - base_logits", mEffect, expMEffect, exp.get("logits"));
        assertThat(Tolerance.relErr(got.get("loss"), exp.get("loss"))).as("loss").isLessThan(1e-5);
        int grads = 0;
        for (String k : exp.keySet()) {
            if (!k.startsWith("grad.")) continue;
            grads++;
            assertThat(got).as("gradient " + k).containsKey(k);
            assertThat(Tolerance.relErr(got.get(k), exp.get(k))).as(k).isLessThan(1e-5);
        }
        assertThat(grads).isPositive();
        assertThat(got.keySet().stream().filter(k -> k.startsWith("grad.")).count()).as("no extra gradients").isEqualTo(grads);
    }
}
