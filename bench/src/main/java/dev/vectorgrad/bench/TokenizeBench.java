package dev.vectorgrad.bench;

import dev.vectorgrad.transformer.data.BpeTokenizer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * GPT-2 BPE encoding speed, with the protocol of {@code bench/scripts/TokenizePeer.java} (jtokkit): the whole file
 * is one string; one first pass (cold pre-token cache, timed and printed), {@code --warmup} untimed passes, then
 * {@code --runs} timed passes of {@code encodeOrdinary} over the whole string; the figure is their median.
 *
 * <p>usage: {@code ./vectorgrad bench tokenize [--file FILE] [--tokenizer DIR] [--warmup N] [--runs N]}; defaults:
 * {@code testdata/tinyshakespeare/tinyshakespeare.txt} and {@code testdata/gpt2-tokenizer} of the repository the
 * launcher runs from. Prints, last, {@code tokens/s: X}.
 */
public final class TokenizeBench {
    static final String USAGE = "usage: ./vectorgrad bench tokenize [--file FILE] [--tokenizer DIR] [--warmup N] [--runs N]";

    private TokenizeBench() {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(System.getProperty("vectorgrad.root", "."));
        Path file = root.resolve("testdata/tinyshakespeare/tinyshakespeare.txt"), dir = root.resolve("testdata/gpt2-tokenizer");
        int warmup = 5, runs = 10;
        try {
            for (int i = 0; i < args.length; i++) {
                String v = i + 1 < args.length ? args[i + 1] : null;
                if (v == null) throw new IllegalArgumentException(args[i] + " needs a value");
                switch (args[i]) {
                    case "--file" -> file = Path.of(v);
                    case "--tokenizer" -> dir = Path.of(v);
                    case "--warmup" -> warmup = Integer.parseInt(v);
                    case "--runs" -> runs = Integer.parseInt(v);
                    default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
                }
                i++;
            }
            if (runs < 1 || warmup < 0) throw new IllegalArgumentException("--runs must be >= 1 and --warmup >= 0");
        } catch (IllegalArgumentException e) {
            System.err.println("bench tokenize: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
        }
        if (!Files.isRegularFile(file)) {
            System.err.println("bench tokenize: no such file: " + file);
            System.exit(2);
        }
        String text = Files.readString(file);
        BpeTokenizer tok;
        try {
            tok = BpeTokenizer.load(dir);
        } catch (NoSuchFileException e) {
            System.err.println("bench tokenize: no such tokenizer folder: " + e.getFile());
            System.exit(2);
            return;
        }
        System.out.printf(Locale.ROOT, "tokenize: %s (%,d chars), %s, %d warm-up + %d timed passes%n", file, text.length(), tok, warmup, runs);
        long t0 = System.nanoTime();
        int n = tok.encodeOrdinary(text).length;
        double first = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "first pass (cold cache): %d tokens in %.4f s, %.0f tokens/s%n", n, first, n / first);
        for (int w = 0; w < warmup; w++) n = tok.encodeOrdinary(text).length;
        double[] s = new double[runs];
        for (int r = 0; r < runs; r++) {
            long t = System.nanoTime();
            n = tok.encodeOrdinary(text).length;
            s[r] = (System.nanoTime() - t) / 1e9;
        }
        Arrays.sort(s);
        double median = runs % 2 == 1 ? s[runs / 2] : (s[runs / 2 - 1] + s[runs / 2]) / 2;
        System.out.printf(Locale.ROOT, "tokens: %d, median pass %.4f s (min %.4f, max %.4f)%n", n, median, s[0], s[runs - 1]);
        System.out.printf(Locale.ROOT, "tokens/s: %.0f%n", n / median);
    }
}
