package dev.vectorgrad.peft.cli;

import static dev.vectorgrad.peft.cli.FinetuneTest.QUIET;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.peft.AdaLoraLinear;
import dev.vectorgrad.peft.LoraLinear;
import dev.vectorgrad.peft.LoraProOptimizer;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code finetune --resume} for the methods with state beyond weights and Adam's moments: AdaLoRA (the rank
 * allocator's importance EMAs and kept-triplet patterns), LoRA-Pro (its full-size moments) and LoRA-GA (its init,
 * which rewrote the base weights). Each run stopped at step 3 and resumed to 6 writes the bytes an uninterrupted
 * 6-step run writes, and each check is shown able to fail: resumed without that state, the files differ.
 */
class FinetuneResumeStateTest {
    static final List<String> FILES = List.of(PeftFiles.WEIGHTS, PeftFiles.CONFIG, Finetune.TRAINABLE, Finetune.OPTIM);

    /** Runs 6 steps whole and 3 + 3 with a resume; asserts every file equal; returns the two folders. */
    static Path[] wholeAndResumed(Path tmp, String name, Finetune.Options o, List<String> extra) throws IOException {
        Path[] p = FinetuneTest.setUp(tmp.resolve(name + "-in"));
        String text = Files.readString(p[1]);
        Path whole = tmp.resolve(name + "-whole"), parts = tmp.resolve(name + "-parts");
        new Finetune(p[0], text, o).run(6, whole, QUIET, false);
        new Finetune(p[0], text, o).run(3, parts, QUIET, false);
        Finetune r = Finetune.resume(p[0], text, parts, o);
        assertThat(r.step()).isEqualTo(3);
        r.run(6, parts, QUIET, false);
        for (String f : concat(FILES, extra))
            assertThat(Files.readAllBytes(parts.resolve(f))).as(name + " " + f).isEqualTo(Files.readAllBytes(whole.resolve(f)));
        return new Path[] {whole, parts, p[0], p[1]};
    }

    static List<String> concat(List<String> a, List<String> b) {
        List<String> l = new java.util.ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    @Test
    void adaloraResumesWithItsAllocatorStateBitForBit(@TempDir Path tmp) throws Exception {
        // init_r 4 → target_r 2 over 6 steps: the cubic budget prunes at steps 1–5 (PEFT's tinit = tfinal = 0, deltaT 1)
        Finetune.Options o = FinetuneTest.opts("adalora", 6).withEvalInterval(3).withTargetR(2);
        Path[] d = wholeAndResumed(tmp, "adalora", o, List.of(Finetune.ALLOCATOR));
        // pruning happened: the saved config has a rank_pattern with pruned triplets, the file fewer rows than init_r
        Map<String, Object> cfg = Json.asMap(Json.read(d[0].resolve(PeftFiles.CONFIG)), "config");
        Map<String, Object> pattern = Json.asMap(cfg.get("rank_pattern"), "rank_pattern");
        assertThat(pattern).hasSize(4);
        long pruned = pattern.values().stream().flatMap(v -> ((List<?>) v).stream()).filter(Boolean.FALSE::equals).count();
        assertThat(pruned).isGreaterThan(0);
        try (SafetensorsFile f = Safetensors.read(d[0].resolve(Finetune.ALLOCATOR))) {
            assertThat(f.names()).contains("transformer.h.0.attn.c_attn.lora_E.exp_avg_ipt", "transformer.h.1.mlp.c_fc.lora_B.exp_avg_unc",
                    "transformer.h.0.attn.c_attn.rank_pattern");
        }
        // without the EMAs (a resume that forgot them) the allocator's state at step 6 differs, so the byte comparison
        // above catches such a resume (on this tiny model the same triplets happen to be pruned either way)
        String text = Files.readString(d[3]);
        Path forgot = tmp.resolve("adalora-forgot");
        new Finetune(d[2], text, o).run(3, forgot, QUIET, false);
        Finetune r = Finetune.resume(d[2], text, forgot, o);
        r.peftModel().rankAllocator().restore(Map.of());
        r.run(6, forgot, QUIET, false);
        assertThat(Files.readAllBytes(forgot.resolve(Finetune.ALLOCATOR))).isNotEqualTo(Files.readAllBytes(d[0].resolve(Finetune.ALLOCATOR)));
    }

    @Test
    void adaloraAddsTheOrthogonalRegulariserToTheTrainingLossOnly(@TempDir Path tmp) throws Exception {
        Path[] p = FinetuneTest.setUp(tmp);
        String text = Files.readString(p[1]);
        Finetune.Options o = FinetuneTest.opts("adalora", 1);
        Finetune f = new Finetune(p[0], text, o);
        // R = (1/N) Σ ‖C − I‖_F over every A (C = AAᵀ) and B (C = BᵀB), in double from the initial factors
        double sum = 0;
        int n = 0;
        for (AdaLoraLinear l : f.peftModel().adaptedLayers().values().stream().map(AdaLoraLinear.class::cast).toList()) {
            sum += gramDistance(l.a("default").data(), true);
            sum += gramDistance(l.b("default").data(), false);
            n += 2;
        }
        double expected = 0.5 * sum / n; // orth_reg_weight 0.5
        var batch = new dev.vectorgrad.transformer.data.Batcher(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, 1, 16,
                new dev.vectorgrad.tensor.Rng(1)).next();
        f.model().train(true); // with dropout: the same generator state before each forward gives the same masks
        f.model().setDropoutRng(new dev.vectorgrad.tensor.Rng(5));
        double lm;
        try (var g = dev.vectorgrad.autograd.Grad.disabled()) {
            lm = f.model().loss(batch.x(), batch.y()).item();
        }
        f.model().train(true);
        f.model().setDropoutRng(new dev.vectorgrad.tensor.Rng(5));
        double train = objectiveLoss(f, batch);
        f.model().train(false);
        double eval = objectiveLoss(f, batch);
        double lmEval;
        try (var g = dev.vectorgrad.autograd.Grad.disabled()) {
            lmEval = f.model().loss(batch.x(), batch.y()).item();
        }
        assertThat(Math.abs(train - lm - expected)).as("train loss = LM loss + 0.5·R").isLessThan(1e-4 * Math.max(1, expected));
        assertThat(expected).isGreaterThan(1e-3);
        assertThat(eval).as("validation: the LM loss alone").isEqualTo(lmEval);
    }

    static double objectiveLoss(Finetune f, dev.vectorgrad.transformer.data.Batcher.Batch b) {
        try (var g = dev.vectorgrad.autograd.Grad.disabled()) {
            return f.objective().loss(b).item();
        }
    }

    /** ‖AAᵀ − I‖_F (rows) or ‖BᵀB − I‖_F (columns) in double. */
    static double gramDistance(Tensor t, boolean rows) {
        int n0 = t.size(0), n1 = t.size(1), r = rows ? n0 : n1, len = rows ? n1 : n0;
        float[] v = t.contiguous().toArray();
        double s = 0;
        for (int i = 0; i < r; i++)
            for (int j = 0; j < r; j++) {
                double c = 0;
                for (int k = 0; k < len; k++) c += rows ? (double) v[i * n1 + k] * v[j * n1 + k] : (double) v[k * n1 + i] * v[k * n1 + j];
                double e = c - (i == j ? 1 : 0);
                s += e * e;
            }
        return Math.sqrt(s);
    }

    @Test
    void loraProResumesWithItsMomentsBitForBit(@TempDir Path tmp) throws Exception {
        Finetune.Options t = FinetuneTest.opts("lora-pro", 6).withEvalInterval(3); // on c_attn only: LoRA-Pro's full-size algebra is the slow part
        Finetune.Options o = new Finetune.Options(t.method(), t.r(), t.alpha(), List.of("c_attn"), t.iters(), t.batch(), t.block(), t.lr(), t.gradAccum(),
                t.evalInterval(), t.evalIters(), t.seed());
        Path[] d = wholeAndResumed(tmp, "lora-pro", o, List.of());
        try (SafetensorsFile f = Safetensors.read(d[0].resolve(Finetune.OPTIM))) {
            assertThat(f.metadata()).containsEntry("optimizer", "lora-pro").containsEntry("step", "6");
            // full-size moments (out × in) per pair, named by the pair's A
            assertThat(f.tensor("exp_avg.transformer.h.0.attn.c_attn.lora_A.default.weight").shape()).containsExactly(96, 32);
        }
        // resumed with zeroed moments, the weights differ
        String text = Files.readString(d[3]);
        Path forgot = tmp.resolve("lora-pro-forgot");
        new Finetune(d[2], text, o).run(3, forgot, QUIET, false);
        Finetune r = Finetune.resume(d[2], text, forgot, o);
        LoraProOptimizer pro = (LoraProOptimizer) r.optimizer();
        Map<Variable, Tensor[]> zeros = new IdentityHashMap<>();
        pro.moments().forEach((a, mv) -> zeros.put(a, new Tensor[] {Tensor.zerosLike(mv[0]), Tensor.zerosLike(mv[1])}));
        pro.loadState(pro.steps(), zeros);
        r.run(6, forgot, QUIET, false);
        assertThat(Files.readAllBytes(forgot.resolve(Finetune.TRAINABLE))).isNotEqualTo(Files.readAllBytes(d[0].resolve(Finetune.TRAINABLE)));
    }

    @Test
    void loraDropResumesBitForBitOnEitherSideOfItsRestructure(@TempDir Path tmp) throws Exception {
        // 6 steps: the sample phase is step 1 (10%, at least 1), then the restructured adapter trains steps 2–6
        Finetune.Options t = FinetuneTest.opts("lora-drop", 6).withEvalInterval(3); // 6 modules: some fall under T = 0.9 and share
        Finetune.Options o = new Finetune.Options(t.method(), t.r(), t.alpha(), List.of("c_attn", "c_proj", "c_fc"), t.iters(), t.batch(), t.block(), t.lr(),
                t.gradAccum(), t.evalInterval(), t.evalIters(), t.seed());
        Path[] d = wholeAndResumed(tmp, "lora-drop", o, List.of(Finetune.DROP_FILE)); // stopped at 3: after the restructure
        Map<String, Object> st = Json.asMap(Json.read(d[0].resolve(Finetune.STATE)), "state");
        Map<String, Object> sel = Json.asMap(st.get("lora_drop"), "lora_drop");
        assertThat(Json.asMap(sel.get("importance"), "importance")).hasSize(8);
        assertThat(Json.asList(sel.get("kept"), "kept").size() + Json.asMap(sel.get("shared"), "shared").size()).isEqualTo(8);
        List<Object> groups = List.copyOf(Json.asMap(sel.get("shared"), "shared").values());
        assertThat(groups).as("some modules share one pair").hasSizeGreaterThan(new java.util.HashSet<>(groups).size());
        try (SafetensorsFile f = Safetensors.read(d[0].resolve(Finetune.DROP_FILE))) { // each shared pair once
            assertThat(f.names().stream().filter(k -> k.startsWith("lora_drop.")).count()).isEqualTo(2L * new java.util.HashSet<>(groups).size());
        }
        // stopped at the end of the sample phase (before the restructure) and resumed: the same bytes again
        String text = Files.readString(d[3]);
        Path atSample = tmp.resolve("lora-drop-at-sample");
        new Finetune(d[2], text, o).run(1, atSample, QUIET, false);
        assertThat(Json.asMap(Json.read(atSample.resolve(Finetune.STATE)), "state")).doesNotContainKey("lora_drop");
        Finetune r = Finetune.resume(d[2], text, atSample, o);
        assertThat(r.step()).isEqualTo(1);
        r.run(6, atSample, QUIET, false);
        for (String f : concat(FILES, List.of(Finetune.DROP_FILE, Finetune.STATE)))
            assertThat(Files.readAllBytes(atSample.resolve(f))).as("lora-drop from step 1: " + f).isEqualTo(Files.readAllBytes(d[0].resolve(f)));
    }

    @Test
    void loraGaResumesFromItsSavedInitNotANewEstimate(@TempDir Path tmp) throws Exception {
        Finetune.Options o = FinetuneTest.opts("lora-ga", 6).withEvalInterval(3).withGaBatches(2);
        Path[] d = wholeAndResumed(tmp, "lora-ga", o, List.of(Finetune.GA_INIT));
        // saved as a rank-2r plain LoRA (r 4 → 8, α 8 → 16), loading onto the original model
        Map<String, Object> cfg = Json.asMap(Json.read(d[0].resolve(PeftFiles.CONFIG)), "config");
        assertThat(cfg).containsEntry("peft_type", "LORA").containsEntry("r", 8L).containsEntry("lora_alpha", 16.0).containsEntry("init_lora_weights", true);
        // The resumed run takes A₀, B₀ from the file: change B₀ there and the resumed base weight is W₀ − s·B₀'A₀
        String text = Files.readString(d[3]);
        Path edited = tmp.resolve("lora-ga-edited");
        new Finetune(d[2], text, o).run(3, edited, QUIET, false);
        String key = "transformer.h.1.mlp.c_fc";
        Tensor a0, b0;
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
        try (SafetensorsFile f = Safetensors.read(edited.resolve(Finetune.GA_INIT))) {
            for (String k : f.names()) w.put(k, k.equals(key + ".B0") ? f.tensor(k).mul(2f) : f.tensor(k));
            a0 = f.tensor(key + ".A0");
            b0 = f.tensor(key + ".B0").mul(2f);
        }
        w.write(edited.resolve(Finetune.GA_INIT));
        Finetune r = Finetune.resume(d[2], text, edited, o);
        LoraLinear l = (LoraLinear) r.peftModel().adaptedLayers().get(key);
        float[] got = l.linear().weight.data().contiguous().toArray();
        float[] w0 = Trainer.loadModel(d[2]).namedParameters().get(key + ".weight").data().contiguous().toArray();
        float[] av = a0.contiguous().toArray(), bv = b0.contiguous().toArray();
        int out = l.outFeatures(), in = l.inFeatures(), rank = l.rank("default");
        double s = l.scaling("default"), worst = 0, scale = 0;
        for (int i = 0; i < out; i++)
            for (int j = 0; j < in; j++) {
                double ba = 0;
                for (int k = 0; k < rank; k++) ba += (double) bv[i * rank + k] * av[k * in + j];
                double want = w0[i * in + j] - s * ba;
                worst = Math.max(worst, Math.abs(got[i * in + j] - want));
                scale = Math.max(scale, Math.abs(s * ba));
            }
        assertThat(scale).as("the init moved the base").isGreaterThan(1e-4);
        assertThat(worst).as("W = W₀ − s·B₀'A₀ from the edited file").isLessThan(1e-3 * scale);
    }
}
