package dev.vectorgrad.peft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.cli.SampleCommand;
import dev.vectorgrad.transformer.data.Tokenizer;
import dev.vectorgrad.transformer.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalSampleTest {
    /** Cross-entropy summed in double from the logits, window by window: the definition, without Gpt.loss. */
    static double naiveLoss(Gpt m, int[] ids) {
        int t = m.config().blockSize();
        double sum = 0;
        int n = 0;
        m.train(false);
        try (var g = Grad.disabled()) {
            for (int s = 0; s + 1 < ids.length; s += t) {
                int len = Math.min(t, ids.length - 1 - s);
                int[] x = new int[len];
                System.arraycopy(ids, s, x, 0, len);
                Tensor logits = m.forward(IntTensor.wrap(x, 1, len)).data().contiguous();
                float[] l = logits.toArray();
                int v = m.config().vocabSize();
                for (int i = 0; i < len; i++) {
                    double max = Double.NEGATIVE_INFINITY, z = 0;
                    for (int k = 0; k < v; k++) max = Math.max(max, l[i * v + k]);
                    for (int k = 0; k < v; k++) z += Math.exp(l[i * v + k] - max);
                    sum += Math.log(z) + max - l[i * v + ids[s + i + 1]];
                    n++;
                }
            }
        }
        assertThat(n).isEqualTo(ids.length - 1);
        return sum / n;
    }

    static String[] run(boolean eval, String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(o, true, StandardCharsets.UTF_8), err = new PrintStream(e, true, StandardCharsets.UTF_8);
        int rc = eval ? EvalCommand.run(args, out, err) : SampleCommand.run(args, out, err, AdapterFolders::apply);
        return new String[] {Integer.toString(rc), o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    }

    static double loss(String stdout) {
        String[] lines = stdout.strip().split("\n");
        assertThat(lines).hasSize(2);
        assertThat(lines[0]).matches("loss: \\d+\\.\\d{4}");
        assertThat(lines[1]).matches("perplexity: \\d+\\.\\d{4}");
        double l = Double.parseDouble(lines[0].substring(6));
        assertThat(Double.parseDouble(lines[1].substring(12))).isCloseTo(Math.exp(l), org.assertj.core.data.Offset.offset(1e-3 * Math.exp(l)));
        return l;
    }

    @Test
    void evalIsTheMeanCrossEntropyOverConsecutiveWindowsAndAdaptersSwitch(@TempDir Path tmp) throws Exception {
        Path[] p = FinetuneTest.setUp(tmp);
        String text = Files.readString(p[1]).substring(0, 1000); // 999 targets: 31 windows of 32 and one of 7
        Path data = tmp.resolve("eval.txt");
        Files.writeString(data, text);
        Gpt base = Trainer.loadModel(p[0]);
        int[] ids = Tokenizer.ofModel(p[0]).encode(text);
        double naive = naiveLoss(base, ids);
        assertThat(EvalCommand.meanLoss(base, ids, 8)).isCloseTo(naive, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(EvalCommand.meanLoss(base, ids, 3)).isCloseTo(naive, org.assertj.core.data.Offset.offset(1e-5));

        // two adapters: the loss with --adapter-name b equals b's alone, and differs from a's
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        new Finetune(p[0], Files.readString(p[1]), FinetuneTest.opts("lora", 3)).run(3, a, FinetuneTest.QUIET, false);
        new Finetune(p[0], Files.readString(p[1]), FinetuneTest.opts("vera", 3)).run(3, b, FinetuneTest.QUIET, false);
        String m = p[0].toString(), d = data.toString();
        String[] r = run(true, "--model", m, "--data", d);
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(loss(r[1])).isCloseTo(naive, org.assertj.core.data.Offset.offset(1e-4));
        double onlyA = loss(run(true, "--model", m, "--adapter", a.toString(), "--data", d)[1]);
        double onlyB = loss(run(true, "--model", m, "--adapter", b.toString(), "--data", d)[1]);
        double both = loss(run(true, "--model", m, "--adapter", a.toString(), "--adapter", b.toString(), "--adapter-name", "b", "--data", d)[1]);
        double merged = loss(run(true, "--checkpoint", m, "--adapter", a.toString(), "--adapter", b.toString(), "--adapter-name", "a", "--merge", "--data", d)[1]);
        assertThat(both).isEqualTo(onlyB);
        assertThat(merged).isCloseTo(onlyA, org.assertj.core.data.Offset.offset(2e-4));
        assertThat(onlyA).isNotEqualTo(onlyB);
        r = run(true, "--model", m, "--adapter", a.toString(), "--adapter-name", "c", "--data", d);
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2].strip()).isEqualTo("eval: --adapter-name 'c': no such adapter (loaded: a)");
    }

    @Test
    void sampleTakesModelOrCheckpointAndAnAdapter(@TempDir Path tmp) throws Exception {
        Path[] p = FinetuneTest.setUp(tmp);
        Path a = tmp.resolve("a");
        new Finetune(p[0], Files.readString(p[1]), FinetuneTest.opts("lora", 3)).run(3, a, FinetuneTest.QUIET, false);
        List<String> common = List.of("--prompt", "ROMEO:", "--tokens", "12", "--seed", "3");
        String[] viaModel = run(false, concat(List.of("--model", p[0].toString(), "--adapter", a.toString()), common));
        String[] viaCheckpoint = run(false, concat(List.of("--checkpoint", p[0].toString(), "--adapter", a.toString(), "--merge"), common));
        assertThat(viaModel[0]).as(viaModel[2]).isEqualTo("0");
        assertThat(viaModel[1]).startsWith("ROMEO:").hasSizeGreaterThan("ROMEO:".length() + 12);
        assertThat(viaCheckpoint[1]).isEqualTo(viaModel[1]); // merged or not, the same tokens
        String[] bad = run(false, "--model", p[0].toString(), "--adapter", tmp.resolve("nope").toString());
        assertThat(bad[0]).isEqualTo("2");
        assertThat(bad[2]).contains("no such directory");
    }

    static String[] concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toArray(String[]::new);
    }
}
