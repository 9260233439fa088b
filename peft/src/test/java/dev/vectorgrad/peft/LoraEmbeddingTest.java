package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Embedding;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import org.junit.jupiter.api.Test;

class LoraEmbeddingTest {
    /** An embedding with its own (untied) head. */
    static final class Net extends Module {
        final Embedding emb;
        final Linear head;
        Net() {
            Rng r = new Rng(1);
            emb = registerModule("emb", new Embedding(10, 6, r));
            head = registerModule("head", new Linear(6, 10, false, r));
        }
        Variable logits(IntTensor ids) { return head.forward(emb.forward(ids)); }
    }

    static final IntTensor IDS = IntTensor.wrap(new int[] {0, 3, 3, 9, 5, 1}, 2, 3);

    static Tensor logits(Net n) {
        try (var g = Grad.disabled()) { return n.logits(IDS).data(); }
    }

    @Test
    void initIsPeftsAndTheOutputAddsScaledOneHotAtBt() {
        Net n = new Net();
        Tensor y0 = logits(n);
        PeftModel pm = PeftModel.wrap(n, PeftConfig.lora(2, 4, "emb").seed(5));
        LoraEmbedding le = pm.adaptedEmbeddings().get("emb");
        assertThat(le.a("default").data().shape()).containsExactly(2, 10);
        assertThat(le.b("default").data().shape()).containsExactly(6, 2);
        assertThat(le.a("default").data().toArray()).containsOnly(0f);
        assertThat(PeftModelTest.maxAbsDiff(logits(n), y0)).isZero();
        assertThat(pm.trainableParameters()).isEqualTo(2L * 10 + 6 * 2);
        assertThat(n.namedParameters()).containsKeys("emb.lora_embedding_A.default", "emb.lora_embedding_B.default");

        Init.normal(le.a("default").data(), new Rng(2), 0, 1);
        Tensor a = le.a("default").data(), b = le.b("default").data();
        int[] ids = IDS.storage();
        Tensor want = Tensor.zeros(ids.length, 6);
        Tensor w = n.emb.weight.data();
        for (int i = 0; i < ids.length; i++)
            for (int d = 0; d < 6; d++) {
                double s = w.get(ids[i], d);
                for (int k = 0; k < 2; k++) s += 2.0 * a.get(k, ids[i]) * b.get(d, k);
                want.set((float) s, i, d);
            }
        Tensor got;
        try (var g = Grad.disabled()) { got = n.emb.forward(IDS).data().reshape(ids.length, 6); }
        assertThat(PeftModelTest.maxAbsDiff(got, want)).isLessThan(1e-5);

        // gradients reach A and B, not the frozen table
        n.zeroGrad();
        n.logits(IDS).sum().backward();
        assertThat(le.a("default").grad()).isNotNull();
        assertThat(le.b("default").grad()).isNotNull();
        assertThat(n.emb.weight.grad()).isNull();
    }

    @Test
    void mergeOfAnUntiedEmbeddingKeepsTheOutputsAndUnmergeRestores() {
        Net n = new Net();
        PeftModel pm = PeftModel.wrap(n, PeftConfig.lora(3, 6, "emb").seed(5));
        Init.normal(pm.adaptedEmbeddings().get("emb").a("default").data(), new Rng(3), 0, 1);
        Tensor w0 = n.emb.weight.data().copy();
        Tensor y = logits(n);
        pm.merge();
        assertThat(PeftModelTest.maxAbsDiff(logits(n), y)).isLessThan(1e-5);
        assertThat(PeftModelTest.maxAbsDiff(n.emb.weight.data(), w0)).isGreaterThan(1e-3);
        pm.unmerge();
        assertThat(PeftModelTest.maxAbsDiff(n.emb.weight.data(), w0)).isLessThan(1e-6);
        assertThat(PeftModelTest.maxAbsDiff(logits(n), y)).isLessThan(1e-5);
    }

    @Test
    void mergeIntoAGptsTiedEmbeddingIsRefusedAndChangesNothing() {
        Gpt g = new Gpt(new GptConfig(12, 8, 1, 2, 8, 0.0, true, GptConfig.Activation.GELU, 1e-5), 3);
        IntTensor x = IntTensor.wrap(new int[] {1, 2, 3, 4}, 1, 4);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(2, 2, "wte", "c_attn").seed(1));
        LoraEmbedding le = pm.adaptedEmbeddings().get("transformer.wte");
        assertThat(le.isTied()).isTrue();
        Init.normal(le.a("default").data(), new Rng(4), 0, 1);
        Tensor before;
        try (var s = Grad.disabled()) { before = g.forward(x).data(); }
        Tensor w0 = g.transformer.wte.weight.data().copy();
        assertThatThrownBy(pm::merge).isInstanceOf(IllegalStateException.class).hasMessageContaining("tied");
        assertThat(PeftModelTest.maxAbsDiff(g.transformer.wte.weight.data(), w0)).isZero();
        assertThat(pm.adaptedLayers().values()).noneMatch(AdapterLinear::isMerged);
        try (var s = Grad.disabled()) { assertThat(PeftModelTest.maxAbsDiff(g.forward(x).data(), before)).isZero(); }
        assertThat(F.class).isNotNull();
    }

    @Test
    void veraOnAnEmbeddingIsRefused() {
        assertThatThrownBy(() -> PeftModel.wrap(new Net(), PeftConfig.vera(4, 0, "emb")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only LoRA adapts embeddings");
    }
}
