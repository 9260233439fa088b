package dev.vectorgrad.encoder.classify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.encoder.MiniLm;
import dev.vectorgrad.encoder.WordPieceTokenizer;
import dev.vectorgrad.testdata.TestData;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed SpamAssassin set: the counts its README states, disjoint splits, the model input, bad files. */
class SpamCorpusTest {
    @TempDir
    Path tmp;

    static long spam(List<SpamCorpus.Email> xs) {
        return xs.stream().filter(SpamCorpus.Email::spam).count();
    }

    @Test
    void countsAndSplitsAreTheReadmes() throws Exception {
        SpamCorpus.Splits s = SpamCorpus.read(TestData.file("spamassassin/spam.tsv.gz"));
        // testdata/spamassassin/README.md: train 2,874 ham + 1,233 spam, val 616 + 264, test 616 + 265
        assertThat(List.of(s.train().size() - spam(s.train()), spam(s.train()), s.val().size() - spam(s.val()), spam(s.val()),
                s.test().size() - spam(s.test()), spam(s.test()))).containsExactly(2874L, 1233L, 616L, 264L, 616L, 265L);
        Set<String> sources = new HashSet<>();
        for (var split : List.of(s.train(), s.val(), s.test()))
            for (SpamCorpus.Email e : split) {
                assertThat(sources.add(e.source())).as("source %s in one split only", e.source()).isTrue();
                assertThat(e.spam()).as(e.source()).isEqualTo(e.source().startsWith("spam-"));
            }
        assertThat(sources).hasSize(5868);
    }

    @Test
    void theInputIsTheSubjectsPiecesThenTheBodysCut() throws Exception {
        WordPieceTokenizer tok;
        try (var in = MiniLm.class.getClassLoader().getResourceAsStream(MiniLm.TOKENIZER_RESOURCE)) {
            tok = WordPieceTokenizer.fromJson(in.readAllBytes(), MiniLm.TOKENIZER_RESOURCE);
        }
        SpamCorpus.Email e = new SpamCorpus.Email("train", true, "x", "Cheap loans", "Click here now to apply today");
        int[] subject = strip(tok.encode("Cheap loans")), body = strip(tok.encode("Click here now to apply today"));
        int[] p = SpamCorpus.pieces(tok, e, 3, 62);
        int[] want = Arrays.copyOf(subject, subject.length + 3);
        System.arraycopy(body, 0, want, subject.length, 3);
        assertThat(p).containsExactly(want);
        assertThat(SpamCorpus.pieces(tok, e, 0, 62)).containsExactly(subject);
        assertThat(SpamCorpus.pieces(tok, e, 40, 2)).containsExactly(Arrays.copyOf(subject, 2));
        int[] ids = SpamCorpus.withSpecials(tok, subject);
        assertThat(ids).containsExactly(tok.encode("Cheap loans"));
    }

    static int[] strip(int[] ids) {
        return Arrays.copyOfRange(ids, 1, ids.length - 1);
    }

    @Test
    void aBadLineNamesTheFileAndTheLine() throws Exception {
        Path f = tmp.resolve("bad.tsv.gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(f))) {
            o.write("split\tlabel\tsource\tsubject\tbody\ntrain\tham\ta\tb\tc\ntest\tmaybe\ta\tb\tc\n".getBytes(StandardCharsets.UTF_8));
        }
        assertThatThrownBy(() -> SpamCorpus.read(f)).hasMessageContaining("bad.tsv.gz: line 3: label 'maybe'");
    }
}
