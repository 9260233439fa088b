package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import dev.vectorgrad.tensor.Safetensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraEmbeddingTest {
    @TempDir Path tmp;

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
        // the refusal left the adapter live and unmerged: switching it off changes the logits
        assertThat(le.isMerged()).isFalse();
        pm.setAdaptersDisabled(true);
        try (var s = Grad.disabled()) { assertThat(PeftModelTest.maxAbsDiff(g.forward(x).data(), before)).isGreaterThan(1e-3); }
    }

    @Test
    void veraOnAnEmbeddingIsRefused() {
        assertThatThrownBy(() -> PeftModel.wrap(new Net(), PeftConfig.vera(4, 0, "emb")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only LoRA adapts embeddings");
    }

    /** LoRA on the embedding and the head of a Net, every part non-zero. */
    static PeftModel adapted(Net n) {
        PeftModel pm = PeftModel.wrap(n, PeftConfig.lora(2, 4, "emb", "head").seed(5));
        Init.normal(pm.adaptedEmbeddings().get("emb").a("default").data(), new Rng(2), 0, 1);
        Init.normal(((LoraLinear) pm.adaptedLayers().get("head")).b("default").data(), new Rng(3), 0, 0.5);
        return pm;
    }

    static final String EA = "base_model.model.emb.lora_embedding_A", EB = "base_model.model.emb.lora_embedding_B";

    @Test
    void peftDirectoryUsesPeftsEmbeddingKeysAndRoundTripsBitForBit() throws Exception {
        Net n = new Net();
        PeftModel pm = adapted(n);
        LoraEmbedding le = pm.adaptedEmbeddings().get("emb");
        Tensor y = logits(n);
        Path dir = tmp.resolve("peft");
        PeftFiles.save(pm, "default", dir);
        Map<String, Tensor> sd = Safetensors.readAll(dir.resolve(PeftFiles.WEIGHTS));
        // PEFT keeps lora_embedding_A/B in a ParameterDict: the key ends at the (dropped) adapter name, no ".weight"
        assertThat(sd.keySet()).containsExactly(EA, EB, "base_model.model.head.lora_A.weight", "base_model.model.head.lora_B.weight");
        assertThat(sd.get(EA).shape()).containsExactly(2, 10);
        assertThat(sd.get(EB).shape()).containsExactly(6, 2);
        assertThat(ModelState.sameBits(sd.get(EA), le.a("default").data())).isTrue();
        assertThat(ModelState.sameBits(sd.get(EB), le.b("default").data())).isTrue();
        assertThat(pm.namedAdapterParameters("default").keySet()).containsExactly("base_model.model.emb.lora_embedding_A.default",
                "base_model.model.emb.lora_embedding_B.default", "base_model.model.head.lora_A.default.weight", "base_model.model.head.lora_B.default.weight");
        PeftConfig cfg = PeftFiles.readConfig(dir);
        assertThat(cfg.targetModules()).containsExactly("emb", "head");

        Net back = new Net();
        PeftModel pb = PeftFiles.load(back, dir);
        LoraEmbedding lb = pb.adaptedEmbeddings().get("emb");
        assertThat(ModelState.sameBits(lb.a("default").data(), le.a("default").data())).isTrue();
        assertThat(ModelState.sameBits(lb.b("default").data(), le.b("default").data())).isTrue();
        assertThat(lb.scaling("default")).isEqualTo(2f);
        assertThat(ModelState.sameBits(logits(back), y)).isTrue();

        // the native file: the same keys, the config in its metadata
        Path f = tmp.resolve("native.safetensors");
        PeftFiles.saveNative(pm, "default", f);
        assertThat(Safetensors.readAll(f).keySet()).containsExactly(EA, EB, "base_model.model.head.lora_A.weight", "base_model.model.head.lora_B.weight");
        Net nat = new Net();
        PeftModel pn = PeftModel.of(nat);
        PeftFiles.loadNative(pn, f, "default");
        assertThat(ModelState.sameBits(logits(nat), y)).isTrue();

        // mergeAndUnload of the loaded adapter: plain modules, the same outputs
        Tensor w0 = back.emb.weight.data().copy();
        pb.merge();
        assertThat(lb.isMerged()).isTrue();
        assertThat(PeftModelTest.maxAbsDiff(logits(back), y)).isLessThan(1e-5);
        pb.unmerge();
        assertThat(PeftModelTest.maxAbsDiff(back.emb.weight.data(), w0)).isLessThan(1e-6);
        assertThat(PeftModelTest.maxAbsDiff(back.emb.weight.data(), w0.add(lb.deltaWeight("default")))).isGreaterThan(1e-3);
        Module plain = pb.mergeAndUnload();
        assertThat(plain.namedModules().get("emb")).isSameAs(back.emb);
        assertThat(plain.namedModules().get("head")).isSameAs(back.head);
        assertThat(plain.namedParameters().keySet()).containsExactly("emb.weight", "head.weight");
        assertThat(PeftModelTest.maxAbsDiff(logits(back), y)).isLessThan(1e-5);
        assertThat(PeftModelTest.maxAbsDiff(back.emb.weight.data(), w0.add(le.deltaWeight("default")))).isLessThan(1e-6);
    }

    @Test
    void aMalformedEmbeddingAdapterNamesTheKeyAndChangesNothing() throws Exception {
        Path dir = tmp.resolve("peft");
        PeftFiles.save(adapted(new Net()), "default", dir);
        Map<String, Tensor> sd = Safetensors.readAll(dir.resolve(PeftFiles.WEIGHTS));
        Net n = new Net();
        ModelState before = ModelState.of(n);
        // PEFT names it without ".weight"; a file that adds one is missing the real key (and has an unexpected one)
        Tensor a = sd.remove(EA);
        sd.put(EA + ".weight", a);
        Safetensors.write(dir.resolve(PeftFiles.WEIGHTS), sd);
        assertThatThrownBy(() -> PeftFiles.load(n, dir)).hasMessageContaining("missing tensor '" + EA + "'").hasMessageContaining("[2, 10]");
        before.assertUnchanged(n);
        sd.remove(EA + ".weight");
        sd.put(EA, Tensor.zeros(10, 2)); // transposed
        Safetensors.write(dir.resolve(PeftFiles.WEIGHTS), sd);
        assertThatThrownBy(() -> PeftFiles.load(n, dir)).hasMessageContaining("'" + EA + "' has shape [10, 2], expected [2, 10]");
        before.assertUnchanged(n);
        sd.put(EA, a);
        sd.put(EB, Tensor.zeros(6, 3));
        Safetensors.write(dir.resolve(PeftFiles.WEIGHTS), sd);
        assertThatThrownBy(() -> PeftFiles.load(n, dir)).hasMessageContaining("'" + EB + "' has shape [6, 3], expected [6, 2]");
        before.assertUnchanged(n);
    }

    @Test
    void aTiedGptWteRoundTripsThroughFilesButMergeAndUnloadRefuses() throws Exception {
        GptConfig cfg = new GptConfig(12, 8, 1, 2, 8, 0.0, true, GptConfig.Activation.GELU, 1e-5);
        IntTensor x = IntTensor.wrap(new int[] {1, 2, 3, 4, 11, 0}, 1, 6);
        Gpt g = new Gpt(cfg, 3);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(2, 2, "wte", "c_attn").seed(1));
        Init.normal(pm.adaptedEmbeddings().get("transformer.wte").a("default").data(), new Rng(4), 0, 1);
        Tensor y;
        try (var s = Grad.disabled()) { y = g.forward(x).data(); }
        Path dir = tmp.resolve("gpt");
        PeftFiles.save(pm, "default", dir);
        assertThat(Safetensors.readAll(dir.resolve(PeftFiles.WEIGHTS)).keySet())
                .contains("base_model.model.transformer.wte.lora_embedding_A", "base_model.model.transformer.wte.lora_embedding_B");

        Gpt g2 = new Gpt(cfg, 3);
        PeftModel back = PeftFiles.load(g2, dir);
        try (var s = Grad.disabled()) { assertThat(ModelState.sameBits(g2.forward(x).data(), y)).isTrue(); }
        assertThat(back.adaptedEmbeddings().get("transformer.wte").isTied()).isTrue();
        ModelState before = ModelState.of(g2);
        assertThatThrownBy(back::mergeAndUnload).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'transformer.wte' is tied to the LM head").hasMessageContaining("untie the head first");
        before.assertUnchanged(g2); // still wrapped, nothing merged, every weight as it was
        assertThat(back.adapterNames()).containsExactly("default");
        try (var s = Grad.disabled()) { assertThat(ModelState.sameBits(g2.forward(x).data(), y)).isTrue(); }
    }

    @Test
    void deletingOrDisablingAnEmbeddingAdapterGivesTheBaseLookupBack() {
        Net n = new Net();
        Tensor base = logits(n);
        PeftModel pm = adapted(n);
        Tensor y = logits(n);
        assertThat(PeftModelTest.maxAbsDiff(y, base)).isGreaterThan(1e-3);
        // disabling a merged embedding unmerges it first (as Linear layers do), so the output is the base model's
        pm.merge();
        pm.setAdaptersDisabled(true);
        assertThat(pm.adaptedEmbeddings().get("emb").isMerged()).isFalse();
        assertThat(PeftModelTest.maxAbsDiff(logits(n), base)).isLessThan(1e-6);
        pm.setAdaptersDisabled(false);
        assertThat(PeftModelTest.maxAbsDiff(logits(n), y)).isLessThan(1e-6);
        pm.deleteAdapter("default");
        assertThat(n.namedModules().get("emb")).isSameAs(n.emb);
        assertThat(n.namedModules().get("head")).isSameAs(n.head);
        assertThat(n.namedParameters().keySet()).containsExactly("emb.weight", "head.weight");
        assertThat(PeftModelTest.maxAbsDiff(logits(n), base)).isLessThan(1e-6);
        assertThat(List.copyOf(pm.adapterNames())).isEmpty();
    }
}
