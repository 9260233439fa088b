package dev.vectorgrad.transformer.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.testdata.TestData;
import dev.vectorgrad.testdata.Tolerance;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.data.Batcher;
import dev.vectorgrad.transformer.data.CharTokenizer;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * llm.c's {@code test_gpt2} for vectorgrad: a small GPT trained 20 AdamW steps by the {@link Trainer}'s own step
 * follows PyTorch's run of the same model from the same weights on the same batches (fixture
 * {@code testdata/gpt-loss-curve/}, made by {@code bench/scripts/make_loss_curve_fixture.py}, PyTorch in float64):
 * step-0 gradients of every parameter within 1e-4 relative, every step's loss within 1e-5 relative.
 *
 * <p>The loss bound is tighter than llm.c's (and issue 12's 1e-3) on purpose: 20 steps at this learning rate move
 * the loss by small amounts, and at 1e-3 a Trainer without weight decay (worst step 2.5e-4 off), with β₂ = 0.999
 * instead of 0.99 (5.2e-4) or without clipping (1.4e-3) would pass or nearly. Measured: 4.4e-8 (gradients
 * 4.2e-7) on 1 and 2 threads, AVX2; PyTorch's own float32 run is 9.3e-8 from its float64 run, the noise floor.
 */
class LossCurveParityTest {
    static final double GRAD_TOL = 1e-4, LOSS_TOL = 1e-5;

    @Test
    void twentyAdamWStepsFollowPyTorchsLossCurve() throws Exception {
        try (SafetensorsFile f = Safetensors.read(TestData.file("gpt-loss-curve/fixture.safetensors"))) {
            Map<String, String> m = f.metadata();
            String text = m.get("text");
            CharTokenizer tok = CharTokenizer.fit(text); // sorted distinct characters, as the script's vocabulary
            int vocab = integer(m, "vocab_size"), block = integer(m, "block_size"), batch = integer(m, "batch_size"), steps = integer(m, "steps");
            assertThat(tok.vocabSize()).as("vocabulary of the fixture's text").isEqualTo(vocab);
            GptConfig cfg = new GptConfig(vocab, block, integer(m, "n_layer"), integer(m, "n_head"), integer(m, "n_embd"), 0.0, false,
                    GptConfig.Activation.GELU, 1e-5);
            // the script's recipe, field by field (evaluation and logging off: run() is not used)
            Trainer.Options o = new Trainer.Options(batch, real(m, "lr"), real(m, "min_lr"), integer(m, "warmup_iters"), integer(m, "decay_iters"),
                    real(m, "weight_decay"), real(m, "beta1"), real(m, "beta2"), real(m, "grad_clip"), 0, 0, 0, 1);
            assertThat(real(m, "eps")).as("AdamW eps: the Trainer's is fixed at 1e-8").isEqualTo(1e-8);
            Trainer trainer = Trainer.create(cfg, tok, text, o);
            Gpt model = trainer.model();

            // PyTorch's initial weights, by name (nanoGPT's names and layouts are the model's own)
            Map<String, Variable> params = model.namedParameters();
            TreeSet<String> inFile = new TreeSet<>();
            for (String n : f.names()) if (n.startsWith("param.")) inFile.add(n.substring(6));
            assertThat(inFile).as("parameters in the fixture").isEqualTo(new TreeSet<>(params.keySet()));
            for (Map.Entry<String, Variable> e : params.entrySet()) {
                Tensor w = f.tensor("param." + e.getKey());
                assertThat(w.shape()).as("shape of " + e.getKey()).containsExactly(e.getValue().shape());
                e.getValue().data().copyFrom(w);
            }

            int[] xs = f.intTensor("x").storage(), ys = f.intTensor("y").storage();
            int per = batch * block;
            assertThat(xs.length).isEqualTo(steps * per);
            Batcher.Batch[] batches = new Batcher.Batch[steps];
            for (int s = 0; s < steps; s++)
                batches[s] = new Batcher.Batch(IntTensor.wrap(Arrays.copyOfRange(xs, s * per, (s + 1) * per), batch, block),
                        IntTensor.wrap(Arrays.copyOfRange(ys, s * per, (s + 1) * per), batch, block));

            // step 0's gradients (before clipping), every parameter
            model.train(true);
            model.zeroGrad();
            model.loss(batches[0].x(), batches[0].y()).backward();
            double worstGrad = 0;
            for (Map.Entry<String, Variable> e : params.entrySet()) {
                double err = Tolerance.relErr(e.getValue().grad(), f.tensor("grad0." + e.getKey()));
                assertThat(err).as("step-0 gradient of " + e.getKey()).isLessThan(GRAD_TOL);
                worstGrad = Math.max(worstGrad, err);
            }
            model.zeroGrad();

            // 20 steps of the Trainer's loop on PyTorch's batches
            double[] want = doubles(f, "loss"), lrs = doubles(f, "lr");
            double worstLoss = 0;
            for (int s = 0; s < steps; s++) {
                assertThat(trainer.lrAt(s)).as("learning rate of step %d", s).isCloseTo(lrs[s], org.assertj.core.data.Offset.offset(1e-12));
                double got = trainer.step(batches[s]);
                double err = Math.abs(got - want[s]) / Math.abs(want[s]);
                assertThat(err).as("step %d: loss %.6f, PyTorch %.6f", s, got, want[s]).isLessThan(LOSS_TOL);
                worstLoss = Math.max(worstLoss, err);
            }
            assertThat(want[steps - 1]).as("the curve goes down: a check of a flat curve would be weak").isLessThan(want[0] - 0.5);
            System.out.printf(Locale.ROOT, "loss-curve parity: %d params, worst step-0 gradient rel err %.2e, worst loss rel err %.2e, loss %.4f -> %.4f%n",
                    params.size(), worstGrad, worstLoss, want[0], want[steps - 1]);
        }
    }

    /** An F64 tensor's values, unrounded. */
    static double[] doubles(SafetensorsFile f, String name) throws java.io.IOException {
        assertThat(f.info(name).dtype().toString()).as("dtype of " + name).isEqualTo("F64");
        java.nio.DoubleBuffer b = f.rawBytes(name).asDoubleBuffer();
        double[] out = new double[b.remaining()];
        b.get(out);
        return out;
    }

    static int integer(Map<String, String> m, String key) {
        assertThat(m).as("fixture metadata").containsKey(key);
        return Integer.parseInt(m.get(key));
    }

    static double real(Map<String, String> m, String key) {
        assertThat(m).as("fixture metadata").containsKey(key);
        return Double.parseDouble(m.get(key));
    }
}
