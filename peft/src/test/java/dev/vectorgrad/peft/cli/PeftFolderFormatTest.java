package dev.vectorgrad.peft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.testdata.TestData;
import dev.vectorgrad.transformer.data.CharTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapter folders {@code finetune} writes for LoRA, DoRA, AdaLoRA and VeRA follow PEFT's format as PEFT 0.21.0
 * itself wrote the fixtures in {@code testdata/hf}: for each, a run with the fixture's settings on the fixture's
 * base model writes {@code adapter_model.safetensors} with exactly the fixture's keys, shapes, dtypes and metadata,
 * and an {@code adapter_config.json} whose every field is one of the fixture's, holding the fixture's value (the
 * fields that depend on the run, listed in {@link #RUN_DEPENDENT}, only the fixture's JSON type). Fields PEFT
 * wrote that we leave out take PEFT's defaults on load, which are the values the fixtures hold for them (the
 * fixtures were made with defaults but for the settings named in {@code testdata/hf/README.md}).
 *
 * <p>Python PEFT is not installed here (PyPI is unreachable), so loading our folders with {@code PeftModel.from_pretrained}
 * is not run; this test is the offline stand-in.
 */
class PeftFolderFormatTest {
    /** Fields whose value depends on the run, not on the format: AdaLoRA's total_step is --iters, VeRA's key is finetune's 0. */
    static final Set<String> RUN_DEPENDENT = Set.of("total_step", "projection_prng_key");

    record Case(String fixture, Finetune.Options options) {}

    static Finetune.Options opts(String method, int r, double alpha, List<String> targets) {
        return new Finetune.Options(method, r, alpha, targets, 1, 1, 16, Finetune.defaultLr(method), 1, 1, 1, 7);
    }

    static final List<Case> CASES = List.of(
            new Case("gpt2-small-lora", opts("lora", 4, 8, List.of("c_attn", "c_proj"))),
            new Case("gpt2-other-dora", opts("dora", 4, 8, List.of("c_attn"))),
            new Case("gpt2-other-adalora", opts("adalora", 6, 8, List.of("c_attn", "c_fc")).withTargetR(4)),
            new Case("gpt2-small-vera", opts("vera", 16, Double.NaN, List.of("c_attn"))));

    @Test
    void ourFoldersHavePeftsKeysShapesAndConfigFields(@TempDir Path tmp) throws Exception {
        String text = Files.readString(TestData.file("tinyshakespeare/tinyshakespeare.txt")).substring(0, 4000);
        for (Case c : CASES) {
            Path model = Files.createDirectories(tmp.resolve(c.fixture() + "-model"));
            for (String f : List.of("config.json", "model.safetensors")) Files.copy(TestData.hf(c.fixture() + "/model/" + f), model.resolve(f));
            CharTokenizer.fit(text).save(model.resolve("tokenizer.json"));
            Path out = tmp.resolve(c.fixture());
            new Finetune(model, text, c.options()).run(1, out, FinetuneTest.QUIET, false);
            Path peft = TestData.hf(c.fixture() + "/adapter");
            assertThat(tensors(out.resolve(PeftFiles.WEIGHTS))).as(c.fixture() + ": keys, dtypes and shapes").isEqualTo(tensors(peft.resolve(PeftFiles.WEIGHTS)));
            try (SafetensorsFile ours = Safetensors.read(out.resolve(PeftFiles.WEIGHTS)); SafetensorsFile theirs = Safetensors.read(peft.resolve(PeftFiles.WEIGHTS))) {
                assertThat(ours.metadata()).as(c.fixture() + ": metadata").isEqualTo(theirs.metadata());
            }
            Map<String, Object> ours = Json.asMap(Json.read(out.resolve(PeftFiles.CONFIG)), "ours"), theirs = Json.asMap(Json.read(peft.resolve(PeftFiles.CONFIG)), "PEFT's");
            List<String> wrong = new ArrayList<>();
            for (Map.Entry<String, Object> e : ours.entrySet()) {
                String k = e.getKey();
                if (!theirs.containsKey(k)) wrong.add(k + ": not a field of PEFT's " + theirs.get("peft_type") + " config");
                else if (!type(e.getValue()).equals(type(theirs.get(k)))) wrong.add(k + ": " + type(e.getValue()) + ", PEFT's is " + type(theirs.get(k)));
                else if (!RUN_DEPENDENT.contains(k) && !same(e.getValue(), theirs.get(k))) wrong.add(k + ": " + e.getValue() + ", PEFT's " + theirs.get(k));
            }
            assertThat(wrong).as(c.fixture() + ": adapter_config.json fields").isEmpty();
            // the fields that carry the method are all written (none left to a default that might differ)
            for (String k : List.of("peft_type", "r", "target_modules", "fan_in_fan_out", "bias", "modules_to_save", "layers_to_transform", "layers_pattern"))
                assertThat(ours).as(c.fixture() + ": " + k).containsKey(k);
            String type = (String) theirs.get("peft_type");
            if (!type.equals("VERA")) assertThat(ours).as(c.fixture()).containsKeys("lora_alpha", "lora_dropout", "init_lora_weights", "use_rslora", "use_dora");
            if (type.equals("ADALORA")) assertThat(ours).containsKeys("init_r", "target_r", "tinit", "tfinal", "deltaT", "beta1", "beta2", "orth_reg_weight", "total_step", "rank_pattern");
            if (type.equals("VERA")) assertThat(ours).containsKeys("projection_prng_key", "save_projection", "vera_dropout", "d_initial", "init_weights");
        }
    }

    /** Key → "dtype shape" of a safetensors file. */
    static Map<String, String> tensors(Path file) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (SafetensorsFile f = Safetensors.read(file)) {
            for (String k : f.names()) m.put(k, f.info(k).dtype() + " " + java.util.Arrays.toString(f.info(k).shape()));
        }
        return m;
    }

    static String type(Object v) {
        if (v == null) return "null";
        if (v instanceof Number) return "number";
        if (v instanceof String) return "string";
        if (v instanceof Boolean) return "boolean";
        if (v instanceof List) return "array";
        return "object";
    }

    /** JSON equality with numbers compared as doubles (8 and 8.0 alike: Python reads both) and lists of names as sets (PEFT writes a set). */
    static boolean same(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) return x.doubleValue() == y.doubleValue();
        if (a instanceof List<?> x && b instanceof List<?> y) return new HashSet<>(x).equals(new HashSet<>(y)) && x.size() == y.size();
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (!new TreeSet<>(x.keySet()).equals(new TreeSet<>(y.keySet()))) return false;
            for (Object k : x.keySet()) if (!same(x.get(k), y.get(k))) return false;
            return true;
        }
        return a == null ? b == null : a.equals(b);
    }
}
