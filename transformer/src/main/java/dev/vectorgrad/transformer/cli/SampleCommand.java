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
 * {@code vectorgrad sample --model DIR [--adapter DIR ...] [--adapter-name N] [--merge] [--prompt TEXT] [--tokens N]
 * [--temperature T] [--top-k K] [--top-p P] [--seed S]}: streams text generated with the KV cache from a checkpoint
 * written by {@code train} or a Hugging Face GPT-2 folder ({@code --checkpoint DIR} is another name for
 * {@code --model}), decoded with that folder's tokenizer. Adapters are applied by the {@link Adapters} the launcher
 * passes in (the peft module's; this module cannot import it).
 */
public final class SampleCommand {
    static final String USAGE = "usage: vectorgrad sample --model DIR [--adapter DIR ...] [--adapter-name N] [--merge] [--prompt TEXT] [--tokens N]"
            + " [--temperature T] [--top-k K] [--top-p P] [--seed S]   (--checkpoint DIR: same as --model)";

    /** Applies {@code --adapter} folders to a model: all loaded, {@code name} (or the first) active, merged if asked. */
    @FunctionalInterface
    public interface Adapters {
        void apply(Gpt model, List<Path> dirs, String name, boolean merge) throws java.io.IOException;
    }

    private SampleCommand() {}

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err, null);
        if (rc != 0) System.exit(rc);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, null);
    }

    /** The model folder of {@code --model} or its older name {@code --checkpoint}. */
    public static Path modelDir(Args a, String command) {
        if (a.get("--model") != null && a.get("--checkpoint") != null)
            throw new Args.UsageException(command + ": give --model or --checkpoint (the same thing), not both");
        String d = a.get("--model") != null ? a.get("--model") : a.get("--checkpoint");
        if (d == null) throw new Args.UsageException(command + ": --model is required");
        return Path.of(d);
    }

    public static int run(String[] args, PrintStream out, PrintStream err, Adapters adapters) {
        try {
            Args a = Args.parse("sample", args, List.of("--model", "--checkpoint", "--adapter", "--adapter-name", "--prompt", "--tokens", "--temperature",
                    "--top-k", "--top-p", "--seed"), List.of("--help", "--merge"));
            if (a.has("--help")) {
                out.println(USAGE);
                return 0;
            }
            Path dir = modelDir(a, "sample");
            Gpt model = Trainer.loadModel(dir);
            Tokenizer tok = Tokenizer.ofModel(dir);  // the checkpoint's (char, byte or BPE), or a GPT-2 folder's vocab.json + merges.txt
            List<Path> dirs = a.all("--adapter").stream().map(Path::of).toList();
            if (dirs.isEmpty() && (a.has("--adapter-name") || a.has("--merge")))
                throw new Args.UsageException("sample: --adapter-name and --merge need an --adapter");
            if (!dirs.isEmpty()) {
                if (adapters == null) throw new Args.UsageException("sample: --adapter needs the peft module (run it through ./vectorgrad)");
                adapters.apply(model, dirs, a.get("--adapter-name"), a.has("--merge"));
                model.train(false);
            }
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
