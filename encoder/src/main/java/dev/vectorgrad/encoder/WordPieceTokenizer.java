package dev.vectorgrad.encoder;

import dev.vectorgrad.tensor.Json;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * BERT's WordPiece tokenizer as Hugging Face {@code tokenizers} runs it from a {@code tokenizer.json}:
 * <ol>
 * <li>added tokens ({@code [CLS]}, {@code [MASK]}, ...) found literally in the text become their ids;</li>
 * <li>{@code BertNormalizer}: clean text (drop NUL, U+FFFD and control characters, whitespace → space),
 *     a space around every CJK ideograph, accents stripped (NFD, drop non-spacing marks), lower case;</li>
 * <li>{@code BertPreTokenizer}: split on whitespace, every punctuation character a word of its own;</li>
 * <li>WordPiece: greedy longest match first, continuations prefixed {@code ##}; a word with no full match, or
 *     longer than {@code max_input_chars_per_word}, becomes {@code [UNK]};</li>
 * <li>{@code [CLS] A [SEP]}, truncated (on the right) to {@code maxTokens} ids, specials included.</li>
 * </ol>
 * The file's own truncation length (128 for all-MiniLM-L6-v2) is the default.
 */
public final class WordPieceTokenizer {
    private final Map<String, Integer> vocab;
    private final Map<String, Integer> addedTokens;
    private final String prefix;
    private final int unkId, clsId, sepId, padId, maxInputCharsPerWord, defaultMaxTokens;
    private final boolean cleanText, chineseChars, stripAccents, lowercase;

    private WordPieceTokenizer(Map<String, Integer> vocab, Map<String, Integer> addedTokens, String prefix, String unk,
            int maxChars, int defaultMaxTokens, boolean cleanText, boolean chineseChars, boolean stripAccents, boolean lowercase,
            String file) {
        this.vocab = vocab;
        this.addedTokens = addedTokens;
        this.prefix = prefix;
        this.unkId = id(vocab, unk, file);
        this.clsId = id(vocab, "[CLS]", file);
        this.sepId = id(vocab, "[SEP]", file);
        this.padId = vocab.getOrDefault("[PAD]", 0);
        this.maxInputCharsPerWord = maxChars;
        this.defaultMaxTokens = defaultMaxTokens;
        this.cleanText = cleanText;
        this.chineseChars = chineseChars;
        this.stripAccents = stripAccents;
        this.lowercase = lowercase;
    }

    private static int id(Map<String, Integer> vocab, String token, String file) {
        Integer id = vocab.get(token);
        if (id == null) throw new IllegalArgumentException(file + ": the vocabulary has no " + token + " token");
        return id;
    }

    /** Reads a Hugging Face {@code tokenizer.json} with a WordPiece model and a BERT normaliser/pre-tokenizer. */
    public static WordPieceTokenizer fromJson(byte[] utf8, String file) {
        Map<String, Object> root;
        try {
            root = Json.asMap(Json.parse(utf8), file);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": not a tokenizer.json (" + e.getMessage() + ")", e);
        }
        Map<String, Object> model = Json.asMap(need(root, "model", file), file + " model");
        String type = Json.asString(need(model, "type", file), file + " model.type");
        if (!type.equals("WordPiece")) throw new IllegalArgumentException(file + ": model.type is " + type + ", not WordPiece");
        Map<String, Object> vocabJson = Json.asMap(need(model, "vocab", file), file + " model.vocab");
        Map<String, Integer> vocab = new HashMap<>(vocabJson.size() * 2);
        for (var e : vocabJson.entrySet()) {
            long id = Json.asLong(e.getValue(), file + " model.vocab[" + e.getKey() + "]");
            if (id < 0 || id >= 10_000_000) throw new IllegalArgumentException(file + ": token " + e.getKey() + " has id " + id);
            vocab.put(e.getKey(), (int) id);
        }
        String unk = model.get("unk_token") == null ? "[UNK]" : Json.asString(model.get("unk_token"), file + " unk_token");
        String prefix = model.get("continuing_subword_prefix") == null ? "##"
                : Json.asString(model.get("continuing_subword_prefix"), file + " continuing_subword_prefix");
        int maxChars = model.get("max_input_chars_per_word") == null ? 100
                : Json.asInt(model.get("max_input_chars_per_word"), file + " max_input_chars_per_word");

        boolean clean = true, chinese = true, lower = true;
        Boolean strip = null;
        Object norm = root.get("normalizer");
        if (norm != null) {
            Map<String, Object> n = Json.asMap(norm, file + " normalizer");
            String nt = Json.asString(need(n, "type", file), file + " normalizer.type");
            if (!nt.equals("BertNormalizer"))
                throw new IllegalArgumentException(file + ": normalizer " + nt + " is not supported (only BertNormalizer)");
            if (n.get("clean_text") != null) clean = Json.asBoolean(n.get("clean_text"), file + " clean_text");
            if (n.get("handle_chinese_chars") != null) chinese = Json.asBoolean(n.get("handle_chinese_chars"), file + " handle_chinese_chars");
            if (n.get("lowercase") != null) lower = Json.asBoolean(n.get("lowercase"), file + " lowercase");
            if (n.get("strip_accents") != null) strip = Json.asBoolean(n.get("strip_accents"), file + " strip_accents");
        }
        Object pre = root.get("pre_tokenizer");
        if (pre != null) {
            String pt = Json.asString(need(Json.asMap(pre, file + " pre_tokenizer"), "type", file), file + " pre_tokenizer.type");
            if (!pt.equals("BertPreTokenizer"))
                throw new IllegalArgumentException(file + ": pre_tokenizer " + pt + " is not supported (only BertPreTokenizer)");
        }
        int maxTokens = 512;
        Object trunc = root.get("truncation");
        if (trunc != null) maxTokens = Json.asInt(need(Json.asMap(trunc, file + " truncation"), "max_length", file), file + " max_length");
        Map<String, Integer> added = new LinkedHashMap<>();
        Object addedJson = root.get("added_tokens");
        if (addedJson != null) {
            for (Object o : Json.asList(addedJson, file + " added_tokens")) {
                Map<String, Object> a = Json.asMap(o, file + " added_tokens[]");
                String content = Json.asString(need(a, "content", file), file + " added_tokens[].content");
                if (!content.isEmpty()) added.put(content, Json.asInt(need(a, "id", file), file + " added_tokens[].id"));
            }
        }
        // strip_accents null means "as lowercase" (BERT's rule).
        return new WordPieceTokenizer(vocab, added, prefix, unk, maxChars, maxTokens, clean, chinese, strip == null ? lower : strip,
                lower, file);
    }

    private static Object need(Map<String, Object> m, String key, String file) {
        Object v = m.get(key);
        if (v == null) throw new IllegalArgumentException(file + ": missing \"" + key + "\"");
        return v;
    }

    /** The truncation length the tokenizer file sets (ids, specials included). */
    public int defaultMaxTokens() {
        return defaultMaxTokens;
    }

    public int padId() {
        return padId;
    }

    public int vocabSize() {
        int max = 0;
        for (int v : vocab.values()) max = Math.max(max, v);
        return max + 1;
    }

    /** {@code [CLS] pieces [SEP]}, truncated to the file's length. */
    public int[] encode(String text) {
        return encode(text, defaultMaxTokens);
    }

    /** {@code [CLS] pieces [SEP]}, at most {@code maxTokens} ids (at least 2). */
    public int[] encode(String text, int maxTokens) {
        if (maxTokens < 2) throw new IllegalArgumentException("encode: maxTokens must be at least 2, got " + maxTokens);
        List<Integer> ids = new ArrayList<>();
        ids.add(clsId);
        int budget = maxTokens - 1;
        outer:
        for (Object part : splitAdded(text)) {
            if (part instanceof Integer id) {
                if (ids.size() >= budget) break;
                ids.add(id);
                continue;
            }
            for (String word : preTokenize(normalize((String) part))) {
                for (int id : wordPiece(word)) {
                    if (ids.size() >= budget) break outer;
                    ids.add(id);
                }
            }
        }
        ids.add(sepId);
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) out[i] = ids.get(i);
        return out;
    }

    /** The text cut at literal added tokens: Strings between, Integer ids for the tokens (leftmost, longest first). */
    private List<Object> splitAdded(String text) {
        List<Object> parts = new ArrayList<>();
        int start = 0, i = 0;
        while (i < text.length()) {
            String hit = null;
            for (String tok : addedTokens.keySet())
                if (text.startsWith(tok, i) && (hit == null || tok.length() > hit.length())) hit = tok;
            if (hit != null) {
                if (i > start) parts.add(text.substring(start, i));
                parts.add(addedTokens.get(hit));
                i += hit.length();
                start = i;
            } else {
                i++;
            }
        }
        if (start < text.length()) parts.add(text.substring(start));
        return parts;
    }

    String normalize(String text) {
        StringBuilder b = new StringBuilder(text.length() + 8);
        text.codePoints().forEach(c -> {
            if (cleanText) {
                if (c == 0 || c == 0xFFFD || isControl(c)) return;
                if (isWhitespace(c)) {
                    b.append(' ');
                    return;
                }
            }
            if (chineseChars && isCjk(c)) b.append(' ').appendCodePoint(c).append(' ');
            else b.appendCodePoint(c);
        });
        String s = b.toString();
        if (stripAccents) {
            String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
            StringBuilder t = new StringBuilder(nfd.length());
            nfd.codePoints().filter(c -> Character.getType(c) != Character.NON_SPACING_MARK).forEach(t::appendCodePoint);
            s = t.toString();
        }
        return lowercase ? s.toLowerCase(Locale.ROOT) : s;
    }

    static List<String> preTokenize(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (isWhitespace(c)) {
                if (!w.isEmpty()) words.add(w.toString());
                w.setLength(0);
            } else if (isPunctuation(c)) {
                if (!w.isEmpty()) words.add(w.toString());
                w.setLength(0);
                words.add(new String(Character.toChars(c)));
            } else {
                w.appendCodePoint(c);
            }
        }
        if (!w.isEmpty()) words.add(w.toString());
        return words;
    }

    private int[] wordPiece(String word) {
        int chars = word.codePointCount(0, word.length());
        if (chars > maxInputCharsPerWord) return new int[] {unkId};
        List<Integer> out = new ArrayList<>();
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            Integer found = null;
            while (start < end) {
                String sub = word.substring(start, end);
                if (start > 0) sub = prefix + sub;
                found = vocab.get(sub);
                if (found != null) break;
                end = word.offsetByCodePoints(end, -1);
            }
            if (found == null) return new int[] {unkId};
            out.add(found);
            start = end;
        }
        int[] ids = new int[out.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = out.get(i);
        return ids;
    }

    /** Rust's {@code char::is_whitespace} plus BERT's tab/newline/return. */
    static boolean isWhitespace(int c) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
        // White_Space property: Zs, Zl, Zp and the ASCII/Latin-1 controls U+0009..U+000D, U+0085.
        if (c >= 0x09 && c <= 0x0D || c == 0x85) return true;
        int t = Character.getType(c);
        return t == Character.SPACE_SEPARATOR || t == Character.LINE_SEPARATOR || t == Character.PARAGRAPH_SEPARATOR;
    }

    /** Unicode "other" categories (Cc, Cf, Cs, Co, Cn), except tab, newline and return. */
    static boolean isControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') return false;
        int t = Character.getType(c);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.SURROGATE || t == Character.PRIVATE_USE
                || t == Character.UNASSIGNED;
    }

    /** ASCII punctuation (which includes $, +, <, =, >, ^, `, |, ~) or any Unicode P* category. */
    static boolean isPunctuation(int c) {
        if (c >= 33 && c <= 47 || c >= 58 && c <= 64 || c >= 91 && c <= 96 || c >= 123 && c <= 126) return true;
        int t = Character.getType(c);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION || t == Character.START_PUNCTUATION
                || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION;
    }

    /** The CJK Unified Ideographs blocks BERT pads with spaces. */
    static boolean isCjk(int c) {
        return c >= 0x4E00 && c <= 0x9FFF || c >= 0x3400 && c <= 0x4DBF || c >= 0x20000 && c <= 0x2A6DF
                || c >= 0x2A700 && c <= 0x2B73F || c >= 0x2B740 && c <= 0x2B81F || c >= 0x2B920 && c <= 0x2CEAF
                || c >= 0xF900 && c <= 0xFAFF || c >= 0x2F800 && c <= 0x2FA1F;
    }

    @Override
    public String toString() {
        return "WordPieceTokenizer[vocab=" + vocab.size() + ", maxTokens=" + defaultMaxTokens + ", added=" + Arrays.toString(
                addedTokens.keySet().toArray()) + "]";
    }
}
