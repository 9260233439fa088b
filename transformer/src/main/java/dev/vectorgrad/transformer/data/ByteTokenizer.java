package dev.vectorgrad.transformer.data;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Byte-level tokenizer: a text's ids are its UTF-8 bytes (0–255), so every text encodes and the vocabulary is
 * always 256. Decoding replaces byte sequences that are not valid UTF-8 (which a sampler can produce) with U+FFFD.
 * JSON form: {@code {"type": "byte"}}.
 */
public final class ByteTokenizer implements Tokenizer {
    /** The one instance (the tokenizer has no state). */
    public static final ByteTokenizer INSTANCE = new ByteTokenizer();

    private ByteTokenizer() {}

    @Override
    public int vocabSize() {
        return 256;
    }

    @Override
    public int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xFF;
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    /** The bytes themselves (no U+FFFD for a character split across ids). */
    @Override
    public byte[] decodeBytes(int[] ids) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] > 255)
                throw new IllegalArgumentException("ByteTokenizer: id " + ids[i] + " at position " + i + " is outside [0, 256)");
            b[i] = (byte) ids[i];
        }
        return b;
    }

    @Override
    public String toJson() {
        return "{\n  \"type\": \"byte\",\n  \"vocab_size\": 256\n}\n";
    }

    static ByteTokenizer fromJsonObject(Map<?, ?> m) {
        if (m.get("vocab_size") instanceof Number n && n.longValue() != 256)
            throw new IllegalArgumentException("tokenizer JSON: a \"byte\" tokenizer has vocab_size 256, got " + n);
        return INSTANCE;
    }

    @Override
    public String toString() {
        return "ByteTokenizer[256]";
    }
}
