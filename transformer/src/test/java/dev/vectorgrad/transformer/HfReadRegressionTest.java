package dev.vectorgrad.transformer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.SafetensorsException;
import dev.vectorgrad.testdata.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Regressions of the Hugging Face GPT-2 readers that {@link GptConfigFuzzTest} found (issue 12 §5). */
class HfReadRegressionTest {
    static final Path MODEL = TestData.hf("gpt2-small-base/model");

    static Path copyModel(Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        for (String f : new String[] {"config.json", "model.safetensors"}) Files.copy(MODEL.resolve(f), dir.resolve(f));
        return dir;
    }

    /** Files.readString threw MalformedInputException, an IOException, for a config.json that is not UTF-8. */
    @Test
    void configThatIsNotUtf8IsABadFileNotAnIoError(@TempDir Path tmp) throws Exception {
        Path dir = copyModel(tmp);
        byte[] b = Files.readAllBytes(dir.resolve("config.json"));
        b[3] = (byte) 0xC0;
        Files.write(dir.resolve("config.json"), b);
        assertThatThrownBy(() -> GptConfig.readHf(dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("config.json").hasMessageContaining("not valid UTF-8");
        assertThatThrownBy(() -> HfGpt2.load(dir)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("config.json");
    }

    /** A weights file that does not fit the config was an IOException, as if the disk had failed. */
    @Test
    void weightsThatDoNotFitTheConfigAreASafetensorsException(@TempDir Path tmp) throws Exception {
        Path dir = copyModel(tmp);
        Map<String, Object> cfg = Json.asMap(Json.read(dir.resolve("config.json")), "config");
        cfg.put("n_head", 4L); // same parameter count, so the size check passes and the load reaches the tensors
        cfg.put("n_positions", 16L);
        Files.writeString(dir.resolve("config.json"), Json.write(cfg));
        assertThatThrownBy(() -> HfGpt2.load(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("model.safetensors: tensor 'transformer.wpe.weight' has shape [32, 32], expected [16, 32]");
    }

    /** n_layer = 100000 allocated a 1.27-billion-parameter model (100000 × (12·32² + 13·32) + 97·32 + 64) before finding the file held 29k numbers. */
    @Test
    void configAskingForMoreParametersThanTheWeightsHoldIsRefusedBeforeAllocating(@TempDir Path tmp) throws Exception {
        Path dir = copyModel(tmp);
        Map<String, Object> cfg = Json.asMap(Json.read(dir.resolve("config.json")), "config");
        cfg.put("n_layer", 100_000L);
        Files.writeString(dir.resolve("config.json"), Json.write(cfg));
        assertThatThrownBy(() -> HfGpt2.load(dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("config.json: the config describes a model of 1270403168 parameters")
                .hasMessageContaining("model.safetensors holds only");
    }

    /** The count the size check uses is the model's own: checked against its parameters, with and without biases. */
    @Test
    void parameterCountIsTheModelsOwn() {
        for (boolean bias : new boolean[] {true, false}) {
            GptConfig c = new GptConfig(11, 7, 3, 2, 6, 0, bias, GptConfig.Activation.GELU, 1e-5);
            long n = 0;
            for (Variable p : new Gpt(c).namedParameters().values()) n += p.data().numel();
            assertThat(c.parameterCount()).isEqualTo(n);
        }
        // 12·E² + 13·E per block with biases, (V + P)·E for the embeddings, 2·E for ln_f: GPT-2 small is 124,439,808
        assertThat(GptConfig.gpt2(50257).parameterCount()).isEqualTo(124_439_808L);
    }

    /** 4 × n_embd overflowed an int: such a config made a negative-size Linear instead of an error. */
    @Test
    void configWhoseMlpWouldOverflowAnIntIsRefused() {
        assertThatThrownBy(() -> new GptConfig(10, 8, 1, 1, 1 << 29, 0, true, GptConfig.Activation.GELU, 1e-5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than 2^31 - 1 elements");
    }
}
