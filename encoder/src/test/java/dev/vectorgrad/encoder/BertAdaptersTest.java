package dev.vectorgrad.encoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.peft.BottleneckLinear;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Houlsby and Pfeiffer bottleneck adapters on the BERT encoder through the same {@link PeftModel} machinery as on
 * the GPT: Hugging Face's module names, parameter counts in closed form, the placement (before the residual add and
 * the post-LayerNorm) against a layer loop written out here, save → reload onto a fresh encoder → the same
 * embeddings, switching, disabling, deleting, merging refused.
 */
class BertAdaptersTest {
    static final Bert.Config TINY = BertTrainableTest.TINY; // vocab 40, hidden 16, 2 layers, 4 heads, FFN 32
    static final MiniLm.Batch BATCH = MiniLm.pad(List.of(new int[] {2, 5, 9, 3, 11}, new int[] {2, 7, 3}), 0);

    enum Kind {
        HOULSBY(PeftConfig.NonLinearity.SWISH), PFEIFFER(PeftConfig.NonLinearity.RELU);

        final PeftConfig.NonLinearity f;

        Kind(PeftConfig.NonLinearity f) {
            this.f = f;
        }

        PeftConfig.Builder config() {
            return this == HOULSBY ? Bert.houlsby() : Bert.pfeiffer();
        }

        /** The module paths the config must adapt in a Bert of {@code layers} layers. */
        List<String> paths(int layers) {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < layers; i++) {
                if (this == HOULSBY) out.add("encoder.layer." + i + ".attention.output.dense");
                out.add("encoder.layer." + i + ".output.dense");
            }
            return out;
        }
    }

    static Stream<Arguments> kinds() {
        return Stream.of(Arguments.of(Kind.HOULSBY), Arguments.of(Kind.PFEIFFER));
    }

    /** A Bert's parameter count written out from its config (the Embedding, Linear and LayerNorm shapes). */
    static long bertParameters(Bert.Config c) {
        long h = c.hidden(), f = c.intermediate();
        long emb = (c.vocabSize() + c.maxPositions() + c.typeVocabSize()) * h + 2 * h;
        long layer = 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h;
        return emb + c.layers() * layer;
    }

    @Test
    void onMiniLmSizesTheConfigsAdaptHfNamesWithABottleneckOfD16AndCountTheirParameters() {
        // all-MiniLM-L6-v2's shapes (weights are irrelevant to the counts): hidden 384, so the bottleneck is 384/16 = 24
        Bert.Config mini = new Bert.Config(30522, 384, 6, 12, 1536, 512, 2, 1e-12f);
        for (Kind k : Kind.values()) {
            Bert bert = new Bert(mini);
            PeftModel pm = PeftModel.wrap(bert, k.config().seed(1));
            assertThat(pm.targets("default")).as(k.name()).containsExactlyElementsOf(k.paths(6));
            long perAdapter = 24L * 384 + 24 + 384L * 24 + 384; // down [24, 384] + bias, up [384, 24] + bias
            long trainable = perAdapter * k.paths(6).size();
            long all = bertParameters(mini) + trainable;
            assertThat(pm.trainableParameters()).as(k.name()).isEqualTo(trainable);
            assertThat(pm.totalParameters()).as(k.name()).isEqualTo(all);
            assertThat(pm.summary()).isEqualTo(String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                    trainable, all, 100.0 * trainable / all));
            for (String p : k.paths(6)) {
                BottleneckLinear b = (BottleneckLinear) pm.adaptedLayers().get(p);
                assertThat(b.down("default").weight.shape()).containsExactly(24, 384);
                assertThat(b.nonLinearity("default")).isEqualTo(k.f);
            }
        }
        assertThat(new Bert(mini).numParameters(false)).isEqualTo(bertParameters(mini));
        // the closed form plus the pooler (384×384 + 384) is all-MiniLM-L6-v2's published 22,713,216
        assertThat(bertParameters(mini) + 384L * 384 + 384).isEqualTo(22_713_216L);
    }

    static Tensor hidden(Bert bert) {
        try (var g = Grad.disabled()) {
            return bert.forward(BATCH.ids(), BATCH.mask()).data().copy();
        }
    }

    static Tensor pooled(Bert bert) {
        try (var g = Grad.disabled()) {
            return Bert.meanPoolNormalize(bert.forward(BATCH.ids(), BATCH.mask()), BATCH.mask()).data().copy();
        }
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        float[] x = a.contiguous().toArray(), y = b.contiguous().toArray();
        assertThat(x).hasSameSizeAs(y);
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
        return m;
    }

    /** Gives every parameter of adapter {@code name} N(0, σ) values, as after training (up starts at zero). */
    static void randomise(PeftModel pm, String name, long seed, double sigma) {
        Rng rng = new Rng(seed);
        for (Variable p : pm.namedAdapterParameters(name).values()) Init.normal(p.data(), rng, 0, sigma);
    }

    /** One adapter's tensors as plain values: down W, down b, up W, up b. */
    record AdapterWeights(Tensor dw, Tensor db, Tensor uw, Tensor ub, PeftConfig.NonLinearity f) {
        Variable apply(Variable y) {
            Variable h = F.linear(y, Variable.of(dw), Variable.of(db));
            h = f == PeftConfig.NonLinearity.RELU ? h.relu() : h.mul(h.sigmoid());
            return y.add(F.linear(h, Variable.of(uw), Variable.of(ub)));
        }
    }

    static Map<String, AdapterWeights> weights(PeftModel pm, String name) {
        Map<String, AdapterWeights> out = new HashMap<>();
        for (String p : pm.targets(name)) {
            BottleneckLinear b = (BottleneckLinear) pm.adaptedLayers().get(p);
            out.put(p, new AdapterWeights(b.down(name).weight.data().copy(), b.down(name).bias.data().copy(), b.up(name).weight.data().copy(),
                    b.up(name).bias.data().copy(), b.nonLinearity(name)));
        }
        return out;
    }

    /**
     * The encoder's layer loop written out on an unadapted Bert, with {@code adapters} (by the path of the dense
     * layer whose output it reads) inserted where Houlsby puts them — {@code LN(x + A(dense(h)))} — or, with
     * {@code afterLayerNorm}, at the wrong place {@code A(LN(x + dense(h)))}, to show the check can fail.
     */
    static Tensor reference(Bert bare, Map<String, AdapterWeights> adapters, boolean afterLayerNorm) {
        int b = BATCH.ids().shape()[0], t = BATCH.ids().shape()[1], c = TINY.hidden(), heads = TINY.heads(), d = c / heads;
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) pos[i] = i;
        try (var g = Grad.disabled()) {
            Variable x = bare.embeddings.wordEmbeddings.forward(BATCH.ids()).add(bare.embeddings.positionEmbeddings.forward(IntTensor.of(pos, t)))
                    .add(bare.embeddings.tokenTypeEmbeddings.forward(IntTensor.zeros(t)));
            x = bare.embeddings.layerNorm.forward(x);
            var keyMask = dev.vectorgrad.autograd.Attention.KeyMask.fromAttentionMask(BATCH.mask());
            for (int i = 0; i < bare.encoder.layer.size(); i++) {
                Bert.Layer l = bare.encoder.layer.get(i);
                Variable q = l.attention.self.query.forward(x).reshape(b, t, heads, d);
                Variable k = l.attention.self.key.forward(x).reshape(b, t, heads, d);
                Variable v = l.attention.self.value.forward(x).reshape(b, t, heads, d);
                Variable ctx = F.attention(q, k, v, false, keyMask).reshape(b, t, c);
                x = sublayer(l.attention.output, ctx, x, adapters.get("encoder.layer." + i + ".attention.output.dense"), afterLayerNorm);
                Variable ffn = l.intermediate.dense.forward(x).gelu();
                x = sublayer(l.output, ffn, x, adapters.get("encoder.layer." + i + ".output.dense"), afterLayerNorm);
            }
            return x.data().copy();
        }
    }

    static Variable sublayer(Bert.Output o, Variable h, Variable residual, AdapterWeights a, boolean afterLayerNorm) {
        Variable y = o.dense.forward(h);
        if (a == null) return o.layerNorm.forward(residual.add(y));
        return afterLayerNorm ? a.apply(o.layerNorm.forward(residual.add(y))) : o.layerNorm.forward(residual.add(a.apply(y)));
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void startsAsTheBaseAndPutsTheAdapterBeforeTheResidualAddAndTheLayerNorm(Kind k) {
        Bert bare = new Bert(TINY), bert = new Bert(TINY); // the same placeholder init (fixed seed)
        Tensor base = hidden(bare);
        PeftModel pm = PeftModel.wrap(bert, k.config().reductionFactor(4).seed(3));
        assertThat(pm.targets("default")).containsExactlyElementsOf(k.paths(2));
        assertThat(maxAbsDiff(hidden(bert), base)).as("zero up-projections: exactly the base").isZero();
        randomise(pm, "default", 5, 0.5);
        Tensor got = hidden(bert);
        Map<String, AdapterWeights> w = weights(pm, "default");
        assertThat(maxAbsDiff(got, reference(bare, w, false))).as(k + " placement").isLessThan(1e-5);
        assertThat(maxAbsDiff(got, base)).as("the adapters change the output").isGreaterThan(1e-2);
        assertThat(maxAbsDiff(got, reference(bare, w, true))).as("adapter after the LayerNorm would differ").isGreaterThan(1e-2);
        // the base stays frozen: only the adapters train
        bert.namedParameters().forEach((n, p) -> assertThat(p.requiresGrad()).as(n).isEqualTo(n.contains(".adapter_")));
    }

    /** A few AdamW steps on a fixed linear function of the pooled embeddings. */
    static void train(Bert bert, int steps) {
        List<Variable> ps = new ArrayList<>();
        for (Variable p : bert.parameters()) if (p.requiresGrad()) ps.add(p);
        AdamW opt = new AdamW(ps, 0.05, 0.0);
        float[] w = new float[2 * TINY.hidden()];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.sin(3 * i + 1);
        for (int s = 0; s < steps; s++) {
            opt.zeroGrad();
            Bert.meanPoolNormalize(bert.forward(BATCH.ids(), BATCH.mask()), BATCH.mask()).mul(Tensor.of(w, 2, TINY.hidden())).sum().backward();
            opt.step();
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void trainedAdaptersSaveAndReloadOntoAFreshEncoderToTheSameEmbeddings(Kind k, @TempDir Path dir) throws IOException {
        Tensor before = pooled(new Bert(TINY));
        Bert bert = new Bert(TINY);
        PeftModel pm = PeftModel.wrap(bert, k.config().reductionFactor(4).seed(7));
        train(bert, 6);
        Tensor tuned = pooled(bert);
        assertThat(maxAbsDiff(tuned, before)).as("training moved the embeddings").isGreaterThan(1e-3);

        PeftFiles.saveNative(pm, "default", dir.resolve("adapter.safetensors"));
        Bert fresh = new Bert(TINY);
        PeftModel loaded = PeftModel.of(fresh);
        PeftFiles.loadNative(loaded, dir.resolve("adapter.safetensors"), "default");
        assertThat(loaded.targets("default")).containsExactlyElementsOf(k.paths(2));
        assertThat(loaded.trainableParameters()).isEqualTo(pm.trainableParameters());
        assertThat(maxAbsDiff(pooled(fresh), tuned)).as(k + " native file").isLessThanOrEqualTo(1e-6);

        PeftFiles.save(pm, "default", dir.resolve("adapter"));
        Bert fresh2 = new Bert(TINY);
        PeftFiles.load(fresh2, dir.resolve("adapter"));
        assertThat(maxAbsDiff(pooled(fresh2), tuned)).as(k + " adapter folder").isLessThanOrEqualTo(1e-6);
    }

    @Test
    void onTheRealMiniLmAHoulsbyFileReloadsOntoAFreshlyLoadedEncoderToTheSameEmbeddings(@TempDir Path dir) throws IOException {
        List<String> texts = List.of("Adapters add a bottleneck after each sublayer.", "A fresh encoder reads the file back.");
        MiniLm tuned = MiniLm.load();
        float[][] base = tuned.embed(texts);
        PeftModel pm = PeftModel.wrap(tuned.bert(), Bert.houlsby().seed(9));
        randomise(pm, "default", 13, 0.05); // as if trained
        float[][] want = tuned.embed(texts);
        PeftFiles.saveNative(pm, "default", dir.resolve("houlsby.safetensors"));
        MiniLm fresh = MiniLm.load();
        PeftFiles.loadNative(PeftModel.of(fresh.bert()), dir.resolve("houlsby.safetensors"), "default");
        float[][] got = fresh.embed(texts);
        double moved = 0, worst = 0;
        for (int i = 0; i < texts.size(); i++)
            for (int j = 0; j < 384; j++) {
                moved = Math.max(moved, Math.abs(want[i][j] - base[i][j]));
                worst = Math.max(worst, Math.abs(got[i][j] - want[i][j]));
            }
        assertThat(moved).as("the adapters moved the embeddings").isGreaterThan(1e-3);
        assertThat(worst).as("reloaded vs tuned").isLessThanOrEqualTo(1e-6);
    }

    @Test
    void twoAdaptersSwitchDisableAndDeleteAndNeitherMerges() {
        Bert bare = new Bert(TINY), bert = new Bert(TINY);
        Tensor base = hidden(bare);
        PeftModel pm = PeftModel.wrap(bert, Bert.houlsby().reductionFactor(4).seed(1));
        randomise(pm, "default", 11, 0.5);
        pm.addAdapter("pf", Bert.pfeiffer().reductionFactor(8).seed(2));
        randomise(pm, "pf", 12, 0.5);
        Map<String, AdapterWeights> h = weights(pm, "default"), p = weights(pm, "pf");

        assertThat(pm.activeAdapter()).isEqualTo("pf");
        assertThat(maxAbsDiff(hidden(bert), reference(bare, p, false))).as("Pfeiffer active").isLessThan(1e-5);
        bert.namedParameters().forEach((n, v) -> assertThat(v.requiresGrad()).as(n).isEqualTo(n.contains(".pf.")));
        pm.setAdapter("default");
        assertThat(maxAbsDiff(hidden(bert), reference(bare, h, false))).as("Houlsby active").isLessThan(1e-5);
        bert.namedParameters().forEach((n, v) -> assertThat(v.requiresGrad()).as(n).isEqualTo(n.contains(".default.")));

        pm.setAdaptersDisabled(true);
        assertThat(maxAbsDiff(hidden(bert), base)).as("disabled: the base").isZero();
        pm.setAdaptersDisabled(false);
        assertThat(maxAbsDiff(hidden(bert), reference(bare, h, false))).as("enabled again").isLessThan(1e-5);

        assertThatThrownBy(pm::merge).isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot be merged");
        assertThat(maxAbsDiff(hidden(bert), reference(bare, h, false))).as("a refused merge changes nothing").isLessThan(1e-5);

        pm.deleteAdapter("default");
        assertThat(pm.activeAdapter()).isEqualTo("pf");
        assertThat(pm.adaptedLayers().keySet()).containsExactlyElementsOf(Kind.PFEIFFER.paths(2));
        assertThat(bert.namedModules().get("encoder.layer.0.attention.output.dense")).as("plain Linear back").isExactlyInstanceOf(Linear.class);
        assertThat(maxAbsDiff(hidden(bert), reference(bare, p, false))).as("Pfeiffer left").isLessThan(1e-5);
        pm.deleteAdapter("pf");
        assertThat(pm.adaptedLayers()).isEmpty();
        assertThat(maxAbsDiff(hidden(bert), base)).as("every adapter deleted: the base").isZero();
    }
}
