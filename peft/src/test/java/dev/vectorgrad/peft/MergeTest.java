package dev.vectorgrad.peft;

import static dev.vectorgrad.peft.PeftModelTest.input;
import static dev.vectorgrad.peft.PeftModelTest.maxAbsDiff;
import static dev.vectorgrad.peft.PeftModelTest.randomise;
import static dev.vectorgrad.peft.PeftModelTest.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Embedding;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Merging: all or nothing, and a merged layer is the bare layer's computation; mergeAndUnload leaves plain modules. */
class MergeTest {
    static boolean allFinite(Tensor t) {
        for (float v : t.contiguous().toArray()) if (!Float.isFinite(v)) return false;
        return true;
    }

    /** LoRA on every q_proj and fc of a 3-layer Toy, plus VeRA stacked on the fcs, all non-trivial. */
    static PeftModel stacked(Toy m) {
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "q_proj", "fc"));
        randomise(pm, "default", 5);
        pm.addAdapter("v", PeftConfig.vera(3, 11, "fc"));
        randomise(pm, "v", 6);
        pm.setAdapter("default");
        return pm;
    }

    @Test
    void safeMergeIsAllOrNothingAndNamesTheOffendingModule() {
        Toy m = new Toy(4, 3, 1);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "q_proj", "fc"));
        randomise(pm, "default", 5);
        List<String> order = new ArrayList<>(pm.adaptedLayers().keySet());
        assertThat(order).containsExactly("layers.0.attn.q_proj", "layers.0.fc", "layers.1.attn.q_proj", "layers.1.fc",
                "layers.2.attn.q_proj", "layers.2.fc");
        // the last adapted layer: finite A and B whose product overflows (MAX_VALUE · 4 = inf)
        LoraLinear last = (LoraLinear) pm.adaptedLayers().get("layers.2.fc");
        last.b("default").data().set(Float.MAX_VALUE, 0, 0);
        last.a("default").data().set(4f, 0, 0);
        assertThat(allFinite(last.b("default").data())).isTrue();
        assertThat(allFinite(last.a("default").data())).isTrue();
        Tensor x = input(3, 4, 2);
        Tensor y = run(m, x);
        ModelState before = ModelState.of(m);

        assertThatThrownBy(pm::merge).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'layers.2.fc'")
                .hasMessageContaining("adapter 'default'")
                .hasMessageContaining("non-finite value (Infinity) at [0, 0]")
                .hasMessageContaining("nothing was merged");
        before.assertUnchanged(m); // every base weight (and adapter) bit-identical, same modules, same flags
        assertThat(pm.adapterLayers()).noneMatch(AdapterLinear::isMerged);
        assertThat(ModelState.sameBits(run(m, x), y)).isTrue();

        // the five good layers on their own would merge: the refusal is the whole model's, not theirs
        last.b("default").data().set(0.5f, 0, 0);
        Tensor good = run(m, x);
        pm.merge();
        assertThat(pm.adapterLayers()).allMatch(AdapterLinear::isMerged);
        assertThat(maxAbsDiff(run(m, x), good)).isLessThan(1e-5);

        // unsafe merge writes whatever it gets, as PEFT's safe_merge=False
        pm.unmerge();
        last.b("default").data().set(Float.MAX_VALUE, 0, 0);
        pm.merge(false);
        assertThat(last.linear().weight.data().get(0, 0)).isEqualTo(Float.POSITIVE_INFINITY);
    }

    @Test
    void safeMergeChecksStackedAdaptersAndEmbeddingsBeforeWritingAny() {
        // a second adapter stacked on a layer (VeRA over LoRA): the check covers W₀ + ΔW_lora + ΔW_vera
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "fc"));
        randomise(pm, "default", 5);
        pm.addAdapter("v", PeftConfig.vera(3, 11, "fc"));
        VeraLinear v = (VeraLinear) pm.adaptedLayers().get("layers.1.fc");
        for (AdapterLinear a : pm.adapterLayers()) a.setActive(java.util.Set.of("default", "v"));
        v.lambdaB("v").data().set(Float.NaN, 0);
        ModelState before = ModelState.of(m);
        assertThatThrownBy(pm::merge).hasMessageContaining("adapter 'v' on module 'layers.1.fc'").hasMessageContaining("NaN");
        before.assertUnchanged(m);
        assertThat(pm.adapterLayers()).noneMatch(AdapterLinear::isMerged);

        // an embedding after the Linear layers: the Linear layers stay unmerged when the embedding refuses
        LoraEmbeddingTest.Net n = new LoraEmbeddingTest.Net();
        PeftModel pe = PeftModel.wrap(n, PeftConfig.lora(2, 4, "emb", "head").seed(3));
        LoraEmbedding le = pe.adaptedEmbeddings().get("emb");
        Init.normal(((LoraLinear) pe.adaptedLayers().get("head")).b("default").data(), new Rng(4), 0, 1);
        le.a("default").data().set(Float.POSITIVE_INFINITY, 1, 7);
        ModelState nb = ModelState.of(n);
        assertThatThrownBy(pe::merge).hasMessageContaining("adapter 'default' on embedding 'emb'").hasMessageContaining("Infinity");
        nb.assertUnchanged(n);
        assertThat(le.isMerged()).isFalse();
        assertThat(pe.adaptedLayers().get("head").isMerged()).isFalse();
    }

    /** Counts the adapter path: delta() per forward and deltaWeight() per merge/unmerge. */
    static final class Counting extends AdapterLinear {
        int deltaCalls, deltaWeightCalls;
        final Tensor dw;

        Counting(Linear base) {
            super(base);
            dw = Tensor.zeros(base.outFeatures, base.inFeatures);
            Init.normal(dw, new Rng(7), 0, 0.5);
            added("c");
        }

        @Override
        Variable delta(String name, Variable x) {
            deltaCalls++;
            return F.linear(x, Variable.of(dw), null);
        }

        @Override
        public Tensor deltaWeight(String name) {
            deltaWeightCalls++;
            return dw;
        }

        @Override
        void removeParameters(String name) {}

        @Override
        public List<Variable> adapterParameters(String name) {
            return List.of();
        }

        @Override
        java.util.LinkedHashMap<String, Variable> fileTensors(String name) {
            return new java.util.LinkedHashMap<>(); // a test double: nothing to save
        }
    }

    @Test
    void aMergedLayerRunsNoAdapterCodeAndComputesTheBareLayersBits() {
        Linear lin = new Linear(6, 5, true, new Rng(1));
        Counting c = new Counting(lin);
        lin.setForwardDelegate(c);
        Tensor x = input(4, 6, 3);
        Tensor adapted = run(lin, x);
        assertThat(c.deltaCalls).isEqualTo(1);
        assertThat(c.passThrough()).isFalse();
        c.merge(true);
        assertThat(c.deltaWeightCalls).isEqualTo(1);
        assertThat(c.passThrough()).isTrue();
        Tensor merged = run(lin, x);
        Tensor merged2 = run(c, x);
        assertThat(c.deltaCalls).as("no adapter call after the merge").isEqualTo(1);
        assertThat(c.deltaWeightCalls).isEqualTo(1);
        // the same operation as the bare layer on the merged weight: the same bits
        Linear bare = new Linear(6, 5, true, new Rng(99));
        bare.weight.data().copyFrom(lin.weight.data());
        bare.bias.data().copyFrom(lin.bias.data());
        Tensor want = run(bare, x);
        assertThat(ModelState.sameBits(merged, want)).isTrue();
        assertThat(ModelState.sameBits(merged2, want)).isTrue();
        assertThat(maxAbsDiff(merged, adapted)).isLessThan(1e-5);
        c.unmerge();
        run(lin, x);
        assertThat(c.deltaCalls).as("the adapter runs again once unmerged").isEqualTo(2);
        // disabled is a pass-through as well
        c.setDisabled(true);
        assertThat(c.passThrough()).isTrue();
        run(lin, x);
        assertThat(c.deltaCalls).isEqualTo(2);
    }

    @Test
    void aMergedModelIsBitIdenticalToTheBareModelOnItsMergedWeights() {
        Toy m = new Toy(4, 3, 1);
        PeftModel pm = stacked(m);
        for (AdapterLinear a : pm.adapterLayers()) a.setActive(java.util.Set.of("default", "v"));
        Tensor x = input(5, 4, 2);
        Tensor adapted = run(m, x);
        pm.merge();
        assertThat(pm.adapterLayers()).allMatch(AdapterLinear::isMerged).allMatch(AdapterLinear::passThrough);

        // poison every adapter tensor: any use of the adapter path would turn the output into NaN
        Map<String, Variable> adapterParams = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, Variable> e : m.namedParameters().entrySet())
            if (e.getKey().contains("lora_") || e.getKey().contains("vera_")) adapterParams.put(e.getKey(), e.getValue());
        assertThat(adapterParams).hasSize(3 * 2 * 2 + 3 * 2);
        Map<String, Tensor> saved = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, Variable> e : adapterParams.entrySet()) {
            saved.put(e.getKey(), e.getValue().data().copy());
            e.getValue().data().copyFrom(Tensor.full(Float.NaN, e.getValue().shape()));
        }
        Tensor merged = run(m, x);
        assertThat(allFinite(merged)).isTrue();

        Toy bare = new Toy(4, 3, 1);
        for (Map.Entry<String, AdapterLinear> e : pm.adaptedLayers().entrySet()) {
            Linear l = (Linear) bare.namedModules().get(e.getKey());
            l.weight.data().copyFrom(e.getValue().linear().weight.data());
        }
        assertThat(ModelState.sameBits(merged, run(bare, x))).isTrue();
        assertThat(maxAbsDiff(merged, adapted)).isLessThan(1e-5);

        for (Map.Entry<String, Variable> e : adapterParams.entrySet()) e.getValue().data().copyFrom(saved.get(e.getKey()));
        pm.unmerge();
        assertThat(maxAbsDiff(run(m, x), adapted)).isLessThan(1e-5);
    }

    @Test
    void mergeAndUnloadLeavesOnlyPlainLinearAndEmbeddingModules() {
        Toy m = new Toy(4, 2, 1);
        List<String> bareParams = new ArrayList<>(new Toy(4, 2, 1).namedParameters().keySet());
        Map<String, Module> bareModules = new Toy(4, 2, 1).namedModules();
        PeftModel pm = stacked(m);
        for (AdapterLinear a : pm.adapterLayers()) a.setActive(java.util.Set.of("default", "v"));
        Tensor x = input(3, 4, 2);
        Tensor adapted = run(m, x);
        Module plain = pm.mergeAndUnload();
        assertThat(plain).isSameAs(m);
        assertThat(plain.namedParameters().keySet()).containsExactlyElementsOf(bareParams);
        assertThat(plain.namedModules().keySet()).containsExactlyElementsOf(bareModules.keySet());
        for (Map.Entry<String, Module> e : plain.namedModules().entrySet()) {
            assertThat(e.getValue().getClass()).as(e.getKey()).isEqualTo(bareModules.get(e.getKey()).getClass());
            if (e.getValue() instanceof Linear l) assertThat(l.forwardDelegate()).as("delegate of " + e.getKey()).isNull();
        }
        assertThat(m.layers.get(1).fc).isSameAs(plain.namedModules().get("layers.1.fc"));
        assertThat(pm.adapterNames()).isEmpty();
        assertThat(maxAbsDiff(run(plain, x), adapted)).isLessThan(1e-5);

        // an untied embedding: a plain Embedding comes back, and its lookup is no longer redirected
        LoraEmbeddingTest.Net n = new LoraEmbeddingTest.Net();
        PeftModel pe = PeftModel.wrap(n, PeftConfig.lora(2, 4, "emb", "head").seed(3));
        LoraEmbedding le = pe.adaptedEmbeddings().get("emb");
        Init.normal(le.a("default").data(), new Rng(4), 0, 1);
        Tensor logits = LoraEmbeddingTest.logits(n);
        Module p2 = pe.mergeAndUnload();
        assertThat(p2.namedModules().get("emb")).isInstanceOf(Embedding.class).isSameAs(n.emb);
        assertThat(p2.namedModules().get("head")).isInstanceOf(Linear.class).isSameAs(n.head);
        assertThat(p2.namedModules().values()).noneMatch(mm -> mm instanceof AdapterLinear || mm instanceof LoraEmbedding || mm instanceof NamedDict);
        assertThat(p2.namedParameters().keySet()).containsExactly("emb.weight", "head.weight");
        assertThat(maxAbsDiff(LoraEmbeddingTest.logits(n), logits)).isLessThan(1e-5);
        // the detached wrapper cannot reach the embedding any more: unmerging it moves the table back to W₀, and
        // the embedding then looks up W₀ (a wrapper still in the path would add ΔW on top)
        le.unmerge();
        try (var g = Grad.disabled()) {
            assertThat(ModelState.sameBits(n.emb.forward(LoraEmbeddingTest.IDS).data(), F.embedding(n.emb.weight, LoraEmbeddingTest.IDS).data())).isTrue();
        }
    }
}
