package dev.vectorgrad.peft.cli;

import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.transformer.cli.Args;
import dev.vectorgrad.transformer.cli.CliErrors;
import dev.vectorgrad.transformer.data.TextSplit;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./vectorgrad finetune --model DIR --data TEXT_FILE --method METHOD [--r R] [--alpha A] [--targets NAMES]
 * [--target-r R] [--ga-batches N] [--iters N] [--batch B] [--block T] [--lr X] [--grad-accum K] [--eval-interval N]
 * [--eval-iters E] [--seed S] [--threads N] --out DIR [--resume]}: fine-tunes a GPT on a text file with one PEFT
 * method ({@link Finetune}); {@code --target-r} is AdaLoRA's target_r ({@code --r} its init_r), {@code --ga-batches}
 * LoRA-GA's gradient-estimation batches.
 * Bad input (a missing file, an unknown method, a target matching no module, a rank the method cannot use, a text
 * shorter than one block) is one line on stderr, exit code 2, and nothing written.
 */
public final class FinetuneCommand {
    static final String USAGE = "usage: vectorgrad finetune --model DIR --data TEXT_FILE --method METHOD [--r R] [--alpha A] [--targets NAMES]"
            + " [--target-r R (adalora)] [--ga-batches N (lora-ga)] [--iters N] [--batch B] [--block T] [--lr X] [--grad-accum K] [--eval-interval N] [--eval-iters E] [--seed S] [--threads N]"
            + " --out DIR [--resume]   (methods: " + String.join(", ", Finetune.METHODS) + ")";

    private FinetuneCommand() {}

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err, System.console() != null);
        if (rc != 0) System.exit(rc);
    }

    public static int run(String[] args, PrintStream out, PrintStream err, boolean inPlace) {
        Finetune f;
        Path dest;
        int iters;
        try {
            Args a = Args.parse("finetune", args, List.of("--model", "--data", "--method", "--r", "--alpha", "--targets", "--target-r", "--ga-batches", "--iters", "--batch",
                    "--block", "--lr", "--grad-accum", "--eval-interval", "--eval-iters", "--seed", "--threads", "--out"), List.of("--resume", "--help"));
            if (a.has("--help") || args.length == 0) {
                out.println(USAGE);
                return args.length == 0 ? 2 : 0;
            }
            Path model = Path.of(a.require("--model")), data = Path.of(a.require("--data"));
            String method = a.require("--method").toLowerCase(Locale.ROOT);
            dest = Path.of(a.require("--out"));
            if (!Finetune.METHODS.contains(method))
                throw new Args.UsageException("finetune: unknown method '" + method + "' (methods: " + String.join(", ", Finetune.METHODS) + ")");
            if (!Finetune.isAdapter(method))
                for (String flag : List.of("--r", "--alpha", "--targets"))
                    if (a.has(flag)) throw new Args.UsageException("finetune: " + flag + " does not apply to --method " + method + " (it trains the model's own weights)");
            if (!method.equals("adalora") && a.has("--target-r"))
                throw new Args.UsageException("finetune: --target-r is AdaLoRA's target rank; it does not apply to --method " + method);
            if (!method.equals("lora-ga") && a.has("--ga-batches"))
                throw new Args.UsageException("finetune: --ga-batches is LoRA-GA's gradient estimate; it does not apply to --method " + method);
            if (method.equals("vera") && a.has("--alpha")) throw new Args.UsageException("finetune: VeRA has no --alpha (its scale is the trained λ vectors)");
            if (!Files.isRegularFile(data)) throw new Args.UsageException("finetune: --data " + data + ": no such file");
            if (!Files.isDirectory(model)) throw new Args.UsageException("finetune: --model " + model + ": no such directory");
            if (a.has("--threads")) {
                int t = a.intValue("--threads", 1);
                if (t < 1) throw new Args.UsageException("finetune: --threads must be >= 1");
                Parallel.setThreads(t);
            }
            int r = a.intValue("--r", Finetune.defaultR(method));
            if (Finetune.isAdapter(method) && r < 1) throw new Args.UsageException("finetune: --r must be >= 1 for " + method + ", got " + r);
            List<String> targets = new ArrayList<>();
            if (Finetune.isAdapter(method)) {
                if (a.get("--targets") != null) {
                    for (String t : a.get("--targets").split(",")) if (!t.isBlank()) targets.add(t.trim());
                    if (targets.isEmpty()) throw new Args.UsageException("finetune: --targets names no module");
                } else {
                    targets.addAll(Finetune.GPT2_TARGETS);
                }
            }
            double alpha = Finetune.isAdapter(method) && !method.equals("vera") ? a.doubleValue("--alpha", 8) : Double.NaN;
            int block = a.intValue("--block", 0); // 0: min(model's block size, 128), resolved below
            if (block == 0) block = Math.min(128, dev.vectorgrad.transformer.train.Trainer.loadModelConfig(model).blockSize());
            iters = a.intValue("--iters", 200);
            Finetune.Options o = new Finetune.Options(method, Finetune.isAdapter(method) ? r : 0, alpha, targets, iters, a.intValue("--batch", 8),
                    block, a.doubleValue("--lr", Finetune.defaultLr(method)), a.intValue("--grad-accum", 1), a.intValue("--eval-interval", 50),
                    a.intValue("--eval-iters", 10), a.longValue("--seed", 1337));
            if (method.equals("adalora")) {
                int tr = a.intValue("--target-r", Math.min(Finetune.ADALORA_TARGET_R, r));
                if (tr < 0 || tr > r) throw new Args.UsageException("finetune: --target-r " + tr + " must be in [0, --r = " + r + "] (AdaLoRA prunes init_r = --r triplets per layer down to it)");
                o = o.withTargetR(tr);
            }
            if (method.equals("lora-ga")) {
                int n = a.intValue("--ga-batches", Finetune.GA_BATCHES);
                if (n < 1) throw new Args.UsageException("finetune: --ga-batches must be >= 1, got " + n);
                o = o.withGaBatches(n);
            }
            String text = TextSplit.readUtf8(data);
            boolean existing = Finetune.isRun(dest);
            if (a.has("--resume")) {
                if (!existing) throw new Args.UsageException("finetune: --resume: " + dest + " holds no run (no " + Finetune.STATE + ")");
                f = Finetune.resume(model, text, dest, o);
                out.println("resuming " + dest + " at step " + f.step() + " of " + o.iters());
            } else {
                if (Files.exists(dest) && (existing || !isEmptyDir(dest)))
                    throw new Args.UsageException("finetune: --out " + dest + " already exists; add --resume to continue its run, or choose another folder");
                f = new Finetune(model, text, o);
            }
        } catch (Args.UsageException e) {
            err.println(e.getMessage());
            return 2;
        } catch (IllegalArgumentException | IOException e) {
            err.println("finetune: " + CliErrors.describe(e));
            return 2;
        }
        try {
            Finetune.Options o = f.options();
            long total = f.model().numParameters(false);
            out.println(String.format(Locale.ROOT, "finetune %s%s: %,d trainable of %,d parameters (%.3f%%); %,d training / %,d validation tokens; "
                            + "batch %d × %d tokens × %d accumulated; lr %.2e; %d steps; %d threads",
                    o.method(), Finetune.isAdapter(o.method()) ? " r=" + o.r() + (o.method().equals("adalora") ? " target_r=" + o.targetR() : "") + (Double.isNaN(o.alpha()) ? "" : " alpha=" + fmt(o.alpha())) + " on "
                            + String.join(",", o.targets()) : "", f.trainableParameters(), total, 100.0 * f.trainableParameters() / total,
                    f.trainTokens(), f.valTokens(), o.batch(), o.block(), o.gradAccum(), o.lr(), o.iters(), Parallel.threads()));
            out.println("writing " + dest.toAbsolutePath() + " at every evaluation (every " + o.evalInterval() + " steps) and at the end");
            f.run(iters, dest, out, inPlace);
            return 0;
        } catch (Exception e) {
            err.println("finetune: " + CliErrors.describe(e));
            return 1;
        }
    }

    private static String fmt(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }

    private static boolean isEmptyDir(Path p) throws IOException {
        if (!Files.isDirectory(p)) return false;
        try (var s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }
}
