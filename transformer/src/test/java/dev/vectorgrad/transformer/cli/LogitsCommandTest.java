package dev.vectorgrad.transformer.cli;

import dev.vectorgrad.testdata.TestData;
import dev.vectorgrad.testdata.Tolerance;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vectorgrad logits} end to end on the Hugging Face fixture. */
class LogitsCommandTest {
    static Path fixture() {
        return TestData.hf("gpt2-small-base");
    }

    @Test
    void reproducesTheFixtureThroughTheCommand(@TempDir Path tmp) throws Exception {
        Path fx = fixture(), out = tmp.resolve("out.safetensors");
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int rc = LogitsCommand.run(new String[] {"--model", fx.resolve("model").toString(), "--inputs",
                fx.resolve("expected.safetensors").toString(), "--out", out.toString(), "--grads"}, new PrintStream(o), new PrintStream(e));
        assertThat(rc).as(e.toString()).isZero();
        try (SafetensorsFile got = Safetensors.read(out); SafetensorsFile exp = Safetensors.read(fx.resolve("expected.safetensors"))) {
            assertThat(got.tensor("logits").shape()).containsExactly(2, 16, 65);
            assertThat(Tolerance.relErr(got.tensor("logits"), exp.tensor("base_logits"))).isLessThan(1e-5);
            assertThat(Tolerance.relErr(got.tensor("loss"), exp.tensor("loss"))).isLessThan(1e-5);
            for (String k : exp.names())
                if (k.startsWith("grad.")) assertThat(Tolerance.relErr(got.tensor(k), exp.tensor(k))).as(k).isLessThan(1e-5);
            // every parameter of the bare model has a gradient, under its HF name and layout
            assertThat(got.names()).contains("grad.transformer.h.1.mlp.c_fc.weight", "grad.transformer.wpe.weight", "grad.transformer.ln_f.bias");
            assertThat(got.tensor("grad.transformer.h.1.mlp.c_fc.weight").shape()).containsExactly(32, 128);
            assertThat(got.names().stream().filter(n -> n.startsWith("grad."))).hasSize(4 + 2 * 12);
        }
    }

    @Test
    void rejectsAdaptersForNow(@TempDir Path tmp) {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int rc = LogitsCommand.run(new String[] {"--model", "m", "--adapter", "a", "--inputs", "i", "--out", tmp.resolve("o").toString()},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(e));
        assertThat(rc).isEqualTo(2);
        assertThat(e.toString()).contains("PEFT adapters are not supported yet");
    }

    @Test
    void missingOptionIsAUsageError() {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int rc = LogitsCommand.run(new String[] {"--model", "m"}, new PrintStream(new ByteArrayOutputStream()), new PrintStream(e));
        assertThat(rc).isEqualTo(2);
        assertThat(e.toString()).contains("--inputs is required");
    }
}
