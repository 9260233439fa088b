import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The langchain4j + onnxruntime peer of {@code ./vectorgrad bench embed}: the same protocol (every line a text;
 * WARMUP untimed passes, RUNS timed passes of {@code embedAll} over all lines; the best pass) with
 * {@code AllMiniLmL6V2EmbeddingModel}. Compiled and run by {@code bench/scripts/embed_compare.sh}; its jars are
 * resolved into a scratch folder and are never product dependencies.
 * usage: java -cp 'lib/*:.' EmbedPeer FILE [WARMUP] [RUNS]
 */
public class EmbedPeer {
    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 1, runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        List<TextSegment> segments = lines.stream().map(TextSegment::from).toList();
        long t0 = System.nanoTime();
        AllMiniLmL6V2EmbeddingModel model = new AllMiniLmL6V2EmbeddingModel();
        System.out.printf(Locale.ROOT, "langchain4j embed: %s (%d texts), loaded in %.2f s, %d processors, %d warm-up + %d timed passes%n", args[0],
                lines.size(), (System.nanoTime() - t0) / 1e9, Runtime.getRuntime().availableProcessors(), warmup, runs);
        for (int w = 0; w < warmup; w++) {
            long t = System.nanoTime();
            model.embedAll(segments);
            System.out.printf(Locale.ROOT, "warm-up pass %d: %.3f s%n", w + 1, (System.nanoTime() - t) / 1e9);
        }
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        double best = Double.MAX_VALUE;
        for (int r = 0; r < runs; r++) {
            long t = System.nanoTime();
            model.embedAll(segments);
            double s = (System.nanoTime() - t) / 1e9;
            System.out.printf(Locale.ROOT, "pass %d: %.3f s, %.1f embeddings/s%n", r + 1, s, lines.size() / s);
            best = Math.min(best, s);
        }
        // CPU time of the whole process (every thread, native ones included) over the timed passes: less sensitive
        // than wall time to other load on a shared machine.
        double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
        System.out.printf(Locale.ROOT, "process CPU: %.2f s over %d passes, %.1f embeddings per CPU-second%n", cpu, runs, (double) lines.size() * runs / cpu);
        System.out.printf(Locale.ROOT, "embeddings/s: %.1f%n", lines.size() / best);
    }
}
