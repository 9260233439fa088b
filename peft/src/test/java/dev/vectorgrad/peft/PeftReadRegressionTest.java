package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsException;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.testdata.TestData;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regressions of the adapter readers that {@link PeftFilesFuzzTest} found (issue 12 §5): a malformed adapter was an
 * {@link IOException}, which a caller cannot tell from a disk that failed; it is now an
 * {@link IllegalArgumentException} naming the file.
 */
class PeftReadRegressionTest {
    static final Path LORA = TestData.hf("gpt2-small-lora/adapter");

    static Path copy(Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("adapter"));
        for (String f : new String[] {PeftFiles.CONFIG, PeftFiles.WEIGHTS}) Files.copy(LORA.resolve(f), dir.resolve(f));
        return dir;
    }

    static Gpt base() throws IOException {
        return new Gpt(GptConfig.readHf(TestData.hf("gpt2-small-base/model")));
    }

    @Test
    void adapterConfigThatIsNotUtf8IsABadFileNotAnIoError(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp);
        byte[] b = Files.readAllBytes(dir.resolve(PeftFiles.CONFIG));
        b[5] = (byte) 0xFE;
        Files.write(dir.resolve(PeftFiles.CONFIG), b);
        assertThatThrownBy(() -> PeftFiles.readConfig(dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(PeftFiles.CONFIG).hasMessageContaining("not valid UTF-8");
    }

    @Test
    void adapterConfigThatIsNotAnObjectIsABadFileNotAnIoError(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp);
        Files.writeString(dir.resolve(PeftFiles.CONFIG), "[1, 2]");
        assertThatThrownBy(() -> PeftFiles.readConfig(dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(PeftFiles.CONFIG + " is not a JSON object");
    }

    @Test
    void weightsThatDoNotFitTheModelAreASafetensorsExceptionNotAnIoError(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp);
        Safetensors.write(dir.resolve(PeftFiles.WEIGHTS), Map.of("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", Tensor.zeros(4, 31)));
        assertThatThrownBy(() -> PeftFiles.load(base(), dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(PeftFiles.WEIGHTS + ": tensor 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight' has shape [4, 31], expected [4, 32]");
    }

    @Test
    void nativeFileWithoutItsConfigIsABadFileNotAnIoError(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("plain.safetensors");
        Safetensors.write(f, Map.of("x", Tensor.zeros(2)));
        assertThatThrownBy(() -> PeftFiles.loadNative(PeftModel.of(base()), f, "default")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("plain.safetensors: no '" + PeftFiles.NATIVE_CONFIG + "' metadata");
    }

    @Test
    void nativeConfigThatIsNotJsonNamesTheFile(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("bad.safetensors");
        Safetensors.writer().metadata(PeftFiles.NATIVE_CONFIG, "{\"peft_type\": LORA}").put("x", Tensor.zeros(2)).write(f);
        assertThatThrownBy(() -> PeftFiles.loadNative(PeftModel.of(base()), f, "default")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad.safetensors: unexpected 'L', expected a value");
    }
}
