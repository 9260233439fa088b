package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.HfGpt2;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every method the project saves: train a few steps on a tiny GPT, save, load the file onto a freshly loaded
 * copy of the <em>original</em> base model, and get the tuned model's logits back (max abs diff ≤ 1e-5). A
 * PiSSA / MiLoRA file that held only A and B would count the principal part twice there and fail.
 */
class AdapterReloadTest {
    static final GptConfig CFG = new GptConfig(13, 8, 2, 2, 16, 0.0, true, GptConfig.Activation.GELU, 1e-5);
    static final String[] LINEARS = {"c_attn", "c_proj", "c_fc"};

    /** How a method makes the model trainable and its optimiser, and how its file is written and read. */
    enum Format { PEFT_DIR, NATIVE, CHECKPOINT }

    record Method(String name, PeftConfig peft, String optimiser) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> cases() {
        List<Method> adapters = List.of(
                new Method("LoRA", PeftConfig.lora(2, 4, LINEARS).seed(1).build(), "adamw"),
                new Method("rsLoRA", PeftConfig.lora(2, 4, LINEARS).rslora(true).seed(2).build(), "adamw"),
                new Method("LoRA+", PeftConfig.lora(2, 4, LINEARS).seed(3).build(), "lora+"),
                new Method("LoRA-FA", PeftConfig.lora(2, 4, LINEARS).freezeA(true).seed(4).build(), "lora-fa"),
                new Method("PiSSA", PeftConfig.lora(2, 4, LINEARS).init(PeftConfig.LoraInit.PISSA).seed(5).build(), "adamw"),
                new Method("MiLoRA", PeftConfig.lora(2, 4, LINEARS).init(PeftConfig.LoraInit.MILORA).seed(6).build(), "adamw"),
                // the conversion doubles r, α (×√2 with rsLoRA) and the patterns; the embedding gets zero rows
                new Method("PiSSA rsLoRA, patterns, wte", PeftConfig.lora(2, 4, "c_attn", "c_fc", "wte").rslora(true).rankPattern("c_fc", 3)
                        .alphaPattern("c_attn", 6).init(PeftConfig.LoraInit.PISSA).seed(7).build(), "adamw"),
                new Method("VeRA", PeftConfig.vera(8, 3, LINEARS).seed(8).build(), "adamw"),
                new Method("VeRA without projections", PeftConfig.vera(8, 3, LINEARS).saveProjection(false).seed(8).build(), "adamw"),
                new Method("LoRA on wte and wpe", PeftConfig.lora(2, 4, "wte", "wpe", "c_attn").seed(9).build(), "adamw"),
                new Method("DoRA", PeftConfig.lora(2, 4, LINEARS).dora(true).seed(10).build(), "adamw"),
                new Method("DoRA on wte, wpe and c_attn", PeftConfig.lora(2, 4, "wte", "wpe", "c_attn").dora(true).seed(13).build(), "adamw"),
                new Method("AdaLoRA", PeftConfig.adalora(3, 2, 100).targets(LINEARS).seed(12).build(), "adamw"),
                new Method("LoRA-Pro", PeftConfig.lora(2, 4, LINEARS).seed(15).build(), "lora-pro"),
                new Method("FLoRA", PeftConfig.flora(2).alpha(4).targets(LINEARS).seed(14).build(), "adamw"),
                new Method("DoRA on PiSSA, dropout", PeftConfig.lora(2, 4, LINEARS).dora(true).init(PeftConfig.LoraInit.PISSA).dropout(0.1).seed(11).build(), "adamw"),
                new Method("Adapter (Houlsby)", PeftConfig.houlsby().reductionFactor(4).seed(14).build(), "adamw"),
                new Method("Adapter (Pfeiffer), dropout", PeftConfig.pfeiffer().reductionFactor(4).dropout(0.1).seed(15).build(), "adamw"),
                // output slices of the fused c_attn (vectorgrad's own target names; OutputSliceTest checks the layers)
                new Method("LoRA on c_attn.q and c_attn.v", PeftConfig.lora(2, 4, "c_attn.q", "c_attn.v").seed(16).build(), "adamw"),
                new Method("VeRA on c_attn.q and c_attn.v", PeftConfig.vera(8, 3, "c_attn.q", "c_attn.v").seed(17).build(), "adamw"),
                new Method("LoRA-FA on c_attn.k and c_fc, rank pattern", PeftConfig.lora(2, 4, "c_attn.k", "c_fc").rankPattern("c_attn.k", 3).freezeA(true)
                        .seed(18).build(), "lora-fa"),
                new Method("LoRA+ on c_attn.v and c_proj, rsLoRA, dropout", PeftConfig.lora(2, 4, "c_attn.v", "c_proj").rslora(true).dropout(0.1)
                        .seed(19).build(), "lora+"),
                new Method("LoRA-Pro on c_attn.q and c_attn.v", PeftConfig.lora(2, 4, "c_attn.q", "c_attn.v").seed(20).build(), "lora-pro"));
        List<Arguments> out = new ArrayList<>();
        for (Method m : adapters) for (Format f : List.of(Format.PEFT_DIR, Format.NATIVE)) out.add(Arguments.of(m, f));
        out.add(Arguments.of(new Method("BitFit", null, "bitfit"), Format.CHECKPOINT));
        out.add(Arguments.of(new Method("full FT", null, "full"), Format.CHECKPOINT));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} via {1}")
    @MethodSource("cases")
    void theSavedFileReloadsToTheTunedModelOnAFreshOriginalBase(Method m, Format format, @TempDir Path dir) throws IOException {
        Gpt pretrained = new Gpt(CFG, 11);
        Path baseDir = dir.resolve("base");
        HfGpt2.save(pretrained, baseDir);
        IntTensor probe = IntTensor.wrap(new int[] {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}, 2, 8);
        Tensor before = logits(HfGpt2.load(baseDir), probe);

        Gpt model = HfGpt2.load(baseDir);
        PeftModel pm = null;
        switch (m.optimiser()) {
            case "bitfit" -> { model.requiresGrad(false); Methods.bitFit(model); }
            case "full" -> Methods.fullFineTune(model);
            default -> pm = PeftModel.wrap(model, m.peft());
        }
        train(model, pm, m.optimiser());
        Tensor tuned = logits(model, probe);
        // the training moved the model: a file that lost the adapter would fail below
        assertThat(PeftModelTest.maxAbsDiff(tuned, before)).as("tuning changed the logits").isGreaterThan(1e-3);

        Gpt fresh = HfGpt2.load(baseDir);
        switch (format) {
            case PEFT_DIR -> {
                PeftFiles.save(pm, "default", dir.resolve("adapter"));
                PeftFiles.load(fresh, dir.resolve("adapter"));
            }
            case NATIVE -> {
                PeftFiles.saveNative(pm, "default", dir.resolve("adapter.safetensors"));
                PeftFiles.loadNative(PeftModel.of(fresh), dir.resolve("adapter.safetensors"), "default");
            }
            case CHECKPOINT -> {
                if (m.optimiser().equals("full")) {
                    HfGpt2.save(model, dir.resolve("tuned"));
                    fresh = HfGpt2.load(dir.resolve("tuned"));
                } else {
                    Methods.saveTrained(model, dir.resolve("biases.safetensors"));
                    Methods.loadTrained(fresh, dir.resolve("biases.safetensors"));
                }
            }
        }
        assertThat(PeftModelTest.maxAbsDiff(logits(fresh, probe), tuned)).as(m + " via " + format).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void pissaIsSavedAsPeftsRank2rConversion(@TempDir Path dir) throws IOException {
        Gpt g = new Gpt(CFG, 11);
        PeftConfig cfg = PeftConfig.lora(2, 4, "c_attn", "c_fc", "wte").rslora(true).rankPattern("c_fc", 3).alphaPattern("c_attn", 6)
                .init(PeftConfig.LoraInit.PISSA).seed(7).build();
        PeftModel pm = PeftModel.wrap(g, cfg);
        LoraLinear fc = (LoraLinear) pm.adaptedLayers().get("transformer.h.1.mlp.c_fc");
        Tensor a0 = fc.a("default").data().copy(), b0 = fc.b("default").data().copy(); // the init's factors, before training
        train(g, pm, "adamw");
        PeftFiles.save(pm, "default", dir);

        Map<String, Object> j = Json.asMap(Json.read(dir.resolve(PeftFiles.CONFIG)), "config");
        assertThat(((Number) j.get("r")).intValue()).isEqualTo(4);
        assertThat(((Number) j.get("lora_alpha")).doubleValue()).isCloseTo(4 * Math.sqrt(2), offset(1e-12));
        assertThat(j.get("init_lora_weights")).isEqualTo(true);
        assertThat(((Number) ((Map<?, ?>) j.get("rank_pattern")).get("c_fc")).intValue()).isEqualTo(6);
        assertThat(((Number) ((Map<?, ?>) j.get("alpha_pattern")).get("c_attn")).doubleValue())
                .isCloseTo(6 * Math.sqrt(2), offset(1e-12));
        try (var f = Safetensors.read(dir.resolve(PeftFiles.WEIGHTS))) {
            String k = PeftModel.PREFIX + "transformer.h.1.mlp.c_fc";
            Tensor a = f.tensor(k + ".lora_A.weight"), b = f.tensor(k + ".lora_B.weight");
            assertThat(a.shape()).containsExactly(6, 16);
            assertThat(b.shape()).containsExactly(64, 6);
            // A' = [A; A₀], B' = [B, −B₀]
            assertThat(PeftModelTest.maxAbsDiff(a.narrow(0, 0, 3), fc.a("default").data())).isZero();
            assertThat(PeftModelTest.maxAbsDiff(a.narrow(0, 3, 3), a0)).isZero();
            assertThat(PeftModelTest.maxAbsDiff(b.narrow(1, 0, 3), fc.b("default").data())).isZero();
            assertThat(PeftModelTest.maxAbsDiff(b.narrow(1, 3, 3), b0.neg())).isZero();
            // the embedding's rows / columns for the doubled rank are zero
            Tensor ea = f.tensor(PeftModel.PREFIX + "transformer.wte.lora_embedding_A");
            assertThat(ea.shape()).containsExactly(4, 13);
            assertThat(PeftModelTest.maxAbsDiff(ea.narrow(0, 2, 2), Tensor.zeros(2, 13))).isZero();
        }
    }

    /** Eight AdamW-family steps on seeded random batches, at a learning rate that moves every method. */
    static void train(Gpt model, PeftModel pm, String optimiser) {
        model.train(true);
        List<Variable> trainable = new ArrayList<>();
        for (Variable v : model.parameters()) if (v.requiresGrad()) trainable.add(v);
        double lr = 2e-2;
        Optimizer opt = switch (optimiser) {
            case "lora+" -> Methods.loraPlusAdamW(model, lr / 4, Methods.LORA_PLUS_RATIO, 0.0);
            case "lora-fa" -> Methods.loraFaAdamW(pm, lr, 0.01);
            case "lora-pro" -> Methods.loraProAdamW(pm, lr, 0.01);
            default -> new AdamW(List.of(ParamGroup.of(trainable).lr(lr)), lr, 0.9, 0.999, 1e-8, 0.01);
        };
        Rng rng = new Rng(99);
        for (int s = 0; s < 8; s++) {
            int[] x = new int[4 * 8], y = new int[4 * 8];
            for (int i = 0; i < x.length; i++) { x[i] = rng.nextInt(CFG.vocabSize()); y[i] = (x[i] * 5 + 2) % CFG.vocabSize(); }
            opt.zeroGrad();
            model.loss(IntTensor.wrap(x, 4, 8), IntTensor.wrap(y, 4, 8)).backward();
            opt.step();
        }
        model.train(false);
    }

    static Tensor logits(Gpt g, IntTensor ids) {
        g.train(false);
        try (var s = Grad.disabled()) {
            return g.forward(ids).data().copy();
        }
    }
}
