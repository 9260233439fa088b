package dev.vectorgrad.transformer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.testdata.TestData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPT-2's byte-level BPE against an independent implementation, jtokkit's {@code R50K_BASE} (GPT-2's encoding,
 * its own regex and merge code, its own copy of the ranks): the whole of Tiny Shakespeare, adversarial strings and
 * seeded random strings give the same ids. Plus round trips, special tokens, the file forms and bad files.
 */
class BpeTokenizerTest {
    static BpeTokenizer gpt2;
    static Encoding oracle;

    @BeforeAll
    static void load() throws Exception {
        gpt2 = BpeTokenizer.load(TestData.file("gpt2-tokenizer"));
        oracle = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    }

    private static void assertSameAsOracle(String s) {
        int[] want = oracle.encodeOrdinary(s).toArray();
        assertThat(gpt2.encodeOrdinary(s)).as("ids of %s", Json.quote(s)).containsExactly(want);
        if (!s.contains(BpeTokenizer.END_OF_TEXT)) assertThat(gpt2.encode(s)).as("encode of %s", Json.quote(s)).containsExactly(want);
        assertThat(gpt2.decode(want)).as("decode of the ids of %s", Json.quote(s)).isEqualTo(s);
    }

    @Test
    void knownSentence() {
        // gpt2-tokenizer/README.md (GPT-2's ids, as tiktoken and Hugging Face give them)
        assertThat(gpt2.encode("The quick brown fox jumps over the lazy dog."))
                .containsExactly(464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13);
        assertThat(gpt2.vocabSize()).isEqualTo(50257);
    }

    @Test
    void wholeTinyShakespeareMatchesJtokkit() throws Exception {
        String text = Files.readString(TestData.file("tinyshakespeare/tinyshakespeare.txt"));
        int[] want = oracle.encodeOrdinary(text).toArray();
        int[] got = gpt2.encode(text);
        if (!Arrays.equals(got, want)) {
            int i = 0;
            while (i < Math.min(got.length, want.length) && got[i] == want[i]) i++;
            throw new AssertionError("first difference at id " + i + ": got " + Arrays.toString(Arrays.copyOfRange(got, i, Math.min(got.length, i + 8)))
                    + ", jtokkit " + Arrays.toString(Arrays.copyOfRange(want, i, Math.min(want.length, i + 8))) + " (" + got.length + " vs " + want.length + " ids)");
        }
        assertThat(got.length).isGreaterThan(300_000);
        assertThat(gpt2.decode(got)).isEqualTo(text);
    }

    @Test
    void adversarialStringsMatchJtokkit() {
        List<String> cases = List.of(
                "", " ", "  ", "\n", "\n\n\n", "a\n\n", "a \n", "a  b", "a   b", "a\t\tb", " \t\n x", "x\n \n", "trailing spaces   ", "\r\n\r\n",
                "\u00a0nbsp\u00a0\u00a0x", "\u3000ideographic\u2003em\u2028line\u2029para\u0085nel", "\u000b\u000c\u001c\u001d\u001e\u001f",
                "don't", "DON'T", "I'M", "we'll WE'LL", "it's", "'s", "''s", "'", "x'", "rock'n'roll", "they're they've I'd I'm", "' s", " 's", "'S",
                "1234567890123456789012345678901234567890", " 2024-01-01", "3.14159", "x²³", "½ ⅓ Ⅻ ٣٤٥", "0x1F600",
                "日本語のテキスト", "中文字符测试", "한국어 텍스트", "Привет, мир!", "Ελληνικά", "עברית", "العربية", "हिन्दी",
                "e\u0301 a\u0300\u0301\u0302 \u0301", "Zalgo: Z\u0351\u036b\u0343\u036a\u0302", "👋🌍", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "a🤗b", " 🤗", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚",
                "<|endoftext|> is literal here", "<|endoftext", "!!!???...", "  ...", "@#$%^&*()", "a.b,c;d:e", "\u0000\u0001\u007f", "\ufeffbom", "\uffff\ufffd",
                "https://example.com/path?q=1&r=2#frag", "    def f(x):\n        return x**2\n", "x" .repeat(500), " " .repeat(300) + "y", "9".repeat(2000));
        for (String s : cases) assertSameAsOracle(s);
    }

    @Test
    void seededRandomStringsMatchJtokkitAndRoundTrip() {
        SplittableRandom r = new SplittableRandom(16);
        int[][] ranges = {{0x20, 0x7e}, {0x09, 0x0d}, {0x20, 0x20}, {0x27, 0x27}, {0xa0, 0x24f}, {0x300, 0x36f}, {0x400, 0x4ff}, {0x4e00, 0x4fff},
                {0x3000, 0x303f}, {0x2000, 0x206f}, {0x1f300, 0x1f64f}, {0x1d400, 0x1d7ff}, {0x0, 0x1f}, {0x660, 0x669}};
        for (int t = 0; t < 400; t++) {
            StringBuilder b = new StringBuilder();
            int len = r.nextInt(1, 60);
            for (int k = 0; k < len; k++) {
                int[] range = ranges[r.nextInt(ranges.length)];
                int cp = r.nextInt(range[0], range[1] + 1);
                if (Character.isSurrogate((char) cp)) continue;
                b.appendCodePoint(cp);
                if (r.nextInt(8) == 0) b.append(List.of("'s", "'LL", "'re", " ", "\n", "  ").get(r.nextInt(6)));
            }
            assertSameAsOracle(b.toString());
        }
    }

    @Test
    void longPiecesTakeTheHeapMergeAndStillMatchJtokkit() {
        // one pre-token longer than BpeTokenizer.LARGE bytes goes to the O(n log n) merge; a long digit run would take
        // minutes with the O(n²) one
        SplittableRandom r = new SplittableRandom(7);
        String letters = r.ints(3000, 0, 6).mapToObj(i -> String.valueOf("abcéeé".charAt(i))).collect(java.util.stream.Collectors.joining());
        for (String s : List.of(letters, " " + letters, "aaaa".repeat(1000), "1".repeat(30_000), "!?".repeat(700), "日本".repeat(300)))
            assertSameAsOracle(s);
    }

    @Test
    void endOfTextIsOneSpecialIdInEncodeAndTextInEncodeOrdinary() {
        String s = "Hello<|endoftext|> world";
        int[] hello = oracle.encodeOrdinary("Hello").toArray(), world = oracle.encodeOrdinary(" world").toArray();
        int[] want = IntStream.concat(IntStream.concat(Arrays.stream(hello), IntStream.of(50256)), Arrays.stream(world)).toArray();
        assertThat(gpt2.encode(s)).containsExactly(want);
        assertThat(gpt2.encodeOrdinary(s)).containsExactly(oracle.encodeOrdinary(s).toArray()).doesNotContain(50256);
        assertThat(gpt2.decode(gpt2.encode(s))).isEqualTo(s);
        assertThat(gpt2.encode("<|endoftext|><|endoftext|>")).containsExactly(50256, 50256);
        assertThat(gpt2.idOf(BpeTokenizer.END_OF_TEXT)).isEqualTo(50256);
    }

    @Test
    void decodingAPrefixEndingInsideACharacterDoesNotThrow() {
        String s = "日本🤗é";
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        int[] ids = gpt2.encode(s);
        assertThat(ids.length).isGreaterThan(3);  // some character is split across ids
        int bytes = 0;
        for (int k = 0; k <= ids.length; k++) {
            int[] prefix = Arrays.copyOf(ids, k);
            byte[] got = gpt2.decodeBytes(prefix);
            assertThat(got).containsExactly(Arrays.copyOf(utf8, got.length));
            assertThat(got.length).isGreaterThanOrEqualTo(bytes);
            bytes = got.length;
            String text = gpt2.decode(prefix);  // an incomplete character at the end becomes U+FFFD
            assertThat(text).isEqualTo(new String(got, StandardCharsets.UTF_8));
        }
        Utf8Stream stream = new Utf8Stream(gpt2);
        StringBuilder b = new StringBuilder();
        for (int id : ids) {
            String piece = stream.next(id);
            assertThat(piece).doesNotContain("\ufffd");
            b.append(piece);
        }
        assertThat(b.append(stream.finish()).toString()).isEqualTo(s);
        assertThat(stream.next(ids[0]) + stream.finish()).isEqualTo("\ufffd");  // the stream ended inside 日
        assertThatThrownBy(() -> gpt2.decode(new int[] {50257})).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id 50257");
    }

    @Test
    void tokenizerJsonInBothMergeFormsGivesTheSameIds(@TempDir Path tmp) throws Exception {
        Path src = TestData.file("gpt2-tokenizer");
        Map<String, Object> vocab = Json.asMap(Json.read(src.resolve("vocab.json")), "vocab");
        List<String> lines = Files.readAllLines(src.resolve("merges.txt")).stream().skip(1).filter(l -> !l.isEmpty()).toList();
        String s = "Hello<|endoftext|> DON'T 🤗 wörld\n\n  9999";
        for (boolean pairs : new boolean[] {false, true}) {
            List<Object> merges = new ArrayList<>();
            for (String l : lines) merges.add(pairs ? List.of(l.split(" ")) : l);
            Map<String, Object> model = new LinkedHashMap<>();
            model.put("type", "BPE");
            model.put("vocab", vocab);
            model.put("merges", merges);
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("added_tokens", List.of(Map.of("id", 50256L, "content", "<|endoftext|>", "special", true)));
            root.put("pre_tokenizer", Map.of("type", "ByteLevel", "add_prefix_space", false, "use_regex", true));
            root.put("model", model);
            Path dir = Files.createDirectories(tmp.resolve(pairs ? "pairs" : "strings"));
            Files.writeString(dir.resolve("tokenizer.json"), Json.write(root));
            BpeTokenizer t = BpeTokenizer.load(dir);
            assertThat(t.encode(s)).containsExactly(gpt2.encode(s));
            assertThat(Tokenizer.ofModel(dir)).isInstanceOf(BpeTokenizer.class);
        }
    }

    @Test
    void savedTokenizerLoadsBackWithItsFilesBesideIt(@TempDir Path tmp) throws Exception {
        gpt2.save(tmp.resolve(Tokenizer.FILE_NAME));
        assertThat(tmp.resolve("vocab.json")).exists();
        assertThat(tmp.resolve("merges.txt")).exists();
        Tokenizer back = Tokenizer.load(tmp.resolve(Tokenizer.FILE_NAME));
        String s = "Round <|endoftext|> trip, 日本 🤗";
        assertThat(back.encode(s)).containsExactly(gpt2.encode(s));
        assertThat(back.vocabSize()).isEqualTo(50257);
        assertThat(Files.readAllLines(tmp.resolve("merges.txt"))).isEqualTo(Files.readAllLines(TestData.file("gpt2-tokenizer/merges.txt")));
        assertThatThrownBy(() -> Tokenizer.fromJson(Files.readString(tmp.resolve(Tokenizer.FILE_NAME))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Tokenizer.load");
    }

    @Test
    void badFilesAreNamed(@TempDir Path tmp) throws Exception {
        Path src = TestData.file("gpt2-tokenizer");
        Path v = tmp.resolve("vocab.json"), m = tmp.resolve("merges.txt");
        Files.copy(src.resolve("vocab.json"), v);
        Files.writeString(m, "#version: 0.2\nĠ t\nĠt he xx\n");
        assertThatThrownBy(() -> BpeTokenizer.fromFiles(v, m)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(m.toString()).hasMessageContaining("line 3");
        Files.writeString(m, "#version: 0.2\nĠ t\nzzq zzq\n");
        assertThatThrownBy(() -> BpeTokenizer.fromFiles(v, m)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("merge 2").hasMessageContaining("\"zzq\" is not in the vocabulary");
        Files.writeString(v, "{\"a\": 0}");
        assertThatThrownBy(() -> BpeTokenizer.fromFiles(v, m)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(tmp.toString()).hasMessageContaining("no token for byte");
        Files.writeString(v, "[1, 2]");
        assertThatThrownBy(() -> BpeTokenizer.fromFiles(v, m)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(v.toString());
        Files.writeString(v, "{\"a\": 0");
        assertThatThrownBy(() -> BpeTokenizer.fromFiles(v, m)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(v.toString());
        Files.delete(m);
        assertThatThrownBy(() -> BpeTokenizer.load(tmp)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merges.txt");
        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\"}, \"pre_tokenizer\": null}");
        assertThatThrownBy(() -> BpeTokenizer.load(tmp)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(tmp.resolve("tokenizer.json").toString()).hasMessageContaining("WordPiece");
        Files.writeString(tmp.resolve("tokenizer.json"), "{\"normalizer\": {\"type\": \"NFC\"}, \"model\": {\"type\": \"BPE\"},"
                + " \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}");
        assertThatThrownBy(() -> BpeTokenizer.load(tmp)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(tmp.resolve("tokenizer.json").toString()).hasMessageContaining("normalizer");
        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\"}, \"pre_tokenizer\": {\"type\": \"Metaspace\"}}");
        assertThatThrownBy(() -> BpeTokenizer.load(tmp)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\"Metaspace\"");
    }
}
