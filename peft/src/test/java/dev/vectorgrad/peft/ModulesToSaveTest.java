package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEFT's {@code modules_to_save} (a trained head kept beside the adapter): the module trains in full, is written under
 * {@code base_model.model.<path>.<parameter>} as PEFT 0.15+ writes it (its {@code ModulesToSaveWrapper.adapter_state_dict}
 * drops {@code modules_to_save.<adapter>.}), is named in {@code adapter_config.json}, and is loaded back into the module.
 */
class ModulesToSaveTest {
    @TempDir
    Path tmp;

    static PeftConfig config() {
        return PeftConfig.lora(2, 4, "q_proj", "v_proj").modulesToSave("lm_head").seed(3).build();
    }

    /** A wrapped Toy whose LoRA B and head hold known values (what training would have left). */
    static Toy trained(PeftModel[] out) {
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m, config());
        try (var g = Grad.disabled()) {
            int k = 0;
            for (var e : m.namedParameters().entrySet())
                if (e.getKey().contains("lora_B") || e.getKey().startsWith("lm_head.")) {
                    Tensor t = e.getValue().data();
                    float[] v = new float[(int) t.numel()];
                    for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(++k);
                    t.copyFrom(Tensor.of(v, t.shape()));
                }
        }
        out[0] = pm;
        return m;
    }

    @Test
    void theHeadTrainsAndIsSavedUnderPeftsKeys() throws Exception {
        PeftModel[] pm = new PeftModel[1];
        Toy m = trained(pm);
        List<String> trainable = new ArrayList<>();
        m.namedParameters().forEach((k, v) -> { if (v.requiresGrad()) trainable.add(k); });
        assertThat(trainable).contains("lm_head.weight").allMatch(k -> k.contains("lora_") || k.startsWith("lm_head."));
        PeftFiles.save(pm[0], "default", tmp);
        try (SafetensorsFile f = Safetensors.read(tmp.resolve(PeftFiles.WEIGHTS))) {
            TreeSet<String> expected = new TreeSet<>(List.of("base_model.model.lm_head.weight"));
            for (int l = 0; l < 2; l++)
                for (String p : List.of("q_proj", "v_proj"))
                    for (String ab : List.of("lora_A", "lora_B")) expected.add("base_model.model.layers." + l + ".attn." + p + "." + ab + ".weight");
            assertThat(new TreeSet<>(f.names())).isEqualTo(expected);
            assertThat(f.tensor("base_model.model.lm_head.weight").contiguous().toArray()).containsExactly(m.lmHead.weight.data().contiguous().toArray());
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> cfg = (Map<String, Object>) Json.parse(Files.readAllBytes(tmp.resolve(PeftFiles.CONFIG)));
        assertThat(cfg.get("modules_to_save")).isEqualTo(List.of("lm_head"));
        assertThat(PeftFiles.readConfig(tmp).modulesToSave()).containsExactly("lm_head");
    }

    @Test
    void aSavedDirectoryAndANativeFileReloadTheHead() throws Exception {
        PeftModel[] pm = new PeftModel[1];
        Toy m = trained(pm);
        Variable x = Variable.of(Tensor.of(new float[] {0.3f, -1f, 0.5f, 2f, 1f, 0f, -0.5f, 0.25f}, 2, 4));
        float[] want = m.forward(x).data().contiguous().toArray();
        PeftFiles.save(pm[0], "default", tmp.resolve("dir"));
        PeftFiles.saveNative(pm[0], "default", tmp.resolve("native.safetensors"));

        Toy fresh = new Toy(4, 2, 1);
        assertThat(fresh.forward(x).data().contiguous().toArray()).isNotEqualTo(want);
        PeftFiles.load(fresh, tmp.resolve("dir"));
        assertThat(fresh.lmHead.weight.data().contiguous().toArray()).containsExactly(m.lmHead.weight.data().contiguous().toArray());
        assertThat(fresh.forward(x).data().contiguous().toArray()).containsExactly(want);

        Toy fresh2 = new Toy(4, 2, 1);
        PeftModel p2 = PeftModel.of(fresh2);
        PeftFiles.loadNative(p2, tmp.resolve("native.safetensors"), "default");
        assertThat(fresh2.forward(x).data().contiguous().toArray()).containsExactly(want);
    }

    @Test
    void namesThatMatchNothingOrAMissingHeadTensorAreErrors() throws Exception {
        assertThatThrownBy(() -> PeftModel.wrap(new Toy(4, 2, 1), PeftConfig.lora(2, 4, "q_proj").modulesToSave("classifier").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("modules_to_save 'classifier' matches no module");
        assertThatThrownBy(() -> PeftConfig.lora(2, 4, "q_proj").modulesToSave("").build()).hasMessageContaining("empty modules_to_save name");
        // a directory whose config names the head but whose weights lack it (e.g. saved without modules_to_save)
        PeftModel plain = PeftModel.wrap(new Toy(4, 2, 1), PeftConfig.lora(2, 4, "q_proj", "v_proj").seed(3).build());
        Path dir = tmp.resolve("nohead");
        PeftFiles.save(plain, "default", dir);
        String json = Files.readString(dir.resolve(PeftFiles.CONFIG)).replace("\"modules_to_save\": null", "\"modules_to_save\": [\"lm_head\"]");
        assertThat(json).contains("[\"lm_head\"]");
        Files.writeString(dir.resolve(PeftFiles.CONFIG), json);
        assertThatThrownBy(() -> PeftFiles.load(new Toy(4, 2, 1), dir)).hasMessageContaining("missing tensor 'base_model.model.lm_head.weight'");
    }
}
