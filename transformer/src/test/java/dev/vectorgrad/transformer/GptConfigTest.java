package dev.vectorgrad.transformer;

import dev.vectorgrad.testdata.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GptConfigTest {
    private static final String MINIMAL = """
            {"model_type": "gpt2", "vocab_size": 65, "n_positions": 32, "n_embd": 32, "n_layer": 2, "n_head": 2,
             "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05, "resid_pdrop": 0.1,
             "embd_pdrop": 0.1, "attn_pdrop": 0.1, "tie_word_embeddings": true}
            """;

    private static Path fixture() {
        return TestData.hf("gpt2-small-base/model/config.json");
    }

    @Test
    void readsTheHuggingFaceFixture() throws Exception {
        Path file = fixture();
        GptConfig c = GptConfig.readHf(file);
        // Values as written in that config.json.
        assertThat(c).isEqualTo(new GptConfig(65, 32, 2, 2, 32, 0.1, true, GptConfig.Activation.GELU_TANH, 1e-5));
        assertThat(c.headSize()).isEqualTo(16);
        assertThat(GptConfig.readHf(file.getParent())).isEqualTo(c); // the directory works too
    }

    @Test
    void parsesWithoutTheFixtureToo() {
        GptConfig c = GptConfig.fromHfJson(MINIMAL, "mem");
        assertThat(c).isEqualTo(new GptConfig(65, 32, 2, 2, 32, 0.1, true, GptConfig.Activation.GELU_TANH, 1e-5));
    }

    @Test
    void writesAndReadsBack(@TempDir Path dir) throws Exception {
        GptConfig c = new GptConfig(50257, 1024, 12, 12, 768, 0.0, true, GptConfig.Activation.GELU, 1e-6);
        c.writeHf(dir);
        String json = Files.readString(dir.resolve("config.json"));
        assertThat(json).contains("\"n_embd\": 768").contains("\"activation_function\": \"gelu\"")
                .contains("\"layer_norm_epsilon\": 1.0E-6").contains("\"model_type\": \"gpt2\"");
        assertThat(GptConfig.readHf(dir)).isEqualTo(c);
        GptConfig tanh = GptConfig.fromHfJson(MINIMAL, "mem");
        assertThat(GptConfig.fromHfJson(tanh.toHfJson(), "again")).isEqualTo(tanh);
    }

    @Test
    void babyPreset() {
        GptConfig b = GptConfig.baby(65);
        assertThat(b.layers()).isEqualTo(4);
        assertThat(b.heads()).isEqualTo(4);
        assertThat(b.nEmbd()).isEqualTo(128);
        assertThat(b.blockSize()).isEqualTo(64);
        assertThat(b.dropout()).isZero();
        assertThat(b.bias()).isFalse();
        assertThat(b.activation()).isEqualTo(GptConfig.Activation.GELU);
        assertThat(b.headSize()).isEqualTo(32);
        assertThat(GptConfig.preset("baby", 65)).isEqualTo(b);
        assertThatThrownBy(() -> GptConfig.preset("huge", 65)).hasMessageContaining("baby");
    }

    @Test
    void invalidRecordsNameTheField() {
        assertThatThrownBy(() -> new GptConfig(65, 64, 4, 3, 128, 0, false, GptConfig.Activation.GELU, 1e-5))
                .hasMessageContaining("nEmbd (128) must be divisible by heads (3)");
        assertThatThrownBy(() -> new GptConfig(0, 64, 4, 4, 128, 0, false, GptConfig.Activation.GELU, 1e-5))
                .hasMessageContaining("vocabSize");
        assertThatThrownBy(() -> new GptConfig(65, 64, 4, 4, 128, 1.0, false, GptConfig.Activation.GELU, 1e-5))
                .hasMessageContaining("dropout");
        assertThatThrownBy(() -> new GptConfig(65, 64, 4, 4, 128, 0, false, GptConfig.Activation.GELU, 0))
                .hasMessageContaining("layerNormEps");
    }

    @Test
    void invalidHfConfigsNameTheFileAndField() {
        assertThatThrownBy(() -> GptConfig.fromHfJson(MINIMAL.replace("\"n_head\": 2", "\"n_head\": 3"), "/m/config.json"))
                .hasMessage("/m/config.json: n_embd (32) must be divisible by n_head (3)");
        assertThatThrownBy(() -> GptConfig.fromHfJson(MINIMAL.replace("\"n_layer\": 2", "\"n_layer\": 0"), "f.json"))
                .hasMessage("f.json: n_layer must be a positive int, got 0");
        assertThatThrownBy(() -> GptConfig.fromHfJson(MINIMAL.replace("\"vocab_size\": 65, ", ""), "f.json"))
                .hasMessage("f.json: vocab_size is missing");
        assertThatThrownBy(() -> GptConfig.fromHfJson(MINIMAL.replace("\"n_embd\": 32", "\"n_embd\": 32.5"), "f.json"))
                .hasMessageContaining("f.json: n_embd must be an integer");
        assertThatThrownBy(() -> GptConfig.fromHfJson(MINIMAL.replace("gelu_new", "relu"), "f.json"))
                .hasMessageContaining("f.json: activation_function \"relu\"");
        assertThatThrownBy(() -> GptConfig.fromHfJson(MINIMAL.replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false"), "f.json"))
                .hasMessageContaining("f.json: tie_word_embeddings must be true");
        assertThatThrownBy(() -> GptConfig.fromHfJson(MINIMAL.replace("\"attn_pdrop\": 0.1", "\"attn_pdrop\": 0.2"), "f.json"))
                .hasMessageContaining("must be equal");
        assertThatThrownBy(() -> GptConfig.fromHfJson("{\"model_type\": \"llama\"}", "f.json"))
                .hasMessageContaining("f.json: model_type");
        assertThatThrownBy(() -> GptConfig.fromHfJson("{\"n_embd\": }", "f.json"))
                .hasMessageStartingWith("f.json: ").hasMessageContaining("line 1");
    }
}
