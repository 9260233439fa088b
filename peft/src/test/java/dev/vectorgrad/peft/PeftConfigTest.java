package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftConfigTest {
    @TempDir Path tmp;

    @Test
    void builderSetsEveryFieldAndDefaultsArePefts() {
        PeftConfig c = PeftConfig.lora(8).alpha(16).targets("c_attn", "c_proj").dropout(0.05).rslora(true)
                .rankPattern("c_proj", 4).alphaPattern("c_attn", 32).exclude("lm_head").layers(0, 2).layersPattern("h")
                .init(PeftConfig.LoraInit.GAUSSIAN).freezeA(true).seed(42).build();
        assertThat(c.type()).isEqualTo(PeftConfig.Type.LORA);
        assertThat(c.r()).isEqualTo(8);
        assertThat(c.alpha()).isEqualTo(16.0);
        assertThat(c.targetModules()).containsExactly("c_attn", "c_proj");
        assertThat(c.targetRegex()).isNull();
        assertThat(c.dropout()).isEqualTo(0.05);
        assertThat(c.useRslora()).isTrue();
        assertThat(c.rankPattern()).containsExactly(Map.entry("c_proj", 4));
        assertThat(c.alphaPattern()).containsExactly(Map.entry("c_attn", 32.0));
        assertThat(c.excludeModules()).containsExactly("lm_head");
        assertThat(c.layersToTransform()).containsExactly(0, 2);
        assertThat(c.layersPattern()).containsExactly("h");
        assertThat(c.loraInit()).isEqualTo(PeftConfig.LoraInit.GAUSSIAN);
        assertThat(c.freezeA()).isTrue();
        assertThat(c.seed()).isEqualTo(42L);

        PeftConfig d = PeftConfig.lora(4).targets("q").build();
        assertThat(d.alpha()).isEqualTo(8.0);
        assertThat(d.dropout()).isZero();
        assertThat(d.loraInit()).isEqualTo(PeftConfig.LoraInit.DEFAULT);
        PeftConfig v = PeftConfig.vera(256).targets("q").build();
        assertThat(v.type()).isEqualTo(PeftConfig.Type.VERA);
        assertThat(v.projectionPrngKey()).isZero();
        assertThat(v.saveProjection()).isTrue();
        assertThat(v.dInitial()).isEqualTo(0.1);
        assertThat(PeftConfig.builder(PeftConfig.Type.VERA).targets("q").build().r()).isEqualTo(256);
        assertThat(PeftConfig.builder(PeftConfig.Type.LORA).targets("q").build().r()).isEqualTo(8);

        // the shorthand is the same builder
        PeftConfig s = PeftConfig.lora(8, 16, "c_attn", "c_proj").build();
        assertThat(s.r()).isEqualTo(8);
        assertThat(s.alpha()).isEqualTo(16.0);
        assertThat(s.targetModules()).containsExactly("c_attn", "c_proj");
        PeftConfig sv = PeftConfig.vera(16, 1234, "up").build();
        assertThat(sv.projectionPrngKey()).isEqualTo(1234L);
        assertThat(sv.r()).isEqualTo(16);
        // targetRegex and targets replace each other
        assertThat(PeftConfig.lora(2).targets("a").targetRegex(".*b").build().targetModules()).isNull();
        assertThat(PeftConfig.lora(2).targetRegex(".*b").targets("a").build().targetRegex()).isNull();
    }

    @Test
    void configIsImmutableAndToBuilderDerivesACopy() {
        PeftConfig.Builder b = PeftConfig.lora(8).targets("q").rankPattern("q", 2);
        PeftConfig c = b.build();
        b.rankPattern("k", 3).alpha(99).targets("z");
        assertThat(c.rankPattern()).containsOnlyKeys("q");
        assertThat(c.alpha()).isEqualTo(8.0);
        assertThat(c.targetModules()).containsExactly("q");
        assertThatThrownBy(() -> c.rankPattern().put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> c.targetModules().add("x")).isInstanceOf(UnsupportedOperationException.class);
        PeftConfig d = c.toBuilder().r(16).alpha(32).build();
        assertThat(d.r()).isEqualTo(16);
        assertThat(d.alpha()).isEqualTo(32.0);
        assertThat(d.targetModules()).containsExactly("q");
        assertThat(d.rankPattern()).containsExactly(Map.entry("q", 2));
        assertThat(c.r()).isEqualTo(8);
        // rank_pattern keeps insertion order (PEFT: first match wins)
        PeftConfig o = PeftConfig.lora(8).targets("q").rankPattern("z", 1).rankPattern("a", 2).rankPattern("m", 3).build();
        assertThat(List.copyOf(o.rankPattern().keySet())).containsExactly("z", "a", "m");
    }

    @Test
    void buildRefusesInvalidSettingsNamingThem() {
        assertThatThrownBy(() -> PeftConfig.lora(0).targets("q").build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("r must be positive, got 0");
        assertThatThrownBy(() -> PeftConfig.vera(-3).targets("q").build()).hasMessageContaining("r must be positive, got -3");
        assertThatThrownBy(() -> PeftConfig.lora(8).alpha(Double.NaN).targets("q").build()).hasMessageContaining("lora_alpha must be finite, got NaN");
        assertThatThrownBy(() -> PeftConfig.lora(8).alpha(Double.POSITIVE_INFINITY).targets("q").build()).hasMessageContaining("Infinity");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q").dropout(1).build()).hasMessageContaining("dropout must be in [0, 1), got 1.0");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q").dropout(-0.1).build()).hasMessageContaining("got -0.1");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q").dropout(Double.NaN).build()).hasMessageContaining("dropout");
        assertThatThrownBy(() -> PeftConfig.lora(8).build()).hasMessageContaining("no target modules");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets().build()).hasMessageContaining("target_modules is empty");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q", "").build()).hasMessageContaining("empty target module name");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q", null).build()).hasMessageContaining("empty target module name");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets(PeftConfig.ALL_LINEAR, "q").build()).hasMessageContaining("'all-linear' must be the only target");
        assertThatThrownBy(() -> PeftConfig.lora(8).targetRegex("(unclosed").build()).hasMessageContaining("target regex '(unclosed'");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q").excludeRegex("[").build()).hasMessageContaining("exclude regex '['");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q").rankPattern("fc", 0).build()).hasMessageContaining("rank_pattern 'fc': r must be positive, got 0");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q").rankPattern("(", 2).build()).hasMessageContaining("rank_pattern key '('");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q").alphaPattern("fc", Double.NaN).build()).hasMessageContaining("alpha_pattern 'fc'");
        assertThatThrownBy(() -> PeftConfig.lora(8).targets("q").layers(1, -1).build()).hasMessageContaining("layers_to_transform holds -1");
        assertThatThrownBy(() -> PeftConfig.vera(8).targets("q").dInitial(Double.NaN).build()).hasMessageContaining("d_initial");
        assertThatThrownBy(() -> PeftConfig.vera(8).targets("q").rankPattern("q", 2).build()).hasMessageContaining("rank_pattern is a LoRA option");
        assertThatThrownBy(() -> PeftConfig.vera(8).targets("q").rslora(true).build()).hasMessageContaining("rsLoRA");
        assertThatThrownBy(() -> PeftConfig.vera(8).targets("q").init(PeftConfig.LoraInit.PISSA).build()).hasMessageContaining("PISSA");
        assertThatThrownBy(() -> PeftConfig.vera(8).targets("q").freezeA(true).build()).hasMessageContaining("freezeA");
        assertThatThrownBy(() -> PeftConfig.builder(null)).isInstanceOf(NullPointerException.class).hasMessageContaining("LORA, VERA, ADALORA or BOTTLENECK");
        // wrap(model, builder) validates before touching the model
        Toy m = new Toy(4, 1, 1);
        List<String> before = List.copyOf(m.namedParameters().keySet());
        assertThatThrownBy(() -> PeftModel.wrap(m, PeftConfig.lora(2, Double.NaN, "q_proj"))).hasMessageContaining("lora_alpha");
        assertThat(m.namedParameters().keySet()).containsExactlyElementsOf(before);
        assertThat(m.numParameters(true)).isEqualTo(m.numParameters(false));
    }

    @Test
    void peftDirectoryConfigRoundTripsThroughTheBuilder() throws Exception {
        PeftConfig c = PeftConfig.lora(2, 6, "q_proj", "fc").rankPattern("fc", 3).alphaPattern("q_proj", 5).dropout(0.1).rslora(true)
                .exclude("v_proj").layers(0, 1).build();
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m, c);
        PeftFiles.save(pm, "default", tmp);
        PeftConfig back = PeftFiles.readConfig(tmp);
        assertThat(back.type()).isEqualTo(PeftConfig.Type.LORA);
        assertThat(back.r()).isEqualTo(2);
        assertThat(back.alpha()).isEqualTo(6.0);
        assertThat(back.targetModules()).containsExactly("q_proj", "fc");
        assertThat(back.rankPattern()).containsExactly(Map.entry("fc", 3));
        assertThat(back.alphaPattern()).containsExactly(Map.entry("q_proj", 5.0));
        assertThat(back.dropout()).isEqualTo(0.1);
        assertThat(back.useRslora()).isTrue();
        assertThat(back.excludeModules()).containsExactly("v_proj");
        assertThat(back.layersToTransform()).containsExactly(0, 1);
        assertThat(back.toString()).isEqualTo(c.toString());
    }
}
