package dev.vectorgrad.transformer.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.data.CharTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    static final String TEXT = "the quick brown fox jumps over the lazy dog. ".repeat(60);

    static Trainer.Options opts() {
        return Trainer.Options.baby().withBatch(4).withSchedule(3e-3, 3e-4, 5, 60).withEval(10, 2).withLog(5).withSeed(42);
    }

    static GptConfig cfg(int vocab, double dropout) {
        return new GptConfig(vocab, 16, 2, 2, 16, dropout, false, GptConfig.Activation.GELU, 1e-5);
    }

    @Test
    void resumeGivesTheSameLossCurve(@TempDir Path tmp) throws Exception {
        CharTokenizer tok = CharTokenizer.fit(TEXT);
        GptConfig c = cfg(tok.vocabSize(), 0.1); // dropout on: its generator state must survive the checkpoint too
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Trainer a = Trainer.create(c, tok, TEXT, opts());
        a.run(24, quiet, null, false);

        Trainer b = Trainer.create(c, tok, TEXT, opts());
        b.run(12, quiet, tmp.resolve("ckpt"), false);
        assertThat(tmp.resolve("ckpt/loss.png")).exists();
        assertThat(tmp.resolve("ckpt/model.safetensors")).exists();
        Trainer r = Trainer.resume(tmp.resolve("ckpt"), TEXT, null);
        assertThat(r.iter()).isEqualTo(12);
        r.run(24, quiet, tmp.resolve("ckpt"), false);
        assertThat(r.trainLosses()).hasSize(24).containsExactlyElementsOf(a.trainLosses());
        assertThat(r.valLosses().get(r.valLosses().size() - 1)).isEqualTo(a.valLosses().get(a.valLosses().size() - 1));
        try (var s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("ckpt"); // no temp dirs left behind
        }
    }

    @Test
    void learnsARepeatedText() throws Exception {
        CharTokenizer tok = CharTokenizer.fit(TEXT);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        GptConfig c = new GptConfig(tok.vocabSize(), 32, 2, 2, 32, 0, false, GptConfig.Activation.GELU, 1e-5);
        Trainer.Options o = opts().withBatch(8).withSchedule(1e-2, 1e-3, 20, 200).withEval(50, 4).withLog(25);
        Trainer t = Trainer.create(c, tok, TEXT, o);
        Trainer.Result res = t.run(200, new PrintStream(buf), null, false);
        double lnV = Math.log(tok.vocabSize());
        assertThat(res.valLoss()).isLessThan(0.3 * lnV);
        List<String> lines = buf.toString().lines().toList();
        assertThat(lines.get(lines.size() - 1)).startsWith("median step ms: ");
        assertThat(lines).anyMatch(l -> l.startsWith("val loss: ")).anyMatch(l -> l.startsWith("iter  25/200 | loss"));
    }

    @Test
    void optimizerFileHoldsBothMomentsOfEveryParameterAndTheStep(@TempDir Path tmp) throws Exception {
        CharTokenizer tok = CharTokenizer.fit(TEXT);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Trainer t = Trainer.create(cfg(tok.vocabSize(), 0), tok, TEXT, opts());
        t.run(0, quiet, tmp.resolve("at0"), false); // before any step the optimiser has no state: zeros are written
        t.run(3, quiet, tmp.resolve("at3"), false);
        for (String dir : List.of("at0", "at3")) {
            try (SafetensorsFile f = Safetensors.read(tmp.resolve(dir).resolve(Trainer.OPTIM))) {
                List<String> expected = new ArrayList<>();
                t.model().namedParameters().forEach((n, p) -> {
                    expected.add("exp_avg." + n);
                    expected.add("exp_avg_sq." + n);
                });
                assertThat(f.names()).containsExactlyInAnyOrderElementsOf(expected);
                assertThat(f.metadata()).containsEntry("step", dir.equals("at0") ? "0" : "3").hasSize(1);
                float[] m = f.tensor("exp_avg.transformer.h.0.attn.c_attn.weight").toArray();
                if (dir.equals("at0")) assertThat(m).containsOnly(0f);
                else assertThat(m).doesNotContain(Float.NaN).isNotEqualTo(new float[m.length]);
            }
        }
        // a run resumed from the state-less checkpoint is the uninterrupted one
        Trainer r = Trainer.resume(tmp.resolve("at0"), TEXT, null);
        r.run(3, quiet, null, false);
        assertThat(r.trainLosses()).containsExactlyElementsOf(t.trainLosses());
    }

    @Test
    void aBadStepCountInTheOptimizerFileIsNamed(@TempDir Path tmp) throws Exception {
        CharTokenizer tok = CharTokenizer.fit(TEXT);
        Trainer t = Trainer.create(cfg(tok.vocabSize(), 0), tok, TEXT, opts());
        t.run(2, new PrintStream(new ByteArrayOutputStream()), tmp.resolve("ckpt"), false);
        Path optim = tmp.resolve("ckpt").resolve(Trainer.OPTIM);
        java.util.Map<String, dev.vectorgrad.tensor.Tensor> moments = Safetensors.readAll(optim);
        for (String step : new String[] {null, "two"}) {
            Safetensors.Writer w = Safetensors.writer();
            moments.forEach(w::put);
            if (step != null) w.metadata("step", step);
            w.write(optim);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Trainer.resume(tmp.resolve("ckpt"), TEXT, null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(optim.toString()).hasMessageContaining("'step'")
                    .hasMessageContaining(step == null ? "missing" : "'two'");
        }
    }

    @Test
    void aParameterThatSkippedStepsKeepsItsOwnStepCountThroughACheckpoint(@TempDir Path tmp) throws Exception {
        // the position embedding is frozen for the first 4 steps, so its Adam step count (bias correction) trails
        // the others' by 4; a resumed run must restore that, not the common count
        CharTokenizer tok = CharTokenizer.fit(TEXT);
        GptConfig c = cfg(tok.vocabSize(), 0);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        String wpe = "transformer.wpe.weight";
        Trainer a = Trainer.create(c, tok, TEXT, opts());
        a.model().namedParameters().get(wpe).requiresGrad(false);
        a.run(4, quiet, null, false);
        a.model().namedParameters().get(wpe).requiresGrad(true);
        a.run(16, quiet, null, false);

        Trainer b = Trainer.create(c, tok, TEXT, opts());
        b.model().namedParameters().get(wpe).requiresGrad(false);
        b.run(4, quiet, null, false);
        b.model().namedParameters().get(wpe).requiresGrad(true);
        b.run(8, quiet, tmp.resolve("ckpt"), false);
        try (SafetensorsFile f = Safetensors.read(tmp.resolve("ckpt").resolve(Trainer.OPTIM))) {
            assertThat(f.metadata()).containsEntry("step", "8").containsEntry("step." + wpe, "4").hasSize(2);
        }
        Trainer r = Trainer.resume(tmp.resolve("ckpt"), TEXT, null);
        r.run(16, quiet, null, false);
        assertThat(r.trainLosses()).hasSize(16).containsExactlyElementsOf(a.trainLosses());
    }
}
