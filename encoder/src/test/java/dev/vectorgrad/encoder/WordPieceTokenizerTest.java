package dev.vectorgrad.encoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** BERT's normaliser, pre-tokenizer and WordPiece on a hand-written vocabulary (expected ids worked out by hand). */
class WordPieceTokenizerTest {
    static final String JSON = """
            {"truncation": {"max_length": 8},
             "added_tokens": [{"id": 2, "content": "[CLS]"}, {"id": 3, "content": "[SEP]"}, {"id": 4, "content": "[MASK]"}],
             "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
             "pre_tokenizer": {"type": "BertPreTokenizer"},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 10,
               "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "un": 5, "##aff": 6, "##able": 7, "hello": 8,
                         ",": 9, "cafe": 10, "北": 11, "$": 12, "a": 13, "##a": 14}}}
            """;
    static final WordPieceTokenizer TOK = WordPieceTokenizer.fromJson(JSON.getBytes(StandardCharsets.UTF_8), "t.json");

    @Test
    void wordPieceTakesTheLongestPrefixThenContinuations() {
        assertThat(TOK.encode("unaffable")).containsExactly(2, 5, 6, 7, 3);
        assertThat(TOK.encode("UnAffAble hello")).containsExactly(2, 5, 6, 7, 8, 3);
        // "unaffx" has no full segmentation: the whole word is [UNK], not "un ##aff [UNK]".
        assertThat(TOK.encode("unaffx")).containsExactly(2, 1, 3);
        // Longer than max_input_chars_per_word (10) → [UNK] even though "a ##a ##a ..." would match.
        assertThat(TOK.encode("aaaaaaaaaa")).containsExactly(2, 13, 14, 14, 14, 14, 14, 3); // 10 chars, truncated to 8 ids
        assertThat(TOK.encode("aaaaaaaaaaa")).containsExactly(2, 1, 3);
    }

    @Test
    void normaliserCleansSplitsCjkStripsAccentsAndLowercases() {
        assertThat(TOK.normalize("Café\u0000\tX\uFFFD\u200B")).isEqualTo("cafe x");
        assertThat(TOK.encode("CAFÉ,hello")).containsExactly(2, 10, 9, 8, 3);
        assertThat(TOK.encode("hello北hello")).containsExactly(2, 8, 11, 8, 3);
        assertThat(TOK.encode("$hello")).containsExactly(2, 12, 8, 3); // '$' is ASCII punctuation for BERT
    }

    @Test
    void addedTokensInTheTextAreMatchedLiterally() {
        assertThat(TOK.encode("hello [MASK] hello")).containsExactly(2, 8, 4, 8, 3);
        assertThat(TOK.encode("[mask]")).containsExactly(2, 1, 1, 1, 3); // lower case is not the added token: "[", "mask", "]"
    }

    @Test
    void truncationKeepsClsAndSep() {
        assertThat(TOK.defaultMaxTokens()).isEqualTo(8);
        assertThat(TOK.encode("hello hello hello hello hello hello hello")).containsExactly(2, 8, 8, 8, 8, 8, 8, 3);
        assertThat(TOK.encode("hello hello hello", 3)).containsExactly(2, 8, 3);
        assertThat(TOK.encode("")).containsExactly(2, 3);
    }

    @Test
    void unsupportedFilesAreRefusedByName() {
        assertThatThrownBy(() -> WordPieceTokenizer.fromJson("{\"model\": {\"type\": \"BPE\"}}".getBytes(StandardCharsets.UTF_8), "b.json"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("b.json: model.type is BPE, not WordPiece");
        assertThatThrownBy(() -> WordPieceTokenizer.fromJson("{".getBytes(StandardCharsets.UTF_8), "c.json"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("c.json: not a tokenizer.json");
    }
}
