package dev.vectorgrad.transformer;

import dev.vectorgrad.testdata.Tolerance;
import dev.vectorgrad.testdata.TestData;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Logits, loss and gradients of the Hugging Face fixture (computed by transformers) reproduced to ~1e-5. */
class HfParityTest {
    static final double TOL = 1e-5;

    @Test
    void reproducesTransformersLogitsLossAndGradients() throws Exception {
        Path dir = TestData.hf("gpt2-small-base");
        Gpt model = HfGpt2.load(dir.resolve("model"));
        assertThat(model.transformer.h.size()).isEqualTo(2);
        try (SafetensorsFile exp = Safetensors.read(dir.resolve("expected.safetensors"))) {
            IntTensor ids = exp.intTensor("input_ids"), targets = exp.intTensor("targets");
            Variable logits = model.forward(ids);
            double le = Tolerance.relErr(logits.data(), exp.tensor("base_logits"));
            assertThat(le).as("logits relative error").isLessThan(TOL);
            Variable loss = dev.vectorgrad.autograd.F.crossEntropy(logits, targets);
            float expLoss = exp.tensor("loss").toArray()[0];
            assertThat((double) Math.abs(loss.item() - expLoss) / Math.abs(expLoss)).as("loss").isLessThan(TOL);
            loss.backward();
            Map<String, Variable> params = model.namedParameters();
            int checked = 0;
            for (String key : exp.names()) {
                if (!key.startsWith("grad.")) continue;
                String name = key.substring(5);
                Variable p = params.get(name);
                assertThat(p).as(name).isNotNull();
                double ge = Tolerance.relErr(HfGpt2.toHf(name, p.grad()), exp.tensor(key));
                assertThat(ge).as("gradient of " + name).isLessThan(TOL);
                checked++;
            }
            assertThat(checked).isGreaterThanOrEqualTo(3);
        }
    }

    @Test
    void savesBackInTheSameLayout(@TempDir Path tmp) throws Exception {
        Path dir = TestData.hf("gpt2-small-base").resolve("model");
        Gpt model = HfGpt2.load(dir);
        HfGpt2.save(model, tmp);
        try (SafetensorsFile a = Safetensors.read(dir.resolve(HfGpt2.WEIGHTS)); SafetensorsFile b = Safetensors.read(tmp.resolve(HfGpt2.WEIGHTS))) {
            assertThat(b.names()).containsExactlyInAnyOrderElementsOf(a.names());
            for (String n : a.names()) {
                Tensor x = a.tensor(n), y = b.tensor(n);
                assertThat(y.shape()).as(n).containsExactly(x.shape());
                assertThat(y.contentEquals(x)).as(n).isTrue();
            }
        }
        assertThat(GptConfig.readHf(tmp)).isEqualTo(model.config());
    }
}
