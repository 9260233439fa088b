package dev.vectorgrad.peft.cli;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.cli.Args;
import dev.vectorgrad.transformer.cli.CliErrors;
import dev.vectorgrad.transformer.cli.SampleCommand;
import dev.vectorgrad.transformer.data.TextSplit;
import dev.vectorgrad.transformer.data.Tokenizer;
import dev.vectorgrad.transformer.train.Trainer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./vectorgrad eval --model DIR [--adapter DIR ...] [--adapter-name N] [--merge] --data TEXT_FILE [--batch B]
 * [--threads N]}: prints {@code loss: X} and {@code perplexity: X}, the mean per-token cross-entropy of the model
 * (with the adapter) over the whole file: its N token ids cut into consecutive, non-overlapping windows of the
 * model's block size T (the last one shorter), each predicting its next tokens from its own context only, so
 * every id but the first is predicted once.
 */
public final class EvalCommand {
    static final String USAGE = "usage: vectorgrad eval --model DIR [--adapter DIR ...] [--adapter-name N] [--merge] --data TEXT_FILE [--batch B] [--threads N]";

    private EvalCommand() {}

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        if (rc != 0) System.exit(rc);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            Args a = Args.parse("eval", args, List.of("--model", "--checkpoint", "--adapter", "--adapter-name", "--data", "--batch", "--threads"),
                    List.of("--help", "--merge"));
            if (a.has("--help")) {
                out.println(USAGE);
                return 0;
            }
            Path dir = SampleCommand.modelDir(a, "eval");
            Path data = Path.of(a.require("--data"));
            if (a.has("--threads")) Parallel.setThreads(Math.max(1, a.intValue("--threads", 1)));
            Gpt model = Trainer.loadModel(dir);
            // windows per forward: by default about 2048 tokens (GPT-2's 1024-token windows: 2 at a time, 400 MB of logits)
            int batch = a.intValue("--batch", Math.max(1, 2048 / model.config().blockSize()));
            if (batch < 1) throw new Args.UsageException("eval: --batch must be >= 1");
            Tokenizer tok = Tokenizer.ofModel(dir);
            List<Path> adapters = a.all("--adapter").stream().map(Path::of).toList();
            if (!adapters.isEmpty()) AdapterFolders.apply(model, adapters, a.get("--adapter-name"), a.has("--merge"));
            int[] ids = tok.encode(TextSplit.readUtf8(data));
            if (ids.length < 2) throw new IllegalArgumentException(data + " holds " + ids.length + " token(s); at least 2 are needed");
            double loss = meanLoss(model, ids, batch);
            out.println(String.format(Locale.ROOT, "loss: %.4f", loss));
            out.println(String.format(Locale.ROOT, "perplexity: %.4f", Math.exp(loss)));
            return 0;
        } catch (Args.UsageException e) {
            err.println(e.getMessage());
            return 2;
        } catch (IllegalArgumentException e) {
            err.println("eval: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("eval: " + CliErrors.describe(e));
            return 1;
        }
    }

    /**
     * Mean cross-entropy per predicted token over consecutive windows of the block size: the full windows go
     * {@code batch} at a time, the shorter last one alone; each window's mean loss is weighted by its length.
     */
    public static double meanLoss(Gpt model, int[] ids, int batch) {
        int t = model.config().blockSize(), targets = ids.length - 1;
        int full = targets / t, rest = targets % t;
        double sum = 0;
        model.train(false);
        try (var g = Grad.disabled()) {
            for (int w = 0; w < full; w += batch) {
                int b = Math.min(batch, full - w);
                sum += windowLoss(model, ids, w * t, b, t) * b * t;
            }
            if (rest > 0) sum += windowLoss(model, ids, full * t, 1, rest) * rest;
        }
        return sum / targets;
    }

    /** The mean loss of {@code rows} consecutive windows of length {@code len} starting at {@code start}. */
    private static double windowLoss(Gpt model, int[] ids, int start, int rows, int len) {
        int[] x = new int[rows * len], y = new int[rows * len];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(ids, start + r * len, x, r * len, len);
            System.arraycopy(ids, start + r * len + 1, y, r * len, len);
        }
        return model.loss(IntTensor.wrap(x, rows, len), IntTensor.wrap(y, rows, len)).item();
    }
}
