package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Decoding with the KV cache ({@link Gpt#step}) gives the next-token logits of the uncached forward at every
 * position, for every adapter type, unmerged and merged: the cached path must go through the adapters too.
 */
class CachedDecodingTest {
    static final GptConfig CFG = new GptConfig(11, 10, 2, 2, 8, 0.0, true, GptConfig.Activation.GELU, 1e-5);
    static final int[] PROMPT = {4, 7, 1, 0, 9, 3, 3, 10, 2};

    static Stream<Arguments> adapters() {
        List<Arguments> out = new ArrayList<>();
        List<Object[]> kinds = List.of(
                new Object[] {"LoRA on the Linears", PeftConfig.lora(2, 4, "c_attn", "c_proj", "c_fc").seed(1).build()},
                new Object[] {"LoRA on wte", PeftConfig.lora(2, 4, "wte").seed(2).build()},
                new Object[] {"LoRA on wpe", PeftConfig.lora(3, 4, "wpe").seed(3).build()},
                new Object[] {"LoRA on wte, wpe and c_fc", PeftConfig.lora(2, 4, "wte", "wpe", "c_fc").seed(4).build()},
                new Object[] {"PiSSA", PeftConfig.lora(2, 4, "c_attn", "c_fc").init(PeftConfig.LoraInit.PISSA).seed(5).build()},
                new Object[] {"VeRA", PeftConfig.vera(6, 0, "c_attn", "c_proj", "c_fc").seed(6).build()},
                new Object[] {"FLoRA", PeftConfig.flora(2).alpha(4).targets("c_attn", "c_proj", "c_fc").seed(10).build()},
                new Object[] {"AdaLoRA", PeftConfig.adalora(3, 2, 100).targets("c_attn", "c_fc").seed(8).build()},
                new Object[] {"DoRA on wpe and c_fc", PeftConfig.lora(2, 4, "wpe", "c_fc").dora(true).seed(9).build()},
                new Object[] {"DoRA", PeftConfig.lora(2, 4, "c_attn", "c_proj", "c_fc").dora(true).seed(7).build()},
                new Object[] {"LoRA on c_attn.q and c_attn.v", PeftConfig.lora(2, 4, "c_attn.q", "c_attn.v").seed(12).build()},
                new Object[] {"VeRA on c_attn.k and c_attn.v", PeftConfig.vera(6, 0, "c_attn.k", "c_attn.v").seed(13).build()});
        for (Object[] k : kinds)
            for (boolean merged : new boolean[] {false, true}) out.add(Arguments.of(k[0], k[1], merged));
        // bottleneck adapters cannot be merged (BottleneckTest): unmerged only; they wrap attn.c_proj, which the cached step calls
        out.add(Arguments.of("Adapter (Houlsby)", PeftConfig.houlsby().reductionFactor(4).seed(10).build(), false));
        out.add(Arguments.of("Adapter (Pfeiffer)", PeftConfig.pfeiffer().reductionFactor(4).seed(11).build(), false));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}, merged {2}")
    @MethodSource("adapters")
    void cachedStepsGiveTheUncachedLogits(String kind, PeftConfig cfg, boolean merged) {
        Gpt g = new Gpt(CFG, 21);
        Tensor base = lastLogits(g, PROMPT.length);
        PeftModel pm = PeftModel.wrap(g, cfg);
        // every trainable part non-zero, so that each adapter changes the logits
        Rng rng = new Rng(kind.hashCode());
        for (Variable p : pm.namedAdapterParameters("default").values()) Init.normal(p.data(), rng, 0, 0.5);
        boolean tiedWte = pm.adaptedEmbeddings().containsKey("transformer.wte");
        if (merged && tiedWte) {
            // wte is GPT-2's LM head too: merging is refused (LoraEmbeddingTest), so the unmerged case is the one to run
            assertThatThrownBy(pm::merge).isInstanceOf(IllegalStateException.class).hasMessageContaining("tied");
            return;
        }
        if (merged) pm.merge();
        assertThat(PeftModelTest.maxAbsDiff(lastLogits(g, PROMPT.length), base)).as("the adapter changes the logits").isGreaterThan(1e-2);

        Gpt.KvCache cache = g.newCache();
        // a prefix of 3 in one call, then one token at a time
        compare(g, g.step(cache, java.util.Arrays.copyOf(PROMPT, 3)), 3, kind);
        for (int t = 3; t < PROMPT.length; t++) compare(g, g.step(cache, new int[] {PROMPT[t]}), t + 1, kind);
    }

    private static void compare(Gpt g, float[] cached, int len, String kind) {
        Tensor full = lastLogits(g, len);
        assertThat(PeftModelTest.maxAbsDiff(Tensor.wrap(cached, cached.length), full)).as(kind + ", position " + (len - 1)).isLessThan(1e-4);
    }

    /** The uncached forward's logits [vocab] after the first {@code len} prompt tokens. */
    static Tensor lastLogits(Gpt g, int len) {
        g.train(false);
        try (var s = Grad.disabled()) {
            return g.forward(IntTensor.wrap(java.util.Arrays.copyOf(PROMPT, len), 1, len)).data().narrow(1, len - 1, 1).reshape(CFG.vocabSize()).contiguous();
        }
    }
}
