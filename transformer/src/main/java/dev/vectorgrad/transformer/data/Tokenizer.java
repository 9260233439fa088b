package dev.vectorgrad.transformer.data;

import dev.vectorgrad.transformer.AtomicFiles;
import dev.vectorgrad.tensor.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Text ↔ token ids. Two kinds: {@link CharTokenizer} (one id per Unicode code point of a fixed, sorted vocabulary,
 * as nanoGPT's Shakespeare-char) and {@link ByteTokenizer} (one id per UTF-8 byte, 256 ids).
 *
 * <p>A tokenizer is stored with a checkpoint as a small JSON object whose {@code "type"} names the kind
 * ({@code "char"} or {@code "byte"}); {@link #fromJson(String)} reads either back.
 */
public sealed interface Tokenizer permits CharTokenizer, ByteTokenizer {
    /** File name used next to a checkpoint. */
    String FILE_NAME = "tokenizer.json";

    /** Number of distinct ids; every id is in {@code [0, vocabSize())}. */
    int vocabSize();

    /** The ids of {@code text}. */
    int[] encode(String text);

    /** The text of {@code ids}. */
    String decode(int[] ids);

    /** The text of one id (for streaming generated tokens). */
    default String decode(int id) {
        return decode(new int[] {id});
    }

    /** This tokenizer as JSON (what {@link #fromJson(String)} reads back). */
    String toJson();

    /** Reads a tokenizer written by {@link #toJson()}. */
    static Tokenizer fromJson(String json) {
        Object parsed = Json.parse(json);
        if (!(parsed instanceof Map<?, ?> m))
            throw new IllegalArgumentException("tokenizer JSON: expected an object, got " + describe(parsed));
        Object type = m.get("type");
        if ("char".equals(type)) return CharTokenizer.fromJsonObject(m);
        if ("byte".equals(type)) return ByteTokenizer.fromJsonObject(m);
        throw new IllegalArgumentException("tokenizer JSON: \"type\" must be \"char\" or \"byte\", got " + describe(type));
    }

    /** Writes {@link #toJson()} to {@code file} atomically. */
    default void save(Path file) throws IOException {
        AtomicFiles.writeString(file, toJson());
    }

    /** Reads a tokenizer file; errors name the file. */
    static Tokenizer load(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            return fromJson(Json.decodeUtf8(bytes)); // invalid UTF-8 is a bad file, not an I/O error
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static String describe(Object o) {
        return o == null ? "null" : o instanceof String s ? Json.quote(s) : o.getClass().getSimpleName() + " " + o;
    }
}
