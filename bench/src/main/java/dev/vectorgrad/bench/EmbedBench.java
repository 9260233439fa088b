package dev.vectorgrad.bench;

import dev.vectorgrad.encoder.MiniLm;
import dev.vectorgrad.tensor.Parallel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * all-MiniLM-L6-v2 embedding throughput, with the protocol of {@code bench/scripts/EmbedPeer.java} (langchain4j +
 * onnxruntime): every line of the file is a text; {@code --warmup} untimed passes over the whole file, then
 * {@code --runs} timed passes of {@code embed(all lines)} (tokenizing included); the figure is the best pass.
 *
 * <p>usage: {@code ./vectorgrad bench embed [--inputs LINES.txt] [--threads N] [--batch N] [--warmup N] [--runs N]};
 * default inputs {@code testdata/minilm/europarl-passages.txt} of the repository the launcher runs from. Prints,
 * last, {@code embeddings/s: X}.
 */
public final class EmbedBench {
    static final String USAGE = "usage: ./vectorgrad bench embed [--inputs LINES.txt] [--threads N] [--batch N] [--warmup N] [--runs N]";

    private EmbedBench() {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(System.getProperty("vectorgrad.root", "."));
        Path file = root.resolve("testdata/minilm/europarl-passages.txt");
        int warmup = 1, runs = 3, threads = 0, batch = MiniLm.DEFAULT_BATCH;
        try {
            for (int i = 0; i < args.length; i++) {
                String v = i + 1 < args.length ? args[i + 1] : null;
                if (v == null) throw new IllegalArgumentException(args[i] + " needs a value");
                switch (args[i]) {
                    case "--inputs" -> file = Path.of(v);
                    case "--threads" -> threads = Integer.parseInt(v);
                    case "--batch" -> batch = Integer.parseInt(v);
                    case "--warmup" -> warmup = Integer.parseInt(v);
                    case "--runs" -> runs = Integer.parseInt(v);
                    default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
                }
                i++;
            }
            if (runs < 1 || warmup < 0 || batch < 1 || threads < 0)
                throw new IllegalArgumentException("--runs and --batch must be >= 1, --warmup and --threads >= 0");
        } catch (IllegalArgumentException e) {
            System.err.println("bench embed: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
        }
        if (!Files.isRegularFile(file)) {
            System.err.println("bench embed: no such file: " + file);
            System.exit(2);
        }
        if (threads > 0) Parallel.setThreads(threads);
        List<String> texts = Files.readAllLines(file, StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        MiniLm model = MiniLm.load().withBatch(batch);
        double load = (System.nanoTime() - t0) / 1e9;
        long tokens = 0;
        int longest = 0;
        for (String t : texts) {
            int n = model.tokenize(t).length;
            tokens += n;
            longest = Math.max(longest, n);
        }
        System.out.printf(Locale.ROOT, "embed: %s (%d texts, %d ids, longest %d of at most %d), all-MiniLM-L6-v2 loaded in %.2f s, %d threads, batch %d, %d warm-up + %d timed passes%n",
                file, texts.size(), tokens, longest, model.maxTokens(), load, Parallel.threads(), batch, warmup, runs);
        for (int w = 0; w < warmup; w++) {
            long t = System.nanoTime();
            model.embed(texts);
            System.out.printf(Locale.ROOT, "warm-up pass %d: %.3f s%n", w + 1, (System.nanoTime() - t) / 1e9);
        }
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        double best = Double.MAX_VALUE;
        for (int r = 0; r < runs; r++) {
            long t = System.nanoTime();
            model.embed(texts);
            double s = (System.nanoTime() - t) / 1e9;
            System.out.printf(Locale.ROOT, "pass %d: %.3f s, %.1f embeddings/s%n", r + 1, s, texts.size() / s);
            best = Math.min(best, s);
        }
        // CPU time of the whole process (every thread, native ones included) over the timed passes: less sensitive
        // than wall time to other load on a shared machine.
        double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
        System.out.printf(Locale.ROOT, "process CPU: %.2f s over %d passes, %.1f embeddings per CPU-second%n", cpu, runs, (double) texts.size() * runs / cpu);
        System.out.printf(Locale.ROOT, "embeddings/s: %.1f%n", texts.size() / best);
    }
}
