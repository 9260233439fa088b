package dev.vectorgrad.transformer.cli;

import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.Sampler;
import dev.vectorgrad.transformer.data.Tokenizer;
import dev.vectorgrad.transformer.data.Utf8Stream;
import dev.vectorgrad.transformer.train.Trainer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code vectorgrad sample --checkpoint DIR [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]}:
 * streams text generated with the KV cache from a checkpoint written by {@code train}.
 */
public final class SampleCommand {
    static final String USAGE = "usage: vectorgrad sample --checkpoint DIR [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]";

    private SampleCommand() {}

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        if (rc != 0) System.exit(rc);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            Args a = Args.parse("sample", args, List.of("--checkpoint", "--prompt", "--tokens", "--temperature", "--top-k", "--top-p", "--seed"),
                    List.of("--help"));
            if (a.has("--help")) {
                out.println(USAGE);
                return 0;
            }
            Path dir = Path.of(a.require("--checkpoint"));
            Gpt model = Trainer.loadModel(dir);
            Tokenizer tok = Tokenizer.ofModel(dir);  // the checkpoint's (char, byte or BPE), or a GPT-2 folder's vocab.json + merges.txt
            String prompt = a.get("--prompt") != null ? a.get("--prompt") : "\n";
            int[] ids = tok.encode(prompt);
            if (ids.length == 0) throw new Args.UsageException("sample: the prompt encodes to no tokens");
            int n = a.intValue("--tokens", 500);
            Sampler.Options o = new Sampler.Options(a.doubleValue("--temperature", 0.8), a.intValue("--top-k", 0), a.doubleValue("--top-p", 1.0),
                    a.longValue("--seed", 1337));
            out.print(prompt);
            long t0 = System.nanoTime();
            Utf8Stream text = new Utf8Stream(tok);  // a character split across BPE tokens is printed once complete
            int[] got = Sampler.generate(model, ids, n, o, id -> {
                out.print(text.next(id));
                out.flush();
            });
            out.print(text.finish());
            double s = (System.nanoTime() - t0) / 1e9;
            out.println();
            err.println(String.format(java.util.Locale.ROOT, "%d tokens in %.2f s (%.1f tokens/s)", got.length, s, got.length / s));
            return 0;
        } catch (Args.UsageException e) {
            err.println(e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (IllegalArgumentException e) {
            err.println("sample: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("sample: " + CliErrors.describe(e));
            return 1;
        }
    }
}
