package dev.vectorgrad.transformer.cli;

import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.data.CharTokenizer;
import dev.vectorgrad.transformer.data.EmbeddedCorpus;
import dev.vectorgrad.transformer.data.TextSplit;
import dev.vectorgrad.transformer.data.Tokenizer;
import dev.vectorgrad.transformer.train.Trainer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code vectorgrad train [--corpus FILE] [--tokenizer DIR] [--preset baby] [--n-embd C] [--layers L] [--heads H]
 * [--block T] [--batch B] [--iters N] [--eval-interval K] [--eval-iters E] [--log-interval L] [--threads T] [--seed S]
 * [--out DIR] [--resume DIR]}: trains a GPT (nanoGPT's recipe) and writes a checkpoint (with the loss plot) to
 * {@code --out} (default {@code out-gpt}). Without {@code --corpus}, the English part of the embedded Europarl
 * corpus. Without {@code --tokenizer}, character-level (the corpus's characters); with it, the tokenizer of that
 * model folder (GPT-2's byte-level BPE from {@code vocab.json} + {@code merges.txt} or {@code tokenizer.json}, or a
 * vectorgrad checkpoint's), whose files the checkpoint then carries. {@code --n-embd}, {@code --layers},
 * {@code --heads}, {@code --block} override the preset's shape, {@code --batch} its batch size (a fresh run only).
 */
public final class TrainCommand {
    static final String USAGE = "usage: vectorgrad train [--corpus FILE] [--tokenizer DIR] [--preset baby] [--n-embd C] [--layers L] [--heads H]"
            + " [--block T] [--batch B] [--iters N] [--eval-interval K] [--eval-iters E] [--log-interval L] [--threads T] [--seed S]"
            + " [--out DIR] [--resume DIR]";
    private static final List<String> SHAPE = List.of("--tokenizer", "--preset", "--n-embd", "--layers", "--heads", "--block", "--batch");

    private TrainCommand() {}

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err, System.console() != null);
        if (rc != 0) System.exit(rc);
    }

    public static int run(String[] args, PrintStream out, PrintStream err, boolean inPlace) {
        try {
            Args a = Args.parse("train", args, List.of("--corpus", "--tokenizer", "--preset", "--n-embd", "--layers", "--heads", "--block", "--batch",
                    "--iters", "--eval-interval", "--eval-iters", "--log-interval", "--threads", "--seed", "--out", "--resume"), List.of("--help"));
            if (a.has("--help")) {
                out.println(USAGE);
                return 0;
            }
            if (a.has("--threads")) {
                int t = a.intValue("--threads", 1);
                if (t < 1) throw new Args.UsageException("train: --threads must be >= 1");
                Parallel.setThreads(t);
            }
            int iters = a.intValue("--iters", 2000);
            if (iters < 0) throw new Args.UsageException("train: --iters must be >= 0");
            String text = a.get("--corpus") != null ? TextSplit.readUtf8(Path.of(a.get("--corpus"))) : EmbeddedCorpus.language("en");
            String source = a.get("--corpus") != null ? a.get("--corpus") : "embedded Europarl (en)";
            Path outDir = Path.of(a.get("--out") != null ? a.get("--out") : a.get("--resume") != null ? a.get("--resume") : "out-gpt");
            Trainer trainer;
            if (a.get("--resume") != null) {
                for (String f : SHAPE)
                    if (a.has(f)) throw new Args.UsageException("train: " + f + " cannot be combined with --resume (the checkpoint keeps its own)");
                Path from = Path.of(a.get("--resume"));
                Trainer.Options o = Trainer.readOptions(from);
                o = override(a, o);
                trainer = Trainer.resume(from, text, o);
                out.println("resuming " + from + " at iteration " + trainer.iter() + " on " + source);
            } else {
                Trainer.Options o = override(a, Trainer.Options.baby());
                if (a.has("--batch")) o = o.withBatch(a.intValue("--batch", o.batchSize()));
                Tokenizer tok = a.get("--tokenizer") != null ? Tokenizer.ofModel(Path.of(a.get("--tokenizer"))) : CharTokenizer.fit(text);
                GptConfig p = GptConfig.preset(a.get("--preset") != null ? a.get("--preset") : "baby", tok.vocabSize());
                GptConfig cfg = new GptConfig(p.vocabSize(), a.intValue("--block", p.blockSize()), a.intValue("--layers", p.layers()),
                        a.intValue("--heads", p.heads()), a.intValue("--n-embd", p.nEmbd()), p.dropout(), p.bias(), p.activation(), p.layerNormEps());
                trainer = Trainer.create(cfg, tok, text, o);
                out.println(String.format(Locale.ROOT, "training %,d parameters (%d layers, %d heads, n_embd %d, block %d, vocab %d) on %s, %d threads",
                        trainer.model().numParameters(false), cfg.layers(), cfg.heads(), cfg.nEmbd(), cfg.blockSize(), cfg.vocabSize(), source,
                        Parallel.threads()) + (a.get("--tokenizer") != null ? ", tokenizer " + tok + " from " + a.get("--tokenizer") : ""));
            }
            trainer.run(iters, out, outDir, inPlace);
            out.println("checkpoint: " + outDir.toAbsolutePath());
            return 0;
        } catch (Args.UsageException e) {
            err.println(e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (Exception e) {
            err.println("train: " + CliErrors.describe(e));
            return 1;
        }
    }

    private static Trainer.Options override(Args a, Trainer.Options o) {
        if (a.has("--seed")) o = o.withSeed(a.longValue("--seed", o.seed()));
        if (a.has("--eval-interval") || a.has("--eval-iters"))
            o = o.withEval(a.intValue("--eval-interval", o.evalInterval()), a.intValue("--eval-iters", o.evalIters()));
        if (a.has("--log-interval")) o = o.withLog(a.intValue("--log-interval", o.logInterval()));
        return o;
    }
}
