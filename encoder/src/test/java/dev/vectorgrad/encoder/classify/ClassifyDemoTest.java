package dev.vectorgrad.encoder.classify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.encoder.MiniLm;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.testdata.TestData;
import dev.vectorgrad.transformer.data.Batcher;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code demo classify} on the real MiniLM and SpamAssassin data, cut to a few e-mails and steps; and its LoRA adapter
 * as a PEFT directory: BERT's Hugging Face names, the head under {@code modules_to_save}, reloading to the same logits.
 */
class ClassifyDemoTest {
    static MiniLm minilm;
    static SpamCorpus.Splits splits;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws Exception {
        minilm = MiniLm.load();
        splits = SpamCorpus.read(TestData.file("spamassassin/spam.tsv.gz"));
    }

    @Test
    void aShortRunPrintsTheTableAndWritesThePlotAndTheAdapters() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ClassifyDemo.Plan plan = new ClassifyDemo.Plan(1, 4, 1, 0, 0, 62, 8, List.of("LoRA r=8", "VeRA r=256", "Pfeiffer"));
        ClassifyDemo.Report r = new ClassifyDemo(plan, tmp, new PrintStream(buf, true, StandardCharsets.UTF_8)).run(splits, minilm);
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(out).contains(ClassifyDemo.HEADER).contains("| bag-of-words logistic regression (baseline) |").contains("| LoRA r=8 | 73,728 |");
        assertThat(r.rows()).extracting(ClassifyDemo.Row::method).containsExactly("LoRA r=8", "VeRA r=256", "Pfeiffer");
        // trainable parameters outside the head, counted by hand: LoRA r=8 on 12 matrices 384×384 = 12·8·(384+384);
        // VeRA r=256: 12·(384 + 256) λ values; Pfeiffer: one 384→24→384 bottleneck with biases per layer, 6·(2·384·24 + 24 + 384)
        assertThat(r.rows()).extracting(ClassifyDemo.Row::trainable).containsExactly(12L * 8 * 768, 12L * (384 + 256), 6L * (2 * 384 * 24 + 24 + 384));
        for (ClassifyDemo.Row row : r.rows()) {
            assertThat(row.evalSteps()).containsExactly(0, 1);
            assertThat(row.test().n()).isEqualTo(8);
        }
        assertThat(Files.size(r.png())).isGreaterThan(1000);
        assertThat(Files.readString(r.markdown())).contains(ClassifyDemo.HEADER);
        Path lora = tmp.resolve("adapters/lora-r-8");
        try (SafetensorsFile f = Safetensors.read(lora.resolve(PeftFiles.WEIGHTS))) {
            assertThat(f.names()).contains("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight",
                    "base_model.model.encoder.layer.5.attention.self.value.lora_B.weight", "base_model.model.classifier.weight",
                    "base_model.model.classifier.bias").hasSize(6 * 2 * 2 + 2);
            assertThat(f.tensor("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight").shape()).containsExactly(8, 384);
            assertThat(f.tensor("base_model.model.classifier.weight").shape()).containsExactly(2, 384);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> cfg = (Map<String, Object>) Json.parse(Files.readAllBytes(lora.resolve(PeftFiles.CONFIG)));
        assertThat(cfg).containsEntry("peft_type", "LORA").containsEntry("modules_to_save", List.of("classifier"))
                .containsEntry("target_modules", List.of("query", "value"));
    }

    @Test
    void theSavedLoraDirectoryReloadsToTheSameLogits() throws Exception {
        Map<String, Tensor> weights = new LinkedHashMap<>();
        minilm.bert().stateDict().forEach((k, v) -> weights.put(k, v.copy()));
        PeftConfig lora = ClassifyDemo.methods().stream().filter(m -> m.name().equals("LoRA r=8")).findFirst().orElseThrow().peft();
        TextClassifier trained = ClassifyDemo.fresh(minilm.bert().config(), weights);
        PeftModel pm = PeftModel.wrap(trained, lora);
        try (var g = Grad.disabled()) { // what training leaves: non-zero B and a moved head
            int k = 0;
            for (var e : trained.namedParameters().entrySet())
                if (e.getKey().contains("lora_B") || e.getKey().startsWith("classifier.")) {
                    Tensor t = e.getValue().data();
                    float[] v = new float[(int) t.numel()];
                    for (int i = 0; i < v.length; i++) v[i] = 0.05f * (float) Math.sin(++k);
                    t.copyFrom(Tensor.of(v, t.shape()));
                }
        }
        PeftFiles.save(pm, "default", tmp.resolve("lora"));

        List<ClassifyDemo.Example> xs = new ArrayList<>();
        for (SpamCorpus.Email e : splits.test().subList(0, 6)) xs.add(new ClassifyDemo.Example(SpamCorpus.pieces(minilm.tokenizer(), e, 0, 62), e.spam()));
        Batcher.Batch b = ClassifyDemo.batch(xs, minilm.tokenizer());
        float[] want = logits(trained, b);

        TextClassifier fresh = ClassifyDemo.fresh(minilm.bert().config(), weights);
        float[] before = logits(fresh, b);
        PeftFiles.load(fresh, tmp.resolve("lora"));
        float[] got = logits(fresh, b);
        double moved = 0, err = 0;
        for (int i = 0; i < want.length; i++) {
            moved = Math.max(moved, Math.abs(want[i] - before[i]));
            err = Math.max(err, Math.abs(want[i] - got[i]));
        }
        assertThat(moved).as("the adapter and head change the logits").isGreaterThan(1e-3);
        assertThat(err).as("reloaded logits").isLessThan(1e-5);
    }

    static float[] logits(TextClassifier m, Batcher.Batch b) {
        try (var g = Grad.disabled()) {
            return m.logits(b.x(), ClassifyDemo.mask(b.x(), minilm.tokenizer().padId())).data().contiguous().toArray();
        }
    }
}
