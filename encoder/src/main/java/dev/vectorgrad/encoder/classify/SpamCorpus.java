package dev.vectorgrad.encoder.classify;

import dev.vectorgrad.encoder.WordPieceTokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The compact labelled SpamAssassin set in {@code testdata/spamassassin/spam.tsv.gz} (derived by
 * {@code bench/scripts/make_spam_dataset.py}; source, licence and counts in that folder's README): one e-mail per line,
 * {@code split label source subject body}, with a fixed stratified train / val / test split.
 *
 * <p>{@link #pieces} is the input every model of {@code demo classify} sees, the baseline included: the subject's
 * word pieces then the first {@code bodyPieces} of the body's, at most {@code maxPieces} in all.
 */
public final class SpamCorpus {
    /** Where the file lives below the repository root. */
    public static final String FILE = "testdata/spamassassin/spam.tsv.gz";

    /** One e-mail: its split ("train", "val" or "test"), label, origin in the npm package, subject and body start. */
    public record Email(String split, boolean spam, String source, String subject, String body) {}

    /** The three splits. */
    public record Splits(List<Email> train, List<Email> val, List<Email> test) {}

    private SpamCorpus() {}

    /** Reads the file; a malformed line is an error naming the file and line. */
    public static Splits read(Path file) throws IOException {
        List<Email> train = new ArrayList<>(), val = new ArrayList<>(), test = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8))) {
            String header = r.readLine();
            if (!"split\tlabel\tsource\tsubject\tbody".equals(header))
                throw new IOException(file + ": line 1 is not the header 'split label source subject body' (tab-separated)");
            String line;
            int n = 1;
            while ((line = r.readLine()) != null) {
                n++;
                String[] f = line.split("\t", -1);
                if (f.length != 5) throw new IOException(file + ": line " + n + " has " + f.length + " fields, expected 5");
                boolean spam = switch (f[1]) {
                    case "spam" -> true;
                    case "ham" -> false;
                    default -> throw new IOException(file + ": line " + n + ": label '" + f[1] + "' is neither 'spam' nor 'ham'");
                };
                Email e = new Email(f[0], spam, f[2], f[3], f[4]);
                switch (f[0]) {
                    case "train" -> train.add(e);
                    case "val" -> val.add(e);
                    case "test" -> test.add(e);
                    default -> throw new IOException(file + ": line " + n + ": split '" + f[0] + "' is not train, val or test");
                }
            }
        }
        return new Splits(List.copyOf(train), List.copyOf(val), List.copyOf(test));
    }

    /**
     * The model input of {@code e}: the subject's word pieces, then the first {@code bodyPieces} word pieces of the
     * body, cut to {@code maxPieces} in all ({@code [CLS]}/{@code [SEP]} not included).
     */
    public static int[] pieces(WordPieceTokenizer tok, Email e, int bodyPieces, int maxPieces) {
        int[] subject = strip(tok.encode(e.subject(), maxPieces + 2));
        int[] body = strip(tok.encode(e.body(), bodyPieces + 2));
        int n = Math.min(maxPieces, subject.length + body.length);
        int[] out = Arrays.copyOf(subject, n);
        if (n > subject.length) System.arraycopy(body, 0, out, subject.length, n - subject.length);
        return out;
    }

    /** {@code [CLS] pieces [SEP]} with the tokenizer's special ids. */
    public static int[] withSpecials(WordPieceTokenizer tok, int[] pieces) {
        int[] cs = tok.encode("", 2); // [CLS] [SEP]
        int[] out = new int[pieces.length + 2];
        out[0] = cs[0];
        System.arraycopy(pieces, 0, out, 1, pieces.length);
        out[out.length - 1] = cs[1];
        return out;
    }

    private static int[] strip(int[] ids) {
        return Arrays.copyOfRange(ids, 1, ids.length - 1); // encode always adds [CLS] first and [SEP] last
    }
}
