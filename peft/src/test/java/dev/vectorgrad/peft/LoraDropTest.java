package dev.vectorgrad.peft;

import static dev.vectorgrad.peft.PeftModelTest.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.testdata.Tolerance;
import dev.vectorgrad.transformer.Gpt;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA-Drop: the importance against a double-precision forward written here, the selection and the groups on
 * hand-picked numbers, shared pairs whose gradient is the sum of the unshared layers' gradients, and the file
 * (each shared pair once) reloading onto a fresh base to the same logits.
 */
class LoraDropTest {
    /** {@code head(tanh(enc.p(x) + enc.q(x)))}: p and q read the input, head reads a hidden value. */
    static final class Net extends Module {
        static final class Enc extends Module {
            final Linear p, q;

            Enc(Rng rng) {
                p = registerModule("p", new Linear(3, 2, true, rng));
                q = registerModule("q", new Linear(3, 2, false, rng));
            }
        }

        final Enc enc;
        final Linear head;

        Net(long seed) {
            Rng rng = new Rng(seed);
            enc = registerModule("enc", new Enc(rng));
            head = registerModule("head", new Linear(2, 2, true, rng));
        }

        @Override
        public Variable forward(Variable x) {
            return head.forward(enc.p.forward(x).add(enc.q.forward(x)).tanh());
        }
    }

    static double[] d(Tensor t) {
        float[] f = t.contiguous().toArray();
        double[] o = new double[f.length];
        for (int i = 0; i < f.length; i++) o[i] = f[i];
        return o;
    }

    /** W·x (+ b) for W [out, in] row-major, in double. */
    static double[] affine(double[] w, double[] b, double[] x, int in, int out) {
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double acc = b == null ? 0 : b[o];
            for (int c = 0; c < in; c++) acc += w[o * in + c] * x[c];
            y[o] = acc;
        }
        return y;
    }

    /** s·B·A·x for A [r, in], B [out, r], in double. */
    static double[] branch(double[] a, double[] b, double s, double[] x, int in, int out, int r) {
        double[] h = affine(a, null, x, in, r);
        double[] y = affine(b, null, h, r, out);
        for (int o = 0; o < out; o++) y[o] *= s;
        return y;
    }

    static double sq(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return s;
    }

    static void set(Variable p, double phase) {
        float[] v = new float[p.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) (0.5 * Math.sin(1.3 * i + phase));
        p.data().copyFrom(Tensor.of(v, p.shape()));
    }

    @Test
    void importanceIsTheSumOverTokensOfTheSquaredLoraOutputComputedByHand() {
        Net net = new Net(5);
        PeftModel pm = PeftModel.wrap(net, PeftConfig.lora(2, 3, "p", "q", "head").seed(1).build()); // s = 1.5
        String[] paths = {"enc.p", "enc.q", "head"};
        double phase = 0;
        for (String p : paths) {
            LoraLinear l = (LoraLinear) pm.adaptedLayers().get(p);
            set(l.a("default"), phase += 0.7);
            set(l.b("default"), phase += 0.7);
        }
        Rng rng = new Rng(3);
        List<Tensor> batches = new ArrayList<>();
        for (int k = 0; k < 2; k++) {
            float[] v = new float[2 * 3 * 3];
            for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
            batches.add(Tensor.of(v, 2, 3, 3)); // [batch 2, tokens 3, features 3]
        }
        net.train(true);
        LinkedHashMap<String, Double> got = LoraDrop.importance(pm, "default", () -> {
            for (Tensor x : batches) net.forward(Variable.of(x));
        });
        assertThat(net.isTraining()).as("training mode restored").isTrue();
        assertThat(net.enc.p.forwardDelegate()).as("delegate restored").isSameAs(pm.adaptedLayers().get("enc.p"));

        // the same sums in double, each module's input formed by the forward pass written out here
        double s = 1.5;
        LoraLinear p = (LoraLinear) pm.adaptedLayers().get("enc.p"), q = (LoraLinear) pm.adaptedLayers().get("enc.q"), h = (LoraLinear) pm.adaptedLayers().get("head");
        double[] ap = d(p.a("default").data()), bp = d(p.b("default").data()), aq = d(q.a("default").data()), bq = d(q.b("default").data());
        double[] ah = d(h.a("default").data()), bh = d(h.b("default").data());
        double[] wp = d(net.enc.p.weight.data()), bpBias = d(net.enc.p.bias.data()), wq = d(net.enc.q.weight.data());
        double ip = 0, iq = 0, ih = 0;
        for (Tensor x : batches) {
            double[] all = d(x);
            for (int t = 0; t < 6; t++) {
                double[] xt = {all[3 * t], all[3 * t + 1], all[3 * t + 2]};
                double[] dp = branch(ap, bp, s, xt, 3, 2, 2), dq = branch(aq, bq, s, xt, 3, 2, 2);
                double[] pre = affine(wp, bpBias, xt, 3, 2), qre = affine(wq, null, xt, 3, 2);
                double[] hid = new double[2];
                for (int o = 0; o < 2; o++) hid[o] = Math.tanh(pre[o] + dp[o] + qre[o] + dq[o]);
                ip += sq(dp);
                iq += sq(dq);
                ih += sq(branch(ah, bh, s, hid, 2, 2, 2));
            }
        }
        assertThat(got.keySet()).containsExactly(paths);
        assertThat(got.get("enc.p")).isCloseTo(ip, offset(1e-5 * ip));
        assertThat(got.get("enc.q")).isCloseTo(iq, offset(1e-5 * iq));
        assertThat(got.get("head")).isCloseTo(ih, offset(1e-5 * ih));
        assertThat(ip * iq * ih).as("every module contributes").isGreaterThan(0);
        LinkedHashMap<String, Double> n = LoraDrop.normalise(got);
        assertThat(n.get("enc.p")).isCloseTo(ip / (ip + iq + ih), offset(1e-6));
        assertThat(n.values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0, offset(1e-12));
    }

    @Test
    void anUntrainedLoraHasNoImportanceAndIsRefused() {
        Net net = new Net(5);
        PeftModel pm = PeftModel.wrap(net, PeftConfig.lora(2, 3, "p", "q", "head").seed(1).build()); // B = 0
        LinkedHashMap<String, Double> raw = LoraDrop.importance(pm, "default", () -> net.forward(Variable.of(Tensor.ones(1, 3))));
        assertThat(raw.values()).containsOnly(0.0);
        assertThatThrownBy(() -> LoraDrop.normalise(raw)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("train the sample LoRA first");
    }

    static Map<String, int[]> shapes(String... pathInOut) {
        LinkedHashMap<String, int[]> m = new LinkedHashMap<>();
        for (String s : pathInOut) {
            String[] f = s.split(":");
            m.put(f[0], new int[] {Integer.parseInt(f[1]), Integer.parseInt(f[2])});
        }
        return m;
    }

    static Map<String, Double> imp(Map<String, int[]> shapes, double... v) {
        LinkedHashMap<String, Double> m = new LinkedHashMap<>();
        int i = 0;
        for (String k : shapes.keySet()) m.put(k, v[i++]);
        return m;
    }

    @Test
    void theSmallestTopSetReachingTheThresholdKeepsItsOwnLoraAndTheRestShareByNameAndShape() {
        // a GPT-2-like block pair: attn.c_proj is d → d, mlp.c_proj 4d → d (d = 4)
        Map<String, int[]> sh = shapes("h.0.attn.c_attn:4:12", "h.0.attn.c_proj:4:4", "h.0.mlp.c_fc:4:16", "h.0.mlp.c_proj:16:4",
                "h.1.attn.c_attn:4:12", "h.1.attn.c_proj:4:4", "h.1.mlp.c_fc:4:16", "h.1.mlp.c_proj:16:4");
        // sorted: h.1.mlp.c_fc .40, h.0.attn.c_attn .25, h.1.attn.c_attn .15 (cum .80 < .9), h.0.mlp.c_proj .10 (cum .90: reached)
        var sel = LoraDrop.select(imp(sh, 0.25, 0.02, 0.03, 0.10, 0.15, 0.02, 0.40, 0.03), sh, 0.9);
        assertThat(sel.kept()).containsExactly("h.1.mlp.c_fc", "h.0.attn.c_attn", "h.1.attn.c_attn", "h.0.mlp.c_proj");
        assertThat(sel.keptFraction()).isEqualTo(0.5);
        assertThat(sel.keptImportance()).isCloseTo(0.9, offset(1e-12));
        assertThat(sel.shared()).containsExactly(Map.entry("h.0.attn.c_proj", "c_proj.4x4"), Map.entry("h.0.mlp.c_fc", "c_fc.16x4"),
                Map.entry("h.1.attn.c_proj", "c_proj.4x4"), Map.entry("h.1.mlp.c_proj", "c_proj.4x16"));
        assertThat(sel.groups()).containsExactly("c_proj.4x4", "c_fc.16x4", "c_proj.4x16");

        // 0.6 + 0.3 is 0.8999999999999999 in binary: it still reaches 0.9
        Map<String, int[]> three = shapes("a:2:2", "b:2:2", "c:2:2");
        assertThat(LoraDrop.select(imp(three, 0.1, 0.3, 0.6), three, 0.9).kept()).containsExactly("c", "b");
        // ties keep model order; T = 0 keeps nothing; T = 1 keeps every module that matters
        assertThat(LoraDrop.select(imp(three, 0.25, 0.5, 0.25), three, 0.6).kept()).containsExactly("b", "a");
        assertThat(LoraDrop.select(imp(three, 0.25, 0.5, 0.25), three, 0).kept()).isEmpty();
        assertThat(LoraDrop.select(imp(three, 0.0, 0.5, 0.5), three, 1).kept()).containsExactly("b", "c");
    }

    @Test
    void selectionRefusesBadInput() {
        Map<String, int[]> two = shapes("a:2:2", "b:2:2");
        assertThatThrownBy(() -> LoraDrop.select(imp(two, 0.5, 0.6), two, 0.9)).hasMessageContaining("sums to 1.1");
        assertThatThrownBy(() -> LoraDrop.select(imp(two, 0.5, 0.5), two, 1.5)).hasMessageContaining("threshold must be in [0, 1], got 1.5");
        assertThatThrownBy(() -> LoraDrop.select(Map.of("a", 1.0), two, 0.9)).hasMessageContaining("the adapter's modules are [a, b]");
        assertThatThrownBy(() -> LoraDrop.normalise(Map.of("a", -1.0))).hasMessageContaining("importance of 'a' is -1.0");
        assertThat(LoraDrop.sampleSteps(120, 0.1)).isEqualTo(12);
        assertThat(LoraDrop.sampleSteps(5, 0.1)).isEqualTo(1);
        assertThatThrownBy(() -> LoraDrop.sampleSteps(1, 0.1)).hasMessageContaining("leaves nothing");
    }

    static final String[] LINEARS = AdapterReloadTest.LINEARS;

    /** Everything but the first layer's c_attn dropped: groups c_attn.48x16 (one member), c_proj.16x16, c_fc.64x16, c_proj.16x64. */
    static LinkedHashMap<String, String> dropAllButFirstCAttn(PeftModel pm) {
        LinkedHashMap<String, String> shared = new LinkedHashMap<>();
        for (var e : pm.adaptedLayers().entrySet())
            if (!e.getKey().equals("transformer.h.0.attn.c_attn"))
                shared.put(e.getKey(), LoraDrop.group(e.getKey(), e.getValue().inFeatures(), e.getValue().outFeatures()));
        return shared;
    }

    @Test
    void aSharedPairIsOneParameterWhoseGradientIsTheSumOverItsLayers() {
        PeftConfig cfg = PeftConfig.lora(2, 4, LINEARS).seed(3).build();
        Gpt g1 = new Gpt(AdapterReloadTest.CFG, 11), g2 = new Gpt(AdapterReloadTest.CFG, 11);
        PeftModel shared = PeftModel.wrap(g1, cfg), plain = PeftModel.wrap(g2, cfg);
        LinkedHashMap<String, String> groups = dropAllButFirstCAttn(shared);
        LoraDrop.share(shared, "default", groups);
        assertThat(groups.values()).containsOnly("c_attn.48x16", "c_proj.16x16", "c_fc.64x16", "c_proj.16x64");

        // non-zero B so that A gets a gradient too; the unshared model gets the same values in every member
        double phase = 0;
        for (LoraLinear l : LoraDrop.loraLayers(shared, "default").values()) {
            set(l.b("default"), phase += 0.9);
            set(l.a("default"), phase += 0.9);
        }
        for (var e : LoraDrop.loraLayers(plain, "default").entrySet()) {
            LoraLinear src = (LoraLinear) shared.adaptedLayers().get(e.getKey());
            e.getValue().a("default").data().copyFrom(src.a("default").data());
            e.getValue().b("default").data().copyFrom(src.b("default").data());
        }
        LoraLinear a0 = (LoraLinear) shared.adaptedLayers().get("transformer.h.0.attn.c_proj"), a1 = (LoraLinear) shared.adaptedLayers().get("transformer.h.1.attn.c_proj");
        assertThat(a1.a("default")).isSameAs(a0.a("default"));
        assertThat(a1.b("default")).isSameAs(a0.b("default"));

        // one pair per kept module or group: r·(in + out) each, counted by hand
        long pairs = 2 * (16 + 48) /* h.0 c_attn */ + 2 * (16 + 48) /* c_attn.48x16 */ + 2 * (16 + 16) + 2 * (16 + 64) + 2 * (64 + 16);
        assertThat(shared.trainableParameters()).isEqualTo(pairs).isEqualTo(LoraDrop.parameters(shared, "default"));
        assertThat(plain.trainableParameters()).isEqualTo(2 * (2 * (16 + 48) + 2 * (16 + 16) + 2 * (16 + 64) + 2 * (64 + 16)));
        long namesOfSharedA = g1.namedParameters().values().stream().filter(v -> v == a0.a("default")).count();
        assertThat(namesOfSharedA).as("a shared parameter is listed once").isEqualTo(1);

        IntTensor x = IntTensor.wrap(new int[] {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}, 2, 8);
        IntTensor y = IntTensor.wrap(new int[] {1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2}, 2, 8);
        for (Variable p : g1.parameters()) p.zeroGrad();
        for (Variable p : g2.parameters()) p.zeroGrad();
        double l1 = g1.loss(x, y).item(), l2;
        g1.loss(x, y).backward();
        Variable loss2 = g2.loss(x, y);
        l2 = loss2.item();
        loss2.backward();
        assertThat(l1).as("sharing equal values changes nothing in the function").isCloseTo(l2, offset(1e-6));
        for (String grp : List.of("c_proj.16x16", "c_fc.64x16", "c_proj.16x64")) {
            List<String> members = groups.entrySet().stream().filter(e -> e.getValue().equals(grp)).map(Map.Entry::getKey).toList();
            assertThat(members).hasSize(2);
            LoraLinear s = (LoraLinear) shared.adaptedLayers().get(members.get(0));
            for (boolean isA : new boolean[] {true, false}) {
                Tensor sum = null;
                for (String m : members) {
                    LoraLinear u = (LoraLinear) plain.adaptedLayers().get(m);
                    Tensor gr = (isA ? u.a("default") : u.b("default")).grad();
                    sum = sum == null ? gr.copy() : sum.add(gr);
                }
                Tensor got = (isA ? s.a("default") : s.b("default")).grad();
                assertThat(Tolerance.relErr(got, sum)).as(grp + (isA ? " A" : " B")).isLessThan(1e-5);
            }
        }
    }

    static Tensor logits(Gpt g) {
        g.train(false);
        try (var s = Grad.disabled()) {
            return g.forward(IntTensor.wrap(new int[] {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}, 2, 8)).data().copy();
        }
    }

    @Test
    void theFileStoresEachSharedPairOnceAndReloadsOntoAFreshBaseToTheSameLogits(@TempDir Path dir) throws IOException {
        Gpt g = new Gpt(AdapterReloadTest.CFG, 11);
        Tensor base = logits(g);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(2, 4, LINEARS).seed(3).build());
        LoraDrop.share(pm, "default", dropAllButFirstCAttn(pm));
        AdapterReloadTest.train(g, pm, "adamw");
        Tensor tuned = logits(g);
        assertThat(maxAbsDiff(tuned, base)).as("training moved the model").isGreaterThan(1e-3);

        Path file = dir.resolve("drop.safetensors");
        LoraDrop.save(pm, "default", file);
        try (SafetensorsFile f = Safetensors.read(file)) {
            // 2 individual pairs (h.0 c_attn; h.1 c_attn, alone in its group) + 3 shared pairs, each once
            assertThat(new TreeSet<>(f.names())).containsExactly(
                    "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight",
                    "base_model.model.transformer.h.1.attn.c_attn.lora_A.weight", "base_model.model.transformer.h.1.attn.c_attn.lora_B.weight",
                    "lora_drop.c_fc.64x16.lora_A.weight", "lora_drop.c_fc.64x16.lora_B.weight",
                    "lora_drop.c_proj.16x16.lora_A.weight", "lora_drop.c_proj.16x16.lora_B.weight",
                    "lora_drop.c_proj.16x64.lora_A.weight", "lora_drop.c_proj.16x64.lora_B.weight");
            assertThat(f.tensor("lora_drop.c_proj.16x64.lora_A.weight").shape()).containsExactly(2, 64);
            Map<String, Object> meta = Json.asMap(Json.parse(f.metadata().get(LoraDrop.METADATA)), "meta");
            assertThat(Json.asMap(meta.get("shared"), "shared")).hasSize(6).containsEntry("transformer.h.1.mlp.c_proj", "c_proj.16x64");
        }
        PeftFiles.saveNative(pm, "default", dir.resolve("plain.safetensors"));
        assertThat(Files.size(file)).as("smaller than the same model as a plain LoRA file").isLessThan(Files.size(dir.resolve("plain.safetensors")));

        Gpt fresh = new Gpt(AdapterReloadTest.CFG, 11);
        PeftModel loaded = LoraDrop.load(fresh, file);
        assertThat(maxAbsDiff(logits(fresh), tuned)).isLessThanOrEqualTo(1e-5);
        LoraLinear c0 = (LoraLinear) loaded.adaptedLayers().get("transformer.h.0.mlp.c_fc"), c1 = (LoraLinear) loaded.adaptedLayers().get("transformer.h.1.mlp.c_fc");
        assertThat(c1.a("default")).as("shared again after loading").isSameAs(c0.a("default"));
        assertThat(loaded.trainableParameters()).isEqualTo(pm.trainableParameters());

        // the native loader reads the file too; a PEFT directory (pairs repeated per module) gives the same function
        Gpt viaNative = new Gpt(AdapterReloadTest.CFG, 11);
        PeftFiles.loadNative(PeftModel.of(viaNative), file, "default");
        assertThat(maxAbsDiff(logits(viaNative), tuned)).isLessThanOrEqualTo(1e-5);
        PeftFiles.save(pm, "default", dir.resolve("peft"));
        Gpt viaPeft = new Gpt(AdapterReloadTest.CFG, 11);
        PeftFiles.load(viaPeft, dir.resolve("peft"));
        assertThat(maxAbsDiff(logits(viaPeft), tuned)).isLessThanOrEqualTo(1e-5);

        // merge / unmerge folds the shared pair into each of its layers
        pm.merge();
        assertThat(maxAbsDiff(logits(g), tuned)).isLessThanOrEqualTo(1e-5);
        pm.unmerge();
        assertThat(maxAbsDiff(logits(g), tuned)).isLessThanOrEqualTo(1e-5);
    }

    /** Rewrites {@code file}'s LoRA-Drop metadata through {@code edit} and drops tensor {@code without} (null: none). */
    static Path rewrite(Path file, Path out, java.util.function.UnaryOperator<String> edit, String without) throws IOException {
        try (SafetensorsFile f = Safetensors.read(file)) {
            Safetensors.Writer w = Safetensors.writer().metadata(LoraDrop.METADATA, edit.apply(f.metadata().get(LoraDrop.METADATA)));
            for (String k : f.names()) if (!k.equals(without)) w.put(k, f.tensor(k));
            w.write(out);
        }
        return out;
    }

    @Test
    void aFileThatDoesNotFitIsRefusedNamingItAndTheModelIsUntouched(@TempDir Path dir) throws IOException {
        Gpt g = new Gpt(AdapterReloadTest.CFG, 11);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(2, 4, LINEARS).seed(3).build());
        LoraDrop.share(pm, "default", dropAllButFirstCAttn(pm));
        Path file = dir.resolve("drop.safetensors");
        LoraDrop.save(pm, "default", file);

        Path missing = rewrite(file, dir.resolve("missing.safetensors"), s -> s, "lora_drop.c_fc.64x16.lora_B.weight");
        Path mixed = rewrite(file, dir.resolve("mixed.safetensors"),
                s -> s.replace("\"transformer.h.0.mlp.c_proj\":\"c_proj.16x64\"", "\"transformer.h.0.mlp.c_proj\":\"c_proj.16x16\""), null);
        Path stranger = rewrite(file, dir.resolve("stranger.safetensors"), s -> s.replace("\"shared\":{", "\"shared\":{\"transformer.h.0.ln_1\":\"x\","), null);
        Path bare = dir.resolve("bare.safetensors");
        Safetensors.writer().put("x", Tensor.zeros(1)).write(bare);
        for (Object[] c : new Object[][] {
                {missing, "missing tensor 'lora_drop.c_fc.64x16.lora_B.weight' (expected shape [64, 2])"},
                {mixed, "group 'c_proj.16x16' mixes 'transformer.h.0.attn.c_proj' (16 → 16, r 2) and 'transformer.h.0.mlp.c_proj' (64 → 16, r 2)"},
                {stranger, "shared module 'transformer.h.0.ln_1' is not a target"},
                {bare, "no 'vectorgrad.lora_drop' metadata"}}) {
            Gpt fresh = new Gpt(AdapterReloadTest.CFG, 11);
            Tensor before = logits(fresh);
            assertThatThrownBy(() -> LoraDrop.load(fresh, (Path) c[0])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(c[0].toString()).hasMessageContaining((String) c[1]);
            assertThat(fresh.transformer.h.get(0).attn.cAttn.forwardDelegate()).as("no adapter installed").isNull();
            assertThat(maxAbsDiff(logits(fresh), before)).isZero();
        }
    }

    @Test
    void onOutputSlicesOfOneLayerTheCapturesUnwindAndSharedSlicesReload(@TempDir Path dir) throws IOException {
        // c_attn.q and c_attn.v wrap one Linear: importance installs a capture for each, chained, and must unwind both
        Gpt g = new Gpt(AdapterReloadTest.CFG, 11);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(2, 4, "c_attn.q", "c_attn.v").seed(4).build());
        AdapterReloadTest.train(g, pm, "adamw");
        Tensor tuned = logits(g);
        var top = g.transformer.h.get(0).attn.cAttn.forwardDelegate();
        LinkedHashMap<String, Double> raw = LoraDrop.importance(pm, "default", () -> logits(g));
        assertThat(g.transformer.h.get(0).attn.cAttn.forwardDelegate()).isSameAs(top);
        assertThat(maxAbsDiff(logits(g), tuned)).isZero();
        assertThat(raw.keySet()).containsExactly("transformer.h.0.attn.c_attn.q", "transformer.h.0.attn.c_attn.v",
                "transformer.h.1.attn.c_attn.q", "transformer.h.1.attn.c_attn.v");
        assertThat(raw.values()).allSatisfy(v -> assertThat(v).isPositive());
        // every slice dropped: one pair for the q slices, one for the v slices (both 16 → 16, told apart by name)
        var sel = LoraDrop.select(pm, "default", LoraDrop.normalise(raw), 0);
        assertThat(sel.groups()).containsExactly("q.16x16", "v.16x16");
        LoraDrop.restructure(pm, "default", sel);
        AdapterReloadTest.train(g, pm, "adamw");
        Tensor shared = logits(g);
        Path file = dir.resolve("slices.safetensors");
        LoraDrop.save(pm, "default", file, sel);
        try (SafetensorsFile f = Safetensors.read(file)) {
            assertThat(new TreeSet<>(f.names())).containsExactly("lora_drop.q.16x16.lora_A.weight", "lora_drop.q.16x16.lora_B.weight",
                    "lora_drop.v.16x16.lora_A.weight", "lora_drop.v.16x16.lora_B.weight");
        }
        Gpt fresh = new Gpt(AdapterReloadTest.CFG, 11);
        LoraDrop.load(fresh, file);
        assertThat(maxAbsDiff(logits(fresh), shared)).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void restructureStartsTheSelectedStructureFromLorasInit() {
        Gpt g = new Gpt(AdapterReloadTest.CFG, 11);
        Tensor base = logits(g);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(2, 4, LINEARS).seed(3).build());
        Tensor a0 = ((LoraLinear) pm.adaptedLayers().get("transformer.h.0.mlp.c_fc")).a("default").data().copy();
        AdapterReloadTest.train(g, pm, "adamw");
        Rng rng = new Rng(5);
        List<IntTensor> sample = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            int[] ids = new int[16];
            for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(13);
            sample.add(IntTensor.wrap(ids, 2, 8));
        }
        var sel = LoraDrop.select(pm, "default", LoraDrop.normalise(LoraDrop.importance(pm, "default", () -> {
            for (IntTensor ids : sample) g.forward(ids);
        })), 0.9);
        assertThat(sel.kept()).isNotEmpty();
        assertThat(sel.kept().size() + sel.shared().size()).isEqualTo(8);
        LoraDrop.restructure(pm, "default", sel);
        assertThat(maxAbsDiff(logits(g), base)).as("B = 0 again: the base model's function").isZero();
        for (var e : sel.shared().entrySet()) {
            LoraLinear l = (LoraLinear) pm.adaptedLayers().get(e.getKey());
            assertThat(PeftModelTest.maxAbsDiff(l.b("default").data(), Tensor.zerosLike(l.b("default").data()))).isZero();
        }
        String c0 = "transformer.h.0.mlp.c_fc";
        LoraLinear l0 = (LoraLinear) pm.adaptedLayers().get(c0);
        if (!sel.shared().containsKey(c0)) assertThat(maxAbsDiff(l0.a("default").data(), a0)).as("LoRA's initial A again").isZero();
        assertThat(pm.trainableParameters()).isEqualTo(LoraDrop.parameters(pm, "default"));
        assertThatThrownBy(() -> LoraDrop.importance(PeftModel.wrap(new Gpt(AdapterReloadTest.CFG, 1), PeftConfig.lora(2, 4, LINEARS).dora(true).build()), "default", () -> {}))
                .hasMessageContaining("plain LoRA adapters; 'default' is DoRA");
    }
}
