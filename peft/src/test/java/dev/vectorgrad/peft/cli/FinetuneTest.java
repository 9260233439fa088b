package dev.vectorgrad.peft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.peft.Methods;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.testdata.TestData;
import dev.vectorgrad.testdata.Tolerance;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.data.CharTokenizer;
import dev.vectorgrad.transformer.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code finetune} on a GPT-2-shaped model: testdata's {@code gpt2-small-base} (a Hugging Face folder, vocab 65,
 * 32 positions) with the character tokenizer of Tiny Shakespeare (its 65 characters) beside it.
 */
class FinetuneTest {
    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    /** The base model folder and a text file. */
    static Path[] setUp(Path tmp) throws IOException {
        Path base = tmp.resolve("base");
        Files.createDirectories(base);
        for (String f : List.of("config.json", "model.safetensors"))
            Files.copy(TestData.hf("gpt2-small-base/model/" + f), base.resolve(f));
        String shakespeare = Files.readString(TestData.file("tinyshakespeare/tinyshakespeare.txt"));
        CharTokenizer.fit(shakespeare).save(base.resolve("tokenizer.json"));
        Path data = tmp.resolve("data.txt");
        Files.writeString(data, shakespeare.substring(0, 20_000));
        return new Path[] {base, data};
    }

    static Finetune.Options opts(String method, int iters) {
        boolean a = Finetune.isAdapter(method);
        int r = method.equals("vera") ? 16 : a ? 4 : 0;
        return new Finetune.Options(method, r, a && !method.equals("vera") ? 8 : Double.NaN, a ? List.of("c_attn", "c_fc") : List.of(), iters, 2, 16,
                Finetune.defaultLr(method), 1, 2, 2, 7);
    }

    static Tensor logits(Module m, IntTensor x) {
        m.train(false);
        try (var g = Grad.disabled()) {
            return ((Gpt) m).forward(x).data().copy();
        }
    }

    @Test
    void everyMethodWritesWhatReproducesTheTunedModelOnTheBase(@TempDir Path tmp) throws Exception {
        Path[] p = setUp(tmp);
        String text = Files.readString(p[1]);
        IntTensor x = IntTensor.wrap(new int[] {1, 20, 30, 40, 50, 2, 7, 9, 11, 13, 60, 0, 5, 44, 33, 21}, 1, 16);
        for (String method : Finetune.METHODS) {
            Path out = tmp.resolve(method);
            Finetune f = new Finetune(p[0], text, opts(method, 2));
            f.run(2, out, QUIET, false);
            assertThat(out.resolve(Finetune.OPTIM)).as(method).exists();
            assertThat(out.resolve(Finetune.PLOT)).as(method).exists();
            Tensor tuned = logits(f.model(), x);
            Gpt fresh = Trainer.loadModel(p[0]);
            Tensor base = logits(fresh, x);
            Module reloaded;
            switch (method) {
                case "full" -> reloaded = Trainer.loadModel(out);
                case "bitfit" -> {
                    Methods.loadTrained(fresh, out.resolve(Finetune.BITFIT_FILE));
                    reloaded = fresh;
                }
                default -> reloaded = PeftFiles.load(fresh, out).model(); // PiSSA / MiLoRA: the converted LoRA on the original base
            }
            Tensor again = logits(reloaded, x);
            assertThat(Tolerance.relErr(base, tuned)).as(method + ": training changed the model").isGreaterThan(1e-6);
            assertThat(Tolerance.relErr(again, tuned)).as(method + ": the files reproduce the tuned model").isLessThan(2e-5);
        }
    }

    @Test
    void aResumedRunWritesBitIdenticalWeights(@TempDir Path tmp) throws Exception {
        Path[] p = setUp(tmp);
        String text = Files.readString(p[1]);
        for (String method : List.of("lora", "vera", "pissa", "lora-fa")) {
            Finetune.Options o = opts(method, 6).withEvalInterval(3);
            Path whole = tmp.resolve(method + "-whole"), parts = tmp.resolve(method + "-parts");
            new Finetune(p[0], text, o).run(6, whole, QUIET, false);
            new Finetune(p[0], text, o).run(3, parts, QUIET, false); // stopped at step 3 (as if killed after its checkpoint)
            Finetune r = Finetune.resume(p[0], text, parts, o);
            assertThat(r.step()).isEqualTo(3);
            r.run(6, parts, QUIET, false);
            for (String file : List.of(PeftFiles.WEIGHTS, Finetune.TRAINABLE, Finetune.OPTIM))
                assertThat(Files.readAllBytes(parts.resolve(file))).as(method + " " + file).isEqualTo(Files.readAllBytes(whole.resolve(file)));
            // and the check can fail: a run stopped at 3 differs from one at 6
            assertThat(Files.readAllBytes(tmp.resolve(method + "-whole").resolve(Finetune.TRAINABLE))).isNotEqualTo(
                    readAfter(p, text, o, tmp.resolve(method + "-three")));
        }
    }

    private static byte[] readAfter(Path[] p, String text, Finetune.Options o, Path out) throws IOException {
        new Finetune(p[0], text, o).run(3, out, QUIET, false);
        return Files.readAllBytes(out.resolve(Finetune.TRAINABLE));
    }

    /** Runs the command; returns {rc, stdout, stderr}. */
    static String[] cli(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int rc = FinetuneCommand.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8), false);
        return new String[] {Integer.toString(rc), o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    }

    /** §4 end to end, through the commands only: fine-tune with LoRA and VeRA, stop, resume, sample through the adapter. */
    @Test
    void theCommandsFinetuneResumeAndSample(@TempDir Path tmp) throws Exception {
        Path[] p = setUp(tmp);
        for (String method : List.of("lora", "vera")) {
            String out = tmp.resolve(method).toString();
            List<String> args = List.of("--model", p[0].toString(), "--data", p[1].toString(), "--method", method, "--batch", "2", "--block", "16",
                    "--eval-interval", "1", "--eval-iters", "1", "--out", out);
            String[] r = cli(with(args, "--iters", "2"));
            assertThat(r[0]).as(r[2]).isEqualTo("0");
            String[] lines = r[1].strip().split("\n");
            assertThat(lines[lines.length - 1]).matches("val loss: \\d+\\.\\d{4}");
            assertThat(r[1]).contains("iter 2/2 | loss ");
            assertThat(tmp.resolve(method + "/adapter_config.json")).exists();
            r = cli(with(args, "--iters", "2")); // again without --resume: refused, the run is kept
            assertThat(r[0]).isEqualTo("2");
            assertThat(r[2]).contains("already exists; add --resume");
            r = cli(with(args, "--iters", "3", "--resume"));
            assertThat(r[0]).as(r[2]).isEqualTo("0");
            assertThat(r[1]).startsWith("resuming ").contains("at step 2 of 3").contains("iter 3/3");
            r = cli(with(args, "--iters", "3", "--resume", "--seed", "8")); // a different recipe is refused
            assertThat(r[0]).isEqualTo("2");
            assertThat(r[2]).contains("--seed 1337 vs 8"); // 1337: the default
            List<String> otherText = new ArrayList<>(args);
            otherText.set(3, tmp.resolve("short.txt").toString());
            Files.writeString(tmp.resolve("short.txt"), Files.readString(p[1]).substring(0, 5000));
            r = cli(with(otherText, "--iters", "3", "--resume"));
            assertThat(r[0]).isEqualTo("2");
            assertThat(r[2]).contains("not the same text");
            String[] s = EvalSampleTest.run(false, "--model", p[0].toString(), "--adapter", out, "--prompt", "KING", "--tokens", "8");
            assertThat(s[0]).as(s[2]).isEqualTo("0");
            assertThat(s[1]).startsWith("KING").hasSizeGreaterThan(4 + 8);
        }
    }

    /** {@code --targets c_attn.q,c_attn.v}: the W_q and W_v blocks of the fused c_attn, through the command and the API. */
    @Test
    void outputSlicesOfCAttnAreTargetsOfFinetune(@TempDir Path tmp) throws Exception {
        Path[] p = setUp(tmp);
        String text = Files.readString(p[1]);
        IntTensor x = IntTensor.wrap(new int[] {1, 20, 30, 40, 50, 2, 7, 9, 11, 13, 60, 0, 5, 44, 33, 21}, 1, 16);
        for (String method : List.of("lora", "vera")) {
            Finetune.Options o = opts(method, 2);
            o = new Finetune.Options(method, o.r(), o.alpha(), List.of("c_attn.q", "c_attn.v"), 2, 2, 16, o.lr(), 1, 2, 2, 7);
            Path out = tmp.resolve(method);
            Finetune f = new Finetune(p[0], text, o);
            f.run(2, out, QUIET, false);
            Tensor tuned = logits(f.model(), x);
            assertThat(f.peftModel().targets("default")).contains("transformer.h.0.attn.c_attn.q", "transformer.h.0.attn.c_attn.v");
            Gpt fresh = Trainer.loadModel(p[0]);
            assertThat(Tolerance.relErr(logits(fresh, x), tuned)).as(method + ": training changed the model").isGreaterThan(1e-6);
            Tensor again = logits(PeftFiles.load(fresh, out).model(), x);
            assertThat(Tolerance.relErr(again, tuned)).as(method + ": the files reproduce the tuned model").isLessThan(2e-5);
        }
        String[] r = cli("--model", p[0].toString(), "--data", p[1].toString(), "--method", "lora", "--targets", "c_attn.q,c_attn.v", "--r", "2",
                "--batch", "2", "--block", "16", "--iters", "1", "--eval-interval", "1", "--eval-iters", "1", "--out", tmp.resolve("cli").toString());
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(Files.readString(tmp.resolve("cli/adapter_config.json"))).contains("\"c_attn.q\"", "\"c_attn.v\"", PeftFiles.OUTPUT_SLICES);
    }

    static String[] with(List<String> a, String... more) {
        List<String> l = new ArrayList<>(a);
        l.addAll(List.of(more));
        return l.toArray(String[]::new);
    }

    @Test
    void badInputIsOneLineExitTwoAndNothingWritten(@TempDir Path tmp) throws Exception {
        Path[] p = setUp(tmp);
        Path shortText = tmp.resolve("short.txt");
        Files.writeString(shortText, "To be, or not to be: that is the question.");
        String m = p[0].toString(), d = p[1].toString();
        List<String[]> cases = new ArrayList<>();
        cases.add(new String[] {"no such file", "--model", m, "--data", tmp.resolve("missing.txt").toString(), "--method", "lora"});
        cases.add(new String[] {"no such directory", "--model", tmp.resolve("nomodel").toString(), "--data", d, "--method", "lora"});
        cases.add(new String[] {"unknown method 'dora2'", "--model", m, "--data", d, "--method", "dora2"});
        cases.add(new String[] {"target module 'q_proj' not found", "--model", m, "--data", d, "--method", "lora", "--targets", "q_proj"});
        cases.add(new String[] {"unknown output slice 'x' of module 'transformer.h.0.attn.c_attn'", "--model", m, "--data", d, "--method", "lora", "--targets", "c_attn.x"});
        cases.add(new String[] {"DoRA cannot adapt a slice", "--model", m, "--data", d, "--method", "dora", "--targets", "c_attn.q"});
        cases.add(new String[] {"r = 64 exceeds the rank bound 32", "--model", m, "--data", d, "--method", "pissa", "--r", "64"});
        cases.add(new String[] {"--r must be >= 1", "--model", m, "--data", d, "--method", "vera", "--r", "0"});
        cases.add(new String[] {"--r does not apply to --method bitfit", "--model", m, "--data", d, "--method", "bitfit", "--r", "4"});
        cases.add(new String[] {"the text is too short", "--model", m, "--data", shortText.toString(), "--method", "lora", "--block", "16"});
        for (String[] c : cases) {
            Path out = tmp.resolve("out");
            List<String> args = new ArrayList<>(List.of(c).subList(1, c.length));
            args.addAll(List.of("--out", out.toString(), "--block", "16", "--iters", "1"));
            String[] r = cli(args.toArray(String[]::new));
            assertThat(r[0]).as(c[0] + ": " + r[2]).isEqualTo("2");
            assertThat(r[2]).as(c[0]).contains(c[0]).startsWith("finetune: ");
            assertThat(r[2].strip().lines().count()).as(c[0] + ": one line").isEqualTo(1);
            assertThat(out).as(c[0] + ": nothing written").doesNotExist();
        }
    }
}
