import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The jtokkit peer of {@code ./vectorgrad bench tokenize}: the same protocol (the whole file as one string; one
 * timed first pass, WARMUP untimed passes, RUNS timed passes of {@code encodeOrdinary}; median) with jtokkit's
 * R50K_BASE (GPT-2). Compiled and run by {@code bench/scripts/tokenize_compare.sh}; jtokkit is never a product
 * dependency. usage: java -cp jtokkit.jar:. TokenizePeer FILE [WARMUP] [RUNS]
 */
public class TokenizePeer {
    public static void main(String[] args) throws Exception {
        String text = Files.readString(Path.of(args[0]));
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 5, runs = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        Encoding enc = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        System.out.printf(Locale.ROOT, "jtokkit tokenize: %s (%,d chars), R50K_BASE, %d warm-up + %d timed passes%n", args[0], text.length(), warmup, runs);
        long t0 = System.nanoTime();
        int n = enc.encodeOrdinary(text).size();
        double first = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "first pass: %d tokens in %.4f s, %.0f tokens/s%n", n, first, n / first);
        for (int w = 0; w < warmup; w++) n = enc.encodeOrdinary(text).size();
        double[] s = new double[runs];
        for (int r = 0; r < runs; r++) {
            long t = System.nanoTime();
            n = enc.encodeOrdinary(text).size();
            s[r] = (System.nanoTime() - t) / 1e9;
        }
        Arrays.sort(s);
        double median = runs % 2 == 1 ? s[runs / 2] : (s[runs / 2 - 1] + s[runs / 2]) / 2;
        System.out.printf(Locale.ROOT, "tokens: %d, median pass %.4f s (min %.4f, max %.4f)%n", n, median, s[0], s[runs - 1]);
        System.out.printf(Locale.ROOT, "tokens/s: %.0f%n", n / median);
    }
}
