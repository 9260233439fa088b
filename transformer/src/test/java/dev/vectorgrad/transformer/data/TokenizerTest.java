package dev.vectorgrad.transformer.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenizerTest {
    @Test
    void charVocabularyIsSortedDistinctCodePoints() {
        CharTokenizer tok = CharTokenizer.fit("hello world");
        // distinct: ' ' d e h l o r w  (sorted by code point)
        assertThat(tok.vocabSize()).isEqualTo(8);
        assertThat(tok.codePoints()).containsExactly(' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w');
        assertThat(tok.encode("hello")).containsExactly(3, 2, 4, 4, 5);
        assertThat(tok.encode("world hello")).containsExactly(7, 5, 6, 4, 1, 0, 3, 2, 4, 4, 5);
        assertThat(tok.decode(new int[] {7, 5, 6, 4, 1})).isEqualTo("world");
    }

    @Test
    void uppercaseSortsBeforeLowercaseAndAstralCharactersWork() {
        CharTokenizer tok = CharTokenizer.fit("b\uD83D\uDE00aB\n", "A");
        // '\n'(10) 'A'(65) 'B'(66) 'a'(97) 'b'(98) U+1F600
        assertThat(tok.codePoints()).containsExactly(10, 65, 66, 97, 98, 0x1F600);
        assertThat(tok.encode("a\uD83D\uDE00\nA")).containsExactly(3, 5, 0, 1);
        assertThat(tok.decode(tok.encode("Bab\uD83D\uDE00"))).isEqualTo("Bab\uD83D\uDE00");
    }

    @Test
    void unknownCharacterIsNamed() {
        CharTokenizer tok = CharTokenizer.fit("abc");
        assertThatThrownBy(() -> tok.encode("abz"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'z' (U+007A)")
                .hasMessageContaining("index 2")
                .hasMessageContaining("3 characters");
        assertThatThrownBy(() -> tok.encode("a\tb")).hasMessageContaining("'\\t' (U+0009)");
        assertThatThrownBy(() -> tok.decode(new int[] {0, 3})).hasMessageContaining("id 3");
    }

    @Test
    void charJsonRoundTripKeepsEveryCharacter(@TempDir Path dir) throws Exception {
        CharTokenizer tok = CharTokenizer.fit("Quoth \"he\":\\ end\n\tDone é €\uD83C\uDF89\u0001");
        String json = tok.toJson();
        assertThat(json).contains("\"type\": \"char\"").contains("\"\\n\"").contains("\"\\\"\"").contains("\"\\\\\"");
        Tokenizer back = Tokenizer.fromJson(json);
        assertThat(back).isInstanceOf(CharTokenizer.class).isEqualTo(tok);
        Path file = dir.resolve(Tokenizer.FILE_NAME);
        tok.save(file);
        assertThat(Tokenizer.load(file)).isEqualTo(tok);
    }

    @Test
    void malformedCharJsonIsRejectedWithTheReason() {
        assertThatThrownBy(() -> Tokenizer.fromJson("{\"type\": \"char\", \"vocab\": [\"a\", \"bc\"]}"))
                .hasMessageContaining("vocab[1]");
        assertThatThrownBy(() -> Tokenizer.fromJson("{\"type\": \"char\", \"vocab\": [\"b\", \"a\"]}"))
                .hasMessageContaining("sorted");
        assertThatThrownBy(() -> Tokenizer.fromJson("{\"type\": \"char\", \"vocab\": [\"a\"], \"vocab_size\": 2}"))
                .hasMessageContaining("vocab_size");
        assertThatThrownBy(() -> Tokenizer.fromJson("{\"type\": \"bpe\"}")).hasMessageContaining("\"bpe\"");
        assertThatThrownBy(() -> Tokenizer.fromJson("[1, 2")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bytesAreUtf8() {
        ByteTokenizer tok = ByteTokenizer.INSTANCE;
        assertThat(tok.vocabSize()).isEqualTo(256);
        // 'h' = 0x68, 'é' = C3 A9, '€' = E2 82 AC
        assertThat(tok.encode("hé€")).containsExactly(0x68, 0xC3, 0xA9, 0xE2, 0x82, 0xAC);
        assertThat(tok.decode(new int[] {0x68, 0xC3, 0xA9, 0xE2, 0x82, 0xAC})).isEqualTo("hé€");
        assertThat(tok.decode(new int[] {0x61, 0xC3})).isEqualTo("a\uFFFD"); // truncated sequence
        assertThatThrownBy(() -> tok.decode(new int[] {256})).hasMessageContaining("256");
        assertThat(Tokenizer.fromJson(tok.toJson())).isSameAs(tok);
    }
}
