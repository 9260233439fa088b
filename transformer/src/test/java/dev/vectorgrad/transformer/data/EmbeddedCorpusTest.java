package dev.vectorgrad.transformer.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmbeddedCorpusTest {
    @Test
    void classifiesSentencesByStopWords() {
        assertThat(EmbeddedCorpus.classify("The Commission is of the opinion that this is a matter for the Member States and we are not going to change it."))
                .isEqualTo("en");
        assertThat(EmbeddedCorpus.classify("Het is niet zo dat de Commissie dat voor ons moet doen, want wij zijn ook van mening dat het een zaak van de lidstaten is."))
                .isEqualTo("nl");
        assertThat(EmbeddedCorpus.classify("Wir sind der Meinung, dass die Kommission das nicht allein tun kann und auch nicht werden sollte, denn es ist eine Aufgabe der Mitgliedstaaten."))
                .isEqualTo("de");
        assertThat(EmbeddedCorpus.classify("Nous pensons que la Commission ne peut pas le faire seule et que cette tâche est une question pour les États membres dans le cadre du traité."))
                .isEqualTo("fr");
        assertThat(EmbeddedCorpus.classify("Komissio on sitä mieltä, että tämä kuuluu jäsenvaltioille, mutta myös parlamentti voi olla mukana, kuten jotka ovat sanoneet."))
                .isEqualTo("fi");
        assertThat(EmbeddedCorpus.classify("Yes.")).isNull(); // too few hits
    }

    @Test
    void textFieldIsTheThirdColumnWithParagraphsAsNewlines() {
        assertThat(EmbeddedCorpus.textField("Title\t2004-03-30\tFirst paragraph.   Second one.     Third."))
                .isEqualTo("First paragraph.\nSecond one.\nThird.");
        assertThat(EmbeddedCorpus.textField("no tabs at all")).isEqualTo("no tabs at all");
    }

    @Test
    void capCutsAtALineEnd() {
        assertThat(EmbeddedCorpus.cap("abc\ndef\nghi\n", 9)).isEqualTo("abc\ndef\n");
        assertThat(EmbeddedCorpus.cap("abc\ndef\nghi\n", 8)).isEqualTo("abc\ndef\n");
        assertThat(EmbeddedCorpus.cap("abc\ndef\nghi\n", 7)).isEqualTo("abc\n");
        assertThat(EmbeddedCorpus.cap("abcdef", 3)).isEqualTo("abc");
        assertThat(EmbeddedCorpus.cap("ab", 3)).isEqualTo("ab");
    }

    @Test
    void extractsLanguagesFromTheLuceneJarAndCachesThem(@TempDir Path cache) throws Exception {
        EmbeddedCorpus corpus = EmbeddedCorpus.at(cache);
        String en = corpus.text("en");
        // Measured: about 1.27 MB of English, 1.39 MB of Dutch, 1.44 MB of German (see the report / class comment).
        assertThat(en.length()).isBetween(1_000_000, 1_600_000);
        assertThat(en).contains("the European Parliament").endsWith("\n");
        assertThat(en.split("\n", 200)).allSatisfy(line -> assertThat(line).doesNotContain("\t"));

        Map<String, Long> sizes = corpus.sizes();
        assertThat(sizes).containsOnlyKeys(EmbeddedCorpus.LANGUAGES).hasSize(21);
        for (String big : new String[] {"en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "fi", "el"})
            assertThat(sizes.get(big)).as(big).isGreaterThan(900_000L);
        long total = sizes.values().stream().mapToLong(Long::longValue).sum();
        assertThat(total).isBetween(17_000_000L, 21_100_000L); // the file has 21.0 MB; unclassified lines are dropped

        // Each language's text mostly consists of its own lines: its stop words win on nearly every line.
        String nl = corpus.text("nl");
        String[] nlLines = nl.split("\n");
        long dutch = java.util.Arrays.stream(nlLines).filter(l -> "nl".equals(EmbeddedCorpus.classify(l))).count();
        assertThat(dutch).isGreaterThan(nlLines.length / 2);

        // The cache holds the files; a new instance reads them instead of re-extracting.
        Path dir = cache.resolve(EmbeddedCorpus.CACHE_NAME);
        assertThat(dir.resolve("sizes.tsv")).exists();
        assertThat(Files.size(dir.resolve("en.txt"))).isEqualTo(sizes.get("en"));
        Files.writeString(dir.resolve("en.txt"), "cached\n");
        assertThat(EmbeddedCorpus.at(cache).text("en")).isEqualTo("cached\n");

        String capped = corpus.text("nl", 10_000);
        assertThat(capped.length()).isBetween(5_000, 10_000);
        assertThat(nl).startsWith(capped);
    }

    @Test
    void unknownLanguageListsTheKnownOnes() {
        assertThatThrownBy(() -> EmbeddedCorpus.uncached().text("xx"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"xx\"").hasMessageContaining("en, de");
    }
}
