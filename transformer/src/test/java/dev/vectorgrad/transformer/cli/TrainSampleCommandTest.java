package dev.vectorgrad.transformer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train} then {@code sample} end to end (baby preset, a few iterations). */
class TrainSampleCommandTest {
    @Test
    void trainsResumesAndSamples(@TempDir Path tmp) throws Exception {
        Path corpus = tmp.resolve("c.txt");
        Files.writeString(corpus, "To be, or not to be, that is the question.\n".repeat(40));
        Path ck = tmp.resolve("ck");
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int rc = TrainCommand.run(new String[] {"--corpus", corpus.toString(), "--iters", "4", "--eval-interval", "2", "--eval-iters", "1",
                "--log-interval", "2", "--threads", "2", "--seed", "3", "--out", ck.toString()}, new PrintStream(o), new PrintStream(e), false);
        assertThat(rc).as(e.toString()).isZero();
        String log = o.toString();
        assertThat(log).contains("iter 2/4 | loss", "val loss: ");
        assertThat(log.lines().filter(l -> l.startsWith("median step ms: "))).hasSize(1);
        assertThat(ck.resolve("loss.png")).exists();
        assertThat(ck.resolve("tokenizer.json")).exists();

        o.reset();
        rc = TrainCommand.run(new String[] {"--corpus", corpus.toString(), "--iters", "6", "--eval-interval", "0", "--resume", ck.toString()},
                new PrintStream(o), new PrintStream(e), false);
        assertThat(rc).as(e.toString()).isZero();
        assertThat(o.toString()).contains("resuming", "at iteration 4").doesNotContain("val loss");

        o.reset();
        rc = SampleCommand.run(new String[] {"--checkpoint", ck.toString(), "--prompt", "To be", "--tokens", "30", "--top-k", "5", "--seed", "1"},
                new PrintStream(o), new PrintStream(e));
        assertThat(rc).as(e.toString()).isZero();
        assertThat(o.toString()).startsWith("To be").hasSizeGreaterThanOrEqualTo(35);
        assertThat(e.toString()).contains("tokens/s");
    }

    @Test
    void unknownOptionIsAUsageError() {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        assertThat(TrainCommand.run(new String[] {"--bogus"}, new PrintStream(new ByteArrayOutputStream()), new PrintStream(e), false)).isEqualTo(2);
        assertThat(e.toString()).contains("unknown argument '--bogus'");
    }
    @Test
    void missingFilesAreNamed(@TempDir Path tmp) {
        Path corpus = tmp.resolve("no-such-corpus.txt"), ck = tmp.resolve("no-such-checkpoint");
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        assertThat(TrainCommand.run(new String[] {"--corpus", corpus.toString(), "--iters", "1"},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(e), false)).isEqualTo(1);
        assertThat(e.toString().strip()).isEqualTo("train: no such file: " + corpus);
        e.reset();
        assertThat(SampleCommand.run(new String[] {"--checkpoint", ck.toString()}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(e))).isEqualTo(1);
        assertThat(e.toString().strip()).isEqualTo("sample: no such file: " + ck.resolve("config.json"));
        e.reset();
        assertThat(LogitsCommand.run(new String[] {"--model", LogitsCommandTest.fixture().resolve("model").toString(),
                "--inputs", tmp.resolve("no-such-inputs.safetensors").toString(), "--out", tmp.resolve("o.safetensors").toString()},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(e))).isEqualTo(1);
        assertThat(e.toString().strip()).isEqualTo("logits: no such file: " + tmp.resolve("no-such-inputs.safetensors"));
    }
}
