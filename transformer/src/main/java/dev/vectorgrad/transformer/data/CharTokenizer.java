package dev.vectorgrad.transformer.data;

import dev.vectorgrad.tensor.Json;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Character-level tokenizer: the vocabulary is the sorted distinct Unicode code points of a text, and a code
 * point's id is its rank (nanoGPT's {@code chars = sorted(list(set(data)))}, where Python compares code points).
 *
 * <p>Encoding a character outside the vocabulary throws an {@link IllegalArgumentException} naming the character,
 * its code point and its position. JSON form: {@code {"type": "char", "vocab": ["\n", " ", "!", ...]}}, entry
 * {@code i} being the character of id {@code i}.
 */
public final class CharTokenizer implements Tokenizer {
    private final int[] codePoints;              // id → code point, strictly increasing
    private final int[] bmpIds;                  // code point (BMP) → id, −1 if absent
    private final Map<Integer, Integer> astral;  // code point ≥ 0x10000 → id

    private CharTokenizer(int[] codePoints) {
        for (int i = 0; i < codePoints.length; i++) {
            int cp = codePoints[i];
            if (!Character.isValidCodePoint(cp))
                throw new IllegalArgumentException("CharTokenizer: invalid code point " + cp + " at id " + i);
            if (i > 0 && cp <= codePoints[i - 1])
                throw new IllegalArgumentException("CharTokenizer: vocabulary must be sorted and distinct, but id " + i + " ("
                        + show(cp) + ") does not follow id " + (i - 1) + " (" + show(codePoints[i - 1]) + ")");
        }
        this.codePoints = codePoints;
        int maxBmp = -1;
        for (int cp : codePoints) if (cp < 0x10000) maxBmp = cp;
        this.bmpIds = new int[maxBmp + 1];
        Arrays.fill(bmpIds, -1);
        this.astral = new HashMap<>();
        for (int i = 0; i < codePoints.length; i++) {
            if (codePoints[i] < 0x10000) bmpIds[codePoints[i]] = i;
            else astral.put(codePoints[i], i);
        }
    }

    /**
     * The tokenizer whose vocabulary is the sorted distinct code points of {@code texts} together (e.g. a
     * pretraining and a fine-tuning corpus, so that both encode).
     */
    public static CharTokenizer fit(String... texts) {
        java.util.BitSet seen = new java.util.BitSet();
        for (String t : texts) t.codePoints().forEach(seen::set);
        int[] cps = seen.stream().toArray();
        if (cps.length == 0) throw new IllegalArgumentException("CharTokenizer.fit: the text is empty");
        return new CharTokenizer(cps);
    }

    /** A tokenizer with exactly this vocabulary (sorted, distinct code points). */
    public static CharTokenizer ofCodePoints(int... codePoints) {
        if (codePoints.length == 0) throw new IllegalArgumentException("CharTokenizer: empty vocabulary");
        return new CharTokenizer(codePoints.clone());
    }

    @Override
    public int vocabSize() {
        return codePoints.length;
    }

    /** The vocabulary as code points, by id (a copy). */
    public int[] codePoints() {
        return codePoints.clone();
    }

    /** The id of {@code codePoint}, or −1 if it is not in the vocabulary. */
    public int idOf(int codePoint) {
        if (codePoint >= 0 && codePoint < bmpIds.length) return bmpIds[codePoint];
        Integer id = astral.get(codePoint);
        return id == null ? -1 : id;
    }

    @Override
    public int[] encode(String text) {
        int[] out = new int[text.codePointCount(0, text.length())];
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int id = idOf(cp);
            if (id < 0)
                throw new IllegalArgumentException("CharTokenizer: character " + show(cp) + " at index " + i
                        + " is not in the vocabulary of " + codePoints.length + " characters");
            out[n++] = id;
            i += Character.charCount(cp);
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder b = new StringBuilder(ids.length);
        for (int k = 0; k < ids.length; k++) {
            int id = ids[k];
            if (id < 0 || id >= codePoints.length)
                throw new IllegalArgumentException("CharTokenizer: id " + id + " at position " + k
                        + " is outside the vocabulary [0, " + codePoints.length + ")");
            b.appendCodePoint(codePoints[id]);
        }
        return b.toString();
    }

    @Override
    public String toJson() {
        List<Object> vocab = new ArrayList<>(codePoints.length);
        for (int cp : codePoints) vocab.add(Character.toString(cp));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "char");
        m.put("vocab_size", (long) codePoints.length);
        m.put("vocab", vocab);
        return Json.writePretty(m) + "\n";
    }

    static CharTokenizer fromJsonObject(Map<?, ?> m) {
        if (!(m.get("vocab") instanceof List<?> vocab))
            throw new IllegalArgumentException("tokenizer JSON: a \"char\" tokenizer needs a \"vocab\" array of one-character strings");
        int[] cps = new int[vocab.size()];
        for (int i = 0; i < cps.length; i++) {
            if (!(vocab.get(i) instanceof String s) || s.isEmpty() || s.codePointCount(0, s.length()) != 1)
                throw new IllegalArgumentException("tokenizer JSON: vocab[" + i + "] must be a string of exactly one character, got "
                        + (vocab.get(i) instanceof String s ? Json.quote(s) : String.valueOf(vocab.get(i))));
            cps[i] = s.codePointAt(0);
        }
        if (m.get("vocab_size") instanceof Number n && n.longValue() != cps.length)
            throw new IllegalArgumentException("tokenizer JSON: \"vocab_size\" is " + n + " but \"vocab\" has " + cps.length + " entries");
        if (cps.length == 0) throw new IllegalArgumentException("tokenizer JSON: \"vocab\" is empty");
        return new CharTokenizer(cps);
    }

    /** 'c' (U+XXXX), with control characters shown by their escape or code only. */
    static String show(int cp) {
        String code = String.format("U+%04X", cp);
        if (cp == '\n') return "'\\n' (" + code + ")";
        if (cp == '\t') return "'\\t' (" + code + ")";
        if (cp == '\r') return "'\\r' (" + code + ")";
        if (Character.isISOControl(cp) || !Character.isDefined(cp)) return code;
        return "'" + Character.toString(cp) + "' (" + code + ")";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharTokenizer c && Arrays.equals(codePoints, c.codePoints);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codePoints);
    }

    @Override
    public String toString() {
        return "CharTokenizer[" + codePoints.length + " characters]";
    }
}
