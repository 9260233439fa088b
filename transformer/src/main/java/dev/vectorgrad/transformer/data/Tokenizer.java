package dev.vectorgrad.transformer.data;

import dev.vectorgrad.transformer.AtomicFiles;
import dev.vectorgrad.tensor.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Text ↔ token ids. Three kinds: {@link CharTokenizer} (one id per Unicode code point of a fixed, sorted vocabulary,
 * as nanoGPT's Shakespeare-char), {@link ByteTokenizer} (one id per UTF-8 byte, 256 ids) and {@link BpeTokenizer}
 * (GPT-2's byte-level BPE).
 *
 * <p>A tokenizer is stored with a checkpoint as a small JSON object whose {@code "type"} names the kind
 * ({@code "char"}, {@code "byte"} or {@code "bpe"}); {@link #fromJson(String)} reads the first two back,
 * {@link #load(Path)} all three (a {@code "bpe"} one refers to {@code vocab.json} and {@code merges.txt} beside it)
 * and also a Hugging Face byte-level BPE {@code tokenizer.json}.
 */
public sealed interface Tokenizer permits CharTokenizer, ByteTokenizer, BpeTokenizer {
    /** File name used next to a checkpoint. */
    String FILE_NAME = "tokenizer.json";

    /** Number of distinct ids; every id is in {@code [0, vocabSize())}. */
    int vocabSize();

    /** The ids of {@code text}. */
    int[] encode(String text);

    /** The text of {@code ids}. */
    String decode(int[] ids);

    /** The bytes {@code ids} stand for; by default the UTF-8 of {@link #decode(int[])} ({@link Utf8Stream} uses it). */
    default byte[] decodeBytes(int[] ids) {
        return decode(ids).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The text of one id (a character split across ids shows as U+FFFD; {@link Utf8Stream} avoids that). */
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
        if ("bpe".equals(type))
            throw new IllegalArgumentException("tokenizer JSON: a \"bpe\" tokenizer's vocabulary is in files beside it: read it with Tokenizer.load(file)");
        throw new IllegalArgumentException("tokenizer JSON: \"type\" must be \"char\", \"byte\" or \"bpe\", got " + describe(type));
    }

    /** Writes {@link #toJson()} to {@code file} atomically. */
    default void save(Path file) throws IOException {
        AtomicFiles.writeString(file, toJson());
    }

    /**
     * Reads a tokenizer file: this project's form (a {@code "bpe"} one with its files beside it) or a Hugging Face
     * byte-level BPE {@code tokenizer.json}; errors name the file.
     */
    static Tokenizer load(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            String json = Json.decodeUtf8(bytes); // invalid UTF-8 is a bad file, not an I/O error
            Object parsed = Json.parse(json);
            if (parsed instanceof Map<?, ?> m && m.get("type") == null && m.containsKey("model"))
                return BpeTokenizer.fromHfJson(m, file.toString());
            if (parsed instanceof Map<?, ?> m && "bpe".equals(m.get("type")))
                return BpeTokenizer.fromJsonObject(m, file.toAbsolutePath().getParent());
            return fromJson(json);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(file.toString())) throw e;
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The tokenizer of a model folder: its {@code tokenizer.json} if present (any form {@link #load} reads), else
     * GPT-2's {@code vocab.json} + {@code merges.txt}.
     */
    static Tokenizer ofModel(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        return Files.exists(file) ? load(file) : BpeTokenizer.load(dir);
    }

    private static String describe(Object o) {
        return o == null ? "null" : o instanceof String s ? Json.quote(s) : o.getClass().getSimpleName() + " " + o;
    }
}
