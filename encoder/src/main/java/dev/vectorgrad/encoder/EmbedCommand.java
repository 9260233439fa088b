package dev.vectorgrad.encoder;

import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code vectorgrad embed --inputs LINES.txt --out OUT.safetensors [--batch N] [--threads N] [--max-tokens N]}:
 * the all-MiniLM-L6-v2 embedding of every line of a UTF-8 file (an empty line is embedded too, as [CLS] [SEP]),
 * written atomically as one float32 tensor {@code embeddings} [lines, 384]. {@code --max-tokens} (2..512,
 * default the tokenizer file's 128) truncates each line's ids, [CLS] and [SEP] included. Errors: one line on
 * stderr, exit code 2.
 */
public final class EmbedCommand {
    static final String USAGE = "usage: vectorgrad embed --inputs LINES.txt --out OUT.safetensors [--batch N] [--threads N] [--max-tokens N]";

    private EmbedCommand() {}

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        if (rc != 0) System.exit(rc);
    }

    /** The parsed options; {@code maxTokens} 0 means the tokenizer's own. */
    record Options(Path inputs, Path out, int batch, int threads, int maxTokens) {
        static Options parse(String[] args) {
            Path inputs = null, out = null;
            int batch = MiniLm.DEFAULT_BATCH, threads = 0, maxTokens = 0;
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--help")) return null;
                if (i + 1 >= args.length) throw new IllegalArgumentException(flag + " needs a value");
                String v = args[++i];
                switch (flag) {
                    case "--inputs" -> inputs = Path.of(v);
                    case "--out" -> out = Path.of(v);
                    case "--batch" -> batch = positive(flag, v, 1 << 16);
                    case "--threads" -> threads = positive(flag, v, 1024);
                    case "--max-tokens" -> {
                        maxTokens = positive(flag, v, 512);
                        if (maxTokens < 2) throw new IllegalArgumentException("--max-tokens must be in [2, 512], got " + v);
                    }
                    default -> throw new IllegalArgumentException("unknown argument '" + flag + "'");
                }
            }
            if (inputs == null) throw new IllegalArgumentException("--inputs is required");
            if (out == null) throw new IllegalArgumentException("--out is required");
            return new Options(inputs, out, batch, threads, maxTokens);
        }

        static int positive(String flag, String v, int max) {
            int n;
            try {
                n = Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(flag + " must be an integer, got '" + v + "'");
            }
            if (n < 1 || n > max) throw new IllegalArgumentException(flag + " must be in [1, " + max + "], got " + n);
            return n;
        }
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = Options.parse(args);
            if (o == null) {
                out.println(USAGE);
                return 0;
            }
        } catch (IllegalArgumentException e) {
            err.println("embed: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        try {
            if (!Files.isRegularFile(o.inputs())) throw new NoSuchFileException(o.inputs().toString());
            List<String> lines = Files.readAllLines(o.inputs(), StandardCharsets.UTF_8);
            if (o.threads() > 0) Parallel.setThreads(o.threads());
            MiniLm model = model(o);
            long t0 = System.nanoTime();
            float[][] e = model.embed(lines);
            double s = (System.nanoTime() - t0) / 1e9;
            int dim = model.dimension();
            float[] flat = new float[lines.size() * dim];
            for (int i = 0; i < e.length; i++) System.arraycopy(e[i], 0, flat, i * dim, dim);
            Safetensors.write(o.out(), Map.of("embeddings", Tensor.wrap(flat, lines.size(), dim)), Map.of(),
                    Map.of("model", "all-MiniLM-L6-v2", "max_tokens", Integer.toString(model.maxTokens())));
            err.printf(Locale.ROOT, "embed: %d lines -> %s [%d, %d] in %.2f s (%.1f lines/s, %d threads, batch %d)%n", lines.size(), o.out(),
                    lines.size(), dim, s, lines.size() / Math.max(s, 1e-9), Parallel.threads(), o.batch());
            return 0;
        } catch (CharacterCodingException e) {
            err.println("embed: " + o.inputs() + " is not valid UTF-8");
            return 2;
        } catch (NoSuchFileException e) {
            err.println("embed: no such file: " + e.getFile());
            return 2;
        } catch (IOException | IllegalArgumentException e) {
            err.println("embed: " + e.getMessage());
            return 2;
        }
    }

    /** The model with the options' batch and truncation. */
    static MiniLm model(Options o) {
        MiniLm m = MiniLm.load().withBatch(o.batch());
        return o.maxTokens() > 0 ? m.withMaxTokens(o.maxTokens()) : m;
    }
}
