package dev.vectorgrad.peft;

import static dev.vectorgrad.peft.PeftModelTest.randomise;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed adapter files: every refusal is an {@link IllegalArgumentException} naming the key, module or setting at fault,
 * and the model (module tree, parameters, their bits and flags) and the PeftModel (adapters, active one) are
 * exactly as before: nothing is half applied.
 */
class MalformedAdapterTest {
    @TempDir Path tmp;
    Path good;
    Map<String, Tensor> weights;
    Map<String, Object> config;

    static final String QB1 = "base_model.model.layers.1.attn.q_proj.lora_B.weight";
    static final String FA0 = "base_model.model.layers.0.fc.lora_A.weight";

    @BeforeEach
    void writeAGoodAdapter() throws IOException {
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "q_proj", "fc"));
        randomise(pm, "default", 5);
        good = tmp.resolve("good");
        PeftFiles.save(pm, "default", good);
        weights = Safetensors.readAll(good.resolve(PeftFiles.WEIGHTS));
        config = Json.asMap(Json.read(good.resolve(PeftFiles.CONFIG)), "config");
    }

    /** A copy of the good adapter with its tensors and config edited. */
    Path variant(String name, Consumer<Map<String, Tensor>> editWeights, Consumer<Map<String, Object>> editConfig) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Map<String, Tensor> w = new LinkedHashMap<>(weights);
        editWeights.accept(w);
        Safetensors.write(dir.resolve(PeftFiles.WEIGHTS), w);
        Map<String, Object> c = new LinkedHashMap<>(config);
        editConfig.accept(c);
        Files.writeString(dir.resolve(PeftFiles.CONFIG), Json.writePretty(c));
        return dir;
    }

    Path weightsVariant(String name, Consumer<Map<String, Tensor>> edit) throws IOException {
        return variant(name, edit, c -> {});
    }

    Path configVariant(String name, Consumer<Map<String, Object>> edit) throws IOException {
        return variant(name, w -> {}, edit);
    }

    /** Loads {@code dir} into a fresh Toy and into a PeftModel that already holds adapter "other"; both refuse, naming {@code parts}. */
    static void refused(Path dir, String... parts) {
        refused(IllegalArgumentException.class, dir, parts);
    }

    /** {@link #refused(Path, String...)} with the exception type: {@link IOException} for a file that is not there. */
    static void refused(Class<? extends Exception> type, Path dir, String... parts) {
        Toy fresh = new Toy(4, 2, 1);
        ModelState s0 = ModelState.of(fresh);
        var t = assertThatThrownBy(() -> PeftFiles.load(fresh, dir)).isInstanceOf(type);
        for (String p : parts) t.hasMessageContaining(p);
        s0.assertUnchanged(fresh);
        assertThat(fresh.numParameters(true)).isEqualTo(fresh.numParameters(false)); // nothing frozen either

        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(3, 6, "v_proj"));
        randomise(pm, "default", 9);
        pm.addAdapter("other", PeftConfig.lora(2, 2, "fc"));
        pm.setAdapter("default");
        ModelState s1 = ModelState.of(m);
        var u = assertThatThrownBy(() -> PeftFiles.load(pm, dir, "new")).isInstanceOf(type);
        for (String p : parts) u.hasMessageContaining(p);
        s1.assertUnchanged(m);
        assertThat(pm.adapterNames()).containsExactlyInAnyOrder("default", "other");
        assertThat(pm.activeAdapter()).isEqualTo("default");
    }

    @Test
    void theGoodAdapterLoads() throws IOException {
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftFiles.load(m, good);
        assertThat(pm.targets("default")).hasSize(4);
    }

    @Test
    void missingUnexpectedAndMisshapenTensors() throws IOException {
        refused(weightsVariant("missing", w -> w.remove(QB1)), "missing tensor '" + QB1 + "'", "expected shape [4, 2]");
        refused(weightsVariant("shape", w -> w.put(QB1, Tensor.zeros(4, 3))), "'" + QB1 + "' has shape [4, 3], expected [4, 2]");
        refused(weightsVariant("transposed", w -> w.put(FA0, Tensor.zeros(4, 2))), "'" + FA0 + "' has shape [4, 2], expected [2, 4]");
        refused(weightsVariant("rank1", w -> w.put(FA0, Tensor.zeros(8))), "'" + FA0 + "' has shape [8]");
        refused(weightsVariant("extra", w -> w.put("base_model.model.layers.0.attn.v_proj.lora_A.weight", Tensor.zeros(2, 4))),
                "unexpected tensor(s) [base_model.model.layers.0.attn.v_proj.lora_A.weight]");
        refused(weightsVariant("named", w -> w.put("base_model.model.layers.0.fc.lora_A.default.weight", w.remove(FA0))),
                "missing tensor '" + FA0 + "'");
    }

    @Test
    void configNamingModulesTheModelLacksOrCannotAdapt() throws IOException {
        refused(configVariant("k", c -> c.put("target_modules", List.of("q_proj", "k_proj"))), "target module 'k_proj' not found");
        refused(configVariant("regex", c -> c.put("target_modules", ".*\\.k_proj")), "selects no Linear", ".*\\.k_proj");
        refused(configVariant("norm", c -> c.put("target_modules", List.of("norm"))), "'layers.0.norm'", "LayerNorm");
        refused(configVariant("empty", c -> c.put("target_modules", List.of())), "target_modules is empty");
        refused(configVariant("badregex", c -> c.put("target_modules", "(q_proj")), "target regex '(q_proj'");
    }

    @Test
    void configWithBadRankOrSettings() throws IOException {
        refused(configVariant("r0", c -> c.put("r", 0)), "r must be positive, got 0");
        refused(configVariant("rneg", c -> c.put("r", -2)), "r must be positive, got -2");
        refused(configVariant("rankpattern", c -> c.put("rank_pattern", Map.of("fc", 0))), "rank_pattern 'fc': r must be positive, got 0");
        // a rank pattern that makes the file's shapes wrong: the tensor is named
        refused(configVariant("rank3", c -> c.put("rank_pattern", Map.of("fc", 3))), "'" + FA0 + "' has shape [2, 4], expected [3, 4]");
        refused(configVariant("dropout", c -> c.put("lora_dropout", 1.5)), "dropout must be in [0, 1), got 1.5");
        // DoRA is supported now: a LoRA file flagged use_dora lacks the magnitudes, which are named
        refused(configVariant("dora", c -> c.put("use_dora", true)), "missing tensor 'base_model.model.layers.0.attn.q_proj.lora_magnitude_vector' (expected shape [4])");
        refused(configVariant("ia3", c -> c.put("peft_type", "IA3")), "peft_type 'IA3' is not supported");
        refused(configVariant("ia3-no-r", c -> { c.put("peft_type", "IA3"); c.remove("r"); }), "peft_type 'IA3' is not supported");
        refused(configVariant("rstring", c -> c.put("r", "eight")), "r: expected an integer, got");
        refused(configVariant("rfrac", c -> c.put("r", 2.5)), "r: expected an integer that fits in a long, got 2.5");
        refused(configVariant("alpha", c -> c.put("lora_alpha", List.of(1))), "lora_alpha: expected a number");
        refused(configVariant("targets", c -> c.put("target_modules", 7)), "target_modules: expected a JSON array");
        Path notJson = configVariant("notjson", c -> {});
        Files.writeString(notJson.resolve(PeftFiles.CONFIG), "{\"r\": 2,");
        refused(notJson, PeftFiles.CONFIG);
    }

    @Test
    void configMissingRequiredKeysOrFiles() throws IOException {
        for (String key : List.of("r", "target_modules", "peft_type"))
            refused(configVariant("no-" + key, c -> c.remove(key)), "missing '" + key + "'");
        Path noWeights = configVariant("noweights", c -> {});
        Files.delete(noWeights.resolve(PeftFiles.WEIGHTS));
        refused(IOException.class, noWeights, "no " + PeftFiles.WEIGHTS);
        Path noConfig = configVariant("noconfig", c -> {});
        Files.delete(noConfig.resolve(PeftFiles.CONFIG));
        refused(IOException.class, noConfig, "no " + PeftFiles.CONFIG);
    }

    @Test
    void aVeraFileWithAnotherKeyThanTheModelsVeraAdapterChangesNothing() throws IOException {
        Toy src = new Toy(4, 2, 1);
        PeftModel v = PeftModel.wrap(src, PeftConfig.vera(3, 11, "fc"));
        randomise(v, "default", 2);
        Path dir = tmp.resolve("vera");
        PeftFiles.save(v, "default", dir);
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.vera(3, 12, "q_proj"));
        ModelState s = ModelState.of(m);
        assertThatThrownBy(() -> PeftFiles.load(pm, dir, "second")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("projection_prng_key");
        s.assertUnchanged(m);
        assertThat(pm.adapterNames()).containsExactly("default");
        // a VeRA projection of the wrong size is named too
        Map<String, Tensor> w = Safetensors.readAll(dir.resolve(PeftFiles.WEIGHTS));
        w.put(PeftFiles.VERA_A, Tensor.zeros(3, 5));
        Safetensors.write(dir.resolve(PeftFiles.WEIGHTS), w);
        Toy fresh = new Toy(4, 2, 1);
        ModelState s2 = ModelState.of(fresh);
        assertThatThrownBy(() -> PeftFiles.load(fresh, dir)).hasMessageContaining("'" + PeftFiles.VERA_A + "' has shape [3, 5], expected [3, 4]");
        s2.assertUnchanged(fresh);
    }

    @Test
    void aMalformedNativeFileChangesNothing() throws IOException {
        Toy m0 = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m0, PeftConfig.lora(2, 4, "q_proj", "fc"));
        Path f = tmp.resolve("a.safetensors");
        PeftFiles.saveNative(pm, "default", f);
        Map<String, Tensor> w = Safetensors.readAll(f);
        Map<String, String> meta;
        try (SafetensorsFile sf = Safetensors.read(f)) { meta = sf.metadata(); }
        String json = meta.get(PeftFiles.NATIVE_CONFIG);

        Path missing = tmp.resolve("missing.safetensors");
        Map<String, Tensor> w1 = new LinkedHashMap<>(w);
        w1.remove(QB1);
        Safetensors.write(missing, w1, Map.of(), meta);
        nativeRefused(missing, "missing tensor '" + QB1 + "'");

        Path shape = tmp.resolve("shape.safetensors");
        Map<String, Tensor> w2 = new LinkedHashMap<>(w);
        w2.put(QB1, Tensor.zeros(2, 4));
        Safetensors.write(shape, w2, Map.of(), meta);
        nativeRefused(shape, "'" + QB1 + "' has shape [2, 4], expected [4, 2]");

        Path r0 = tmp.resolve("r0.safetensors");
        Safetensors.write(r0, w, Map.of(), Map.of(PeftFiles.NATIVE_CONFIG, json.replace("\"r\":2", "\"r\":0")));
        assertThat(json).contains("\"r\":2");
        nativeRefused(r0, "r must be positive, got 0");

        Path k = tmp.resolve("k.safetensors");
        Safetensors.write(k, w, Map.of(), Map.of(PeftFiles.NATIVE_CONFIG, json.replace("\"fc\"", "\"mlp\"")));
        nativeRefused(k, "target module 'mlp' not found");

        Path plain = tmp.resolve("plain.safetensors");
        Safetensors.write(plain, w);
        nativeRefused(plain, "no '" + PeftFiles.NATIVE_CONFIG + "' metadata");
    }

    static void nativeRefused(Path f, String part) {
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.of(m);
        ModelState s = ModelState.of(m);
        assertThatThrownBy(() -> PeftFiles.loadNative(pm, f, "default")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(part);
        s.assertUnchanged(m);
        assertThat(pm.adapterNames()).isEmpty();
        assertThat(m.numParameters(true)).isEqualTo(m.numParameters(false));
    }

    @Test
    void loadingANameThatExistsOrOntoMergedLayersChangesNothing() throws IOException {
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftFiles.load(m, good);
        ModelState s = ModelState.of(m);
        assertThatThrownBy(() -> PeftFiles.load(pm, good, "default")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter 'default' already exists");
        s.assertUnchanged(m);
        pm.merge();
        ModelState merged = ModelState.of(m);
        assertThatThrownBy(() -> PeftFiles.load(pm, good, "again")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has merged adapters");
        merged.assertUnchanged(m);
        assertThat(pm.adapterNames()).containsExactly("default");
    }
}
