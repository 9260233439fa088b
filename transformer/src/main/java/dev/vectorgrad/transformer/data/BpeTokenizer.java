package dev.vectorgrad.transformer.data;

import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.transformer.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * GPT-2's byte-level BPE tokenizer (OpenAI's {@code encoder.py}, Hugging Face's {@code GPT2Tokenizer}, tiktoken's
 * {@code r50k_base}): ids equal GPT-2's own.
 *
 * <p>Encoding: the text is cut into pre-tokens by GPT-2's pattern
 * {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+} (case-sensitive, so
 * {@code "DON'T"} splits as {@code DON ' T}; {@code \s} is Unicode's White_Space, as tiktoken and Java's
 * {@code UNICODE_CHARACTER_CLASS}), here matched by hand rather than by {@code java.util.regex}. Each pre-token's
 * UTF-8 bytes start as one token each (the byte-to-unicode table maps a byte to the vocabulary entry of one
 * printable character), then the adjacent pair of lowest merge rank is merged, leftmost first, until no pair has a
 * rank. Pre-token → ids results are cached (at most {@value #CACHE_MAX} entries, pre-tokens up to
 * {@value #CACHE_MAX_CHARS} chars).
 *
 * <p>Special tokens ({@code <|endoftext|>} for GPT-2, or a {@code tokenizer.json}'s {@code added_tokens}): like
 * Hugging Face's {@code GPT2Tokenizer} (and tiktoken's {@code encode(text, allowed_special="all")}),
 * {@link #encode} turns a literal {@code "<|endoftext|>"} in the text into its one id 50256 and encodes the text
 * on either side separately; {@link #encodeOrdinary} treats it as plain text (tiktoken's {@code encode_ordinary}:
 * {@code <|, endoftext, |>}). Both round-trip: {@code decode(encode(s)).equals(s)} for every valid Unicode string.
 * A lone surrogate (not valid Unicode) is encoded as U+FFFD.
 *
 * <p>Decoding: {@link #decodeBytes} gives the raw bytes; {@link #decode} decodes them as UTF-8 and replaces each
 * malformed or incomplete sequence (a prefix of the ids may end inside a character) by U+FFFD, never throwing for
 * an id in the vocabulary. {@link Utf8Stream} decodes a stream of ids character by character.
 *
 * <p>Files: {@link #load(Path)} reads a model folder ({@code vocab.json} + {@code merges.txt}, or a byte-level BPE
 * {@code tokenizer.json}); {@link #save(Path)} writes {@code vocab.json} and {@code merges.txt} beside a small
 * {@code tokenizer.json} ({@code {"type": "bpe", ...}}) so a checkpoint folder is self-contained.
 */
public final class BpeTokenizer implements Tokenizer {
    /** GPT-2's end-of-text token. */
    public static final String END_OF_TEXT = "<|endoftext|>";
    static final String VOCAB_FILE = "vocab.json", MERGES_FILE = "merges.txt";
    static final int CACHE_MAX = 1 << 17, CACHE_MAX_CHARS = 64;
    /** Ids at or above this are refused (no real vocabulary is near it; it bounds what a bad file allocates). */
    static final int MAX_ID = 1 << 22;

    private final String[] tokens;      // id → vocabulary string (byte-level characters), null for a gap
    private final byte[][] tokenBytes;  // id → the bytes it decodes to
    private final int[] byteIds = new int[256];  // byte → id of its one-character token
    private final int[] mergeLeft, mergeRight, mergeResult;  // by rank
    private final PairRanks ranks;
    private final String[] specials;    // split off by encode(), longest first
    private final int[] specialIds;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    private BpeTokenizer(String origin, Map<String, Integer> vocab, List<String[]> merges, Map<String, Integer> special) {
        int size = 0;
        for (int id : vocab.values()) size = Math.max(size, id + 1);
        for (int id : special.values()) size = Math.max(size, id + 1);
        tokens = new String[size];
        tokenBytes = new byte[size][];
        for (var e : vocab.entrySet()) {
            int id = e.getValue();
            if (id < 0) throw new IllegalArgumentException(origin + ": token " + Json.quote(e.getKey()) + " has a negative id " + id);
            if (tokens[id] != null)
                throw new IllegalArgumentException(origin + ": id " + id + " is given to both " + Json.quote(tokens[id]) + " and " + Json.quote(e.getKey()));
            tokens[id] = e.getKey();
            tokenBytes[id] = ByteLevel.toBytes(e.getKey());
        }
        for (var e : special.entrySet()) {
            int id = e.getValue();
            if (tokens[id] != null && !tokens[id].equals(e.getKey()))
                throw new IllegalArgumentException(origin + ": added token " + Json.quote(e.getKey()) + " has id " + id + ", which the vocabulary gives to "
                        + Json.quote(tokens[id]));
            tokens[id] = e.getKey();
            tokenBytes[id] = e.getKey().getBytes(StandardCharsets.UTF_8);  // added tokens are plain text, not byte-level
        }
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]));
            if (id == null)
                throw new IllegalArgumentException(origin + ": the vocabulary has no token for byte " + b + " (" + Json.quote(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]))
                        + "), so it is not a byte-level BPE vocabulary");
            byteIds[b] = id;
        }
        int n = merges.size();
        mergeLeft = new int[n];
        mergeRight = new int[n];
        mergeResult = new int[n];
        ranks = new PairRanks(n);
        for (int r = 0; r < n; r++) {
            String[] m = merges.get(r);
            Integer a = vocab.get(m[0]), b = vocab.get(m[1]), ab = vocab.get(m[0] + m[1]);
            String what = origin + ": merge " + (r + 1) + " (" + Json.quote(m[0] + " " + m[1]) + ")";
            if (a == null) throw new IllegalArgumentException(what + ": " + Json.quote(m[0]) + " is not in the vocabulary");
            if (b == null) throw new IllegalArgumentException(what + ": " + Json.quote(m[1]) + " is not in the vocabulary");
            if (ab == null) throw new IllegalArgumentException(what + ": the merged token " + Json.quote(m[0] + m[1]) + " is not in the vocabulary");
            mergeLeft[r] = a;
            mergeRight[r] = b;
            mergeResult[r] = ab;
            ranks.put(a, b, r);  // a repeated pair keeps its last rank, as GPT-2's dict(zip(bpe_merges, range(...)))
        }
        specials = special.keySet().stream().sorted((x, y) -> y.length() - x.length()).toArray(String[]::new);
        specialIds = new int[specials.length];
        for (int i = 0; i < specials.length; i++) specialIds[i] = special.get(specials[i]);
    }

    // ---------------------------------------------------------------- reading

    /**
     * The tokenizer of a model folder: its {@code tokenizer.json} (this class's own form, or Hugging Face's
     * byte-level BPE form) if there is one, else {@code vocab.json} + {@code merges.txt}.
     */
    public static BpeTokenizer load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new java.nio.file.NoSuchFileException(dir.toString());
        Path tj = dir.resolve(Tokenizer.FILE_NAME);
        if (Files.exists(tj)) {
            if (Tokenizer.load(tj) instanceof BpeTokenizer b) return b;
            throw new IllegalArgumentException(tj + ": not a BPE tokenizer");
        }
        Path v = dir.resolve(VOCAB_FILE), m = dir.resolve(MERGES_FILE);
        if (!Files.exists(v) || !Files.exists(m))
            throw new IllegalArgumentException(dir + ": no tokenizer here (expected " + Tokenizer.FILE_NAME + ", or " + VOCAB_FILE + " and " + MERGES_FILE + ")");
        return fromFiles(v, m);
    }

    /** GPT-2's two files; {@code <|endoftext|>}, if in the vocabulary, is the special token. */
    public static BpeTokenizer fromFiles(Path vocabJson, Path mergesTxt) throws IOException {
        Map<String, Integer> vocab = readVocab(vocabJson);
        List<String[]> merges = readMerges(mergesTxt);
        Map<String, Integer> special = new LinkedHashMap<>();
        if (vocab.containsKey(END_OF_TEXT)) special.put(END_OF_TEXT, vocab.get(END_OF_TEXT));
        return new BpeTokenizer(vocabJson + " and " + mergesTxt, vocab, merges, special);
    }

    private static Map<String, Integer> readVocab(Path file) throws IOException {
        Object parsed = Json.read(file);
        if (!(parsed instanceof Map<?, ?> m) || m.isEmpty())
            throw new IllegalArgumentException(file + ": expected a non-empty JSON object of token → id");
        return vocabOf(m, file.toString());
    }

    private static Map<String, Integer> vocabOf(Map<?, ?> m, String what) {
        Map<String, Integer> vocab = new LinkedHashMap<>(m.size() * 2);
        for (var e : m.entrySet()) {
            if (!(e.getValue() instanceof Number num) || num.longValue() < 0 || num.longValue() >= MAX_ID || num.doubleValue() != num.longValue())
                throw new IllegalArgumentException(what + ": the id of token " + Json.quote(String.valueOf(e.getKey())) + " must be an integer in [0, "
                        + MAX_ID + "), got " + e.getValue());
            vocab.put((String) e.getKey(), num.intValue());
        }
        return vocab;
    }

    private static List<String[]> readMerges(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String[]> merges = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isEmpty() || (i == 0 && line.startsWith("#version"))) continue;
            String[] parts = line.split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty())
                throw new IllegalArgumentException(file + ": line " + (i + 1) + " is not a merge of two tokens separated by one space: " + Json.quote(line));
            merges.add(parts);
        }
        return merges;
    }

    /** A Hugging Face {@code tokenizer.json} with a BPE model and the byte-level pre-tokenizer. */
    static BpeTokenizer fromHfJson(Map<?, ?> root, String file) {
        if (!(root.get("model") instanceof Map<?, ?> model)) throw new IllegalArgumentException(file + ": no \"model\" object");
        if (model.get("type") != null && !"BPE".equals(model.get("type")))
            throw new IllegalArgumentException(file + ": model type is " + Json.quote(String.valueOf(model.get("type"))) + ", not \"BPE\"");
        Object pre = root.get("pre_tokenizer");
        if (!(pre instanceof Map<?, ?> p) || !"ByteLevel".equals(p.get("type")))
            throw new IllegalArgumentException(file + ": the pre_tokenizer must be \"ByteLevel\" (GPT-2's), got "
                    + (pre instanceof Map<?, ?> p2 ? Json.quote(String.valueOf(p2.get("type"))) : String.valueOf(pre)));
        if (Boolean.TRUE.equals(p.get("add_prefix_space")))
            throw new IllegalArgumentException(file + ": ByteLevel add_prefix_space=true is not supported (GPT-2 has false)");
        if (Boolean.FALSE.equals(p.get("use_regex")))
            throw new IllegalArgumentException(file + ": ByteLevel use_regex=false is not supported (GPT-2 has true)");
        // options that would change GPT-2's ids: refused rather than ignored
        if (root.get("normalizer") != null)
            throw new IllegalArgumentException(file + ": a normalizer is not supported (GPT-2 has none), got " + Json.write(root.get("normalizer")));
        if (Boolean.TRUE.equals(model.get("ignore_merges")))
            throw new IllegalArgumentException(file + ": model.ignore_merges=true is not supported (GPT-2 has false)");
        if (model.get("dropout") instanceof Number d && d.doubleValue() != 0)
            throw new IllegalArgumentException(file + ": BPE dropout " + d + " is not supported (GPT-2 has none)");
        for (String k : new String[] {"continuing_subword_prefix", "end_of_word_suffix"})
            if (model.get(k) instanceof String x && !x.isEmpty())
                throw new IllegalArgumentException(file + ": model." + k + " " + Json.quote(x) + " is not supported (GPT-2 has none)");
        if (!(model.get("vocab") instanceof Map<?, ?> v) || v.isEmpty())
            throw new IllegalArgumentException(file + ": model.vocab must be a non-empty object of token → id");
        Map<String, Integer> vocab = vocabOf(v, file + ": model.vocab");
        if (!(model.get("merges") instanceof List<?> ms)) throw new IllegalArgumentException(file + ": model.merges must be an array");
        List<String[]> merges = new ArrayList<>(ms.size());
        for (int i = 0; i < ms.size(); i++) {
            Object o = ms.get(i);
            String[] pair = null;
            if (o instanceof String s) {
                String[] parts = s.split(" ", -1);
                if (parts.length == 2 && !parts[0].isEmpty() && !parts[1].isEmpty()) pair = parts;
            } else if (o instanceof List<?> l && l.size() == 2 && l.get(0) instanceof String a && l.get(1) instanceof String b && !a.isEmpty() && !b.isEmpty()) {
                pair = new String[] {a, b};
            }
            if (pair == null)
                throw new IllegalArgumentException(file + ": model.merges[" + i + "] must be \"a b\" or [\"a\", \"b\"], got " + Json.write(o));
            merges.add(pair);
        }
        Map<String, Integer> special = new LinkedHashMap<>();
        if (root.get("added_tokens") instanceof List<?> added) {
            for (int i = 0; i < added.size(); i++) {
                if (!(added.get(i) instanceof Map<?, ?> t) || !(t.get("content") instanceof String c) || c.isEmpty() || !(t.get("id") instanceof Number id))
                    throw new IllegalArgumentException(file + ": added_tokens[" + i + "] needs a non-empty \"content\" and an \"id\"");
                special.put(c, id.intValue());
            }
        }
        return new BpeTokenizer(file, vocab, merges, special);
    }

    /** This class's own {@code tokenizer.json}: the vocabulary and merges are in files beside it. */
    static BpeTokenizer fromJsonObject(Map<?, ?> m, Path dir) throws IOException {
        String vf = m.get("vocab") instanceof String s ? s : VOCAB_FILE, mf = m.get("merges") instanceof String s ? s : MERGES_FILE;
        Map<String, Integer> vocab = readVocab(dir.resolve(vf));
        List<String[]> merges = readMerges(dir.resolve(mf));
        Map<String, Integer> special = new LinkedHashMap<>();
        if (m.get("special_tokens") instanceof Map<?, ?> sp) special.putAll(vocabOf(sp, "tokenizer JSON: special_tokens"));
        BpeTokenizer t = new BpeTokenizer(dir.resolve(vf) + " and " + dir.resolve(mf), vocab, merges, special);
        if (m.get("vocab_size") instanceof Number n && n.intValue() != t.vocabSize())
            throw new IllegalArgumentException("tokenizer JSON: \"vocab_size\" is " + n + " but " + dir.resolve(vf) + " gives " + t.vocabSize());
        return t;
    }

    // ---------------------------------------------------------------- writing

    /** {@code {"type": "bpe", "vocab": "vocab.json", "merges": "merges.txt", "special_tokens": {...}}}. */
    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "bpe");
        m.put("vocab_size", (long) tokens.length);
        m.put("vocab", VOCAB_FILE);
        m.put("merges", MERGES_FILE);
        Map<String, Object> sp = new LinkedHashMap<>();
        for (int i = 0; i < specials.length; i++) sp.put(specials[i], (long) specialIds[i]);
        m.put("special_tokens", sp);
        return Json.writePretty(m) + "\n";
    }

    /** Writes {@code vocab.json} and {@code merges.txt} beside {@code file}, then {@link #toJson()} to it, each atomically. */
    @Override
    public void save(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int id = 0; id < tokens.length; id++) if (tokens[id] != null) vocab.put(tokens[id], (long) id);
        AtomicFiles.writeString(dir.resolve(VOCAB_FILE), Json.write(vocab));
        StringBuilder b = new StringBuilder("#version: 0.2\n");
        for (int r = 0; r < mergeLeft.length; r++) b.append(tokens[mergeLeft[r]]).append(' ').append(tokens[mergeRight[r]]).append('\n');
        AtomicFiles.writeString(dir.resolve(MERGES_FILE), b.toString());
        AtomicFiles.writeString(file, toJson());
    }

    // ---------------------------------------------------------------- encoding

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    /** The id of a vocabulary entry or special token (byte-level characters, e.g. {@code "Ġthe"}), or −1. */
    public int idOf(String token) {
        for (int i = 0; i < tokens.length; i++) if (token.equals(tokens[i])) return i;
        return -1;
    }

    /** GPT-2's ids of {@code text}, a literal special token (e.g. {@code <|endoftext|>}) becoming its one id. */
    @Override
    public int[] encode(String text) {
        IntList out = new IntList(text.length() / 3 + 16);
        int from = 0;
        while (true) {
            int at = -1, which = -1;
            for (int k = 0; k < specials.length; k++) {  // earliest occurrence; longest first on a tie
                int i = text.indexOf(specials[k], from);
                if (i >= 0 && (at < 0 || i < at)) {
                    at = i;
                    which = k;
                }
            }
            if (at < 0) break;
            encodeOrdinary(text, from, at, out);
            out.add(specialIds[which]);
            from = at + specials[which].length();
        }
        encodeOrdinary(text, from, text.length(), out);
        return out.toArray();
    }

    /** GPT-2's ids of {@code text} with no special tokens: a literal {@code <|endoftext|>} is ordinary text. */
    public int[] encodeOrdinary(String text) {
        IntList out = new IntList(text.length() / 3 + 16);
        encodeOrdinary(text, 0, text.length(), out);
        return out.toArray();
    }

    /**
     * Cuts {@code text[from, to)} into pre-tokens, by GPT-2's pattern matched by hand: at each position the first
     * alternative that matches wins, and each alternative is greedy.
     */
    private void encodeOrdinary(String text, int from, int to, IntList out) {
        Scratch s = new Scratch();
        int i = from;
        while (i < to) {
            int c = text.charAt(i);
            int cls = classAt(text, i, to, c);
            int end;
            if (c == '\'' && i + 1 < to && contraction(text, i, to) > 0) {
                end = i + contraction(text, i, to);
            } else if (cls != WS) {
                // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: a run of one class, led by at most one space
                end = run(text, i + Character.charCount(codePointAt(text, i, to)), to, cls);
            } else {
                int j = i + Character.charCount(codePointAt(text, i, to));
                int nextCls = j < to ? classAt(text, j, to, text.charAt(j)) : WS;
                if (c == ' ' && j < to && nextCls != WS) {
                    // ` ?X+` with the space: the run of the class of the next character
                    end = run(text, j + Character.charCount(codePointAt(text, j, to)), to, nextCls);
                } else {
                    // `\s+(?!\S)|\s+`: the whitespace run, less its last character if a non-space follows it
                    int runEnd = run(text, j, to, WS);
                    if (runEnd == to) end = to;
                    else end = runEnd - 1 > i ? runEnd - 1 : runEnd;  // (white space is all in the BMP: one char each)
                }
            }
            encodePiece(text, i, end, out, s);
            i = end;
        }
    }

    /** Length of a contraction {@code 's 't 're 've 'm 'll 'd} at {@code i} (a {@code '}), or 0. */
    private static int contraction(String t, int i, int to) {
        char a = t.charAt(i + 1);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (i + 2 < to) {
            char b = t.charAt(i + 2);
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        }
        return 0;
    }

    /** End of the run of class {@code cls} starting at {@code j}. */
    private static int run(String t, int j, int to, int cls) {
        while (j < to) {
            char ch = t.charAt(j);
            if (ch < 0x80) {
                if (ASCII_CLASS[ch] != cls) break;
                j++;
            } else {
                if (classAt(t, j, to, ch) != cls) break;
                j += Character.isHighSurrogate(ch) && j + 1 < to && Character.isLowSurrogate(t.charAt(j + 1)) ? 2 : 1;
            }
        }
        return j;
    }

    static final byte OTHER = 0, LETTER = 1, NUMBER = 2, WS = 3;
    private static final byte[] ASCII_CLASS = new byte[128];
    private static final byte[] BMP_CLASS = new byte[0x10000];

    static {
        for (int c = 0; c < 0x10000; c++) BMP_CLASS[c] = classOf(c);
        System.arraycopy(BMP_CLASS, 0, ASCII_CLASS, 0, 128);
    }

    /** GPT-2's classes: \p{L}, \p{N}, \s (Unicode White_Space, as {@code Pattern.UNICODE_CHARACTER_CLASS}), the rest. */
    static byte classOf(int cp) {
        int type = Character.getType(cp);
        switch (type) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER, Character.MODIFIER_LETTER,
                 Character.OTHER_LETTER -> {
                return LETTER;
            }
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> {
                return NUMBER;
            }
            case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> {
                return WS;
            }
            default -> {
                return (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 ? WS : OTHER;
            }
        }
    }

    private static int classAt(String t, int i, int to, int ch) {
        if (!Character.isHighSurrogate((char) ch)) return BMP_CLASS[ch];
        return classOf(codePointAt(t, i, to));
    }

    private static int codePointAt(String t, int i, int to) {
        char c = t.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(t.charAt(i + 1))) return Character.toCodePoint(c, t.charAt(i + 1));
        return c;
    }

    /** Per-call buffers: the piece's token ids and the ranks of its adjacent pairs. */
    private static final class Scratch {
        int[] ids = new int[64], pairRank = new int[64];
    }

    /** Appends the ids of pre-token {@code text[start, end)}, from the cache or by merging its bytes. */
    private void encodePiece(String text, int start, int end, IntList out, Scratch s) {
        int len = end - start;
        if (len == 1 && text.charAt(start) < 0x80) {  // one ASCII character: its byte's token
            out.add(byteIds[text.charAt(start)]);
            return;
        }
        String key = null;
        if (len <= CACHE_MAX_CHARS) {
            key = text.substring(start, end);
            int[] hit = cache.get(key);
            if (hit != null) {
                out.addAll(hit);
                return;
            }
        }
        int n = toByteIds(text, start, end, s);
        n = merge(s, n);
        if (key != null && cache.size() < CACHE_MAX) cache.put(key, Arrays.copyOf(s.ids, n));
        out.addAll(s.ids, n);
    }

    /** The piece's UTF-8 bytes as one-byte token ids in {@code s.ids}; returns their count. */
    private int toByteIds(String t, int start, int end, Scratch s) {
        int need = (end - start) * 3;
        if (s.ids.length < need) {
            s.ids = new int[need];
            s.pairRank = new int[need];
        }
        int[] ids = s.ids;
        int n = 0;
        for (int i = start; i < end; i++) {
            char c = t.charAt(i);
            if (c < 0x80) {
                ids[n++] = byteIds[c];
            } else if (c < 0x800) {
                ids[n++] = byteIds[0xC0 | (c >> 6)];
                ids[n++] = byteIds[0x80 | (c & 0x3F)];
            } else if (Character.isSurrogate(c)) {
                int cp = 0xFFFD;  // a lone surrogate is not Unicode: encoded as U+FFFD
                if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(t.charAt(i + 1))) cp = Character.toCodePoint(c, t.charAt(++i));
                if (cp >= 0x10000) {
                    ids[n++] = byteIds[0xF0 | (cp >> 18)];
                    ids[n++] = byteIds[0x80 | ((cp >> 12) & 0x3F)];
                } else {
                    ids[n++] = byteIds[0xE0 | (cp >> 12)];
                }
                ids[n++] = byteIds[0x80 | ((cp >> 6) & 0x3F)];
                ids[n++] = byteIds[0x80 | (cp & 0x3F)];
            } else {
                ids[n++] = byteIds[0xE0 | (c >> 12)];
                ids[n++] = byteIds[0x80 | ((c >> 6) & 0x3F)];
                ids[n++] = byteIds[0x80 | (c & 0x3F)];
            }
        }
        return n;
    }

    /**
     * BPE on {@code s.ids[0, n)}: merge the adjacent pair of lowest rank (leftmost on a tie, as tiktoken) until no
     * pair has a rank; returns the new count. {@code pairRank[i]} caches the rank of (ids[i], ids[i+1]), so a
     * merge recomputes two ranks and shifts the tail: O(n²), fine for the short pieces of ordinary text; longer
     * pieces (a run of 10⁵ digits is one pre-token) go to {@link #mergeLarge}, O(n log n).
     */
    private int merge(Scratch s, int n) {
        if (n > LARGE) return mergeLarge(s.ids, n);
        int[] ids = s.ids, pr = s.pairRank;
        for (int i = 0; i + 1 < n; i++) pr[i] = ranks.get(ids[i], ids[i + 1]);
        while (n > 1) {
            int best = Integer.MAX_VALUE, at = -1;
            for (int i = 0; i + 1 < n; i++) {
                if (pr[i] < best) {
                    best = pr[i];
                    at = i;
                }
            }
            if (at < 0) break;
            ids[at] = mergeResult[best];
            System.arraycopy(ids, at + 2, ids, at + 1, n - at - 2);
            System.arraycopy(pr, at + 2, pr, at + 1, Math.max(0, n - at - 3));
            n--;
            if (at > 0) pr[at - 1] = ranks.get(ids[at - 1], ids[at]);
            if (at + 1 < n) pr[at] = ranks.get(ids[at], ids[at + 1]);
        }
        return n;
    }

    static final int LARGE = 256;

    /**
     * The same merges as {@link #merge} for long pieces: a doubly linked list of live positions and a min-heap of
     * (rank, position) pairs, so the pop is the lowest rank, leftmost on a tie. A popped pair whose tokens changed
     * since it was pushed is stale and skipped (its rank no longer matches the pair now at that position).
     */
    private int mergeLarge(int[] ids, int n) {
        int[] next = new int[n], prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        long[] heap = new long[n];
        int size = 0;
        for (int i = 0; i + 1 < n; i++) {
            int r = ranks.get(ids[i], ids[i + 1]);
            if (r != Integer.MAX_VALUE) size = heapPush(heap, size, ((long) r << 32) | i);
        }
        boolean[] dead = new boolean[n];
        while (size > 0) {
            long top = heap[0];
            size = heapPop(heap, size);
            int r = (int) (top >>> 32), i = (int) top;
            if (dead[i] || next[i] < 0 || ranks.get(ids[i], ids[next[i]]) != r) continue;  // stale
            int j = next[i];
            ids[i] = mergeResult[r];
            dead[j] = true;
            next[i] = next[j];
            if (next[j] >= 0) prev[next[j]] = i;
            if (size + 2 > heap.length) heap = Arrays.copyOf(heap, heap.length * 2);
            if (prev[i] >= 0) {
                int pr = ranks.get(ids[prev[i]], ids[i]);
                if (pr != Integer.MAX_VALUE) size = heapPush(heap, size, ((long) pr << 32) | prev[i]);
            }
            if (next[i] >= 0) {
                int nr = ranks.get(ids[i], ids[next[i]]);
                if (nr != Integer.MAX_VALUE) size = heapPush(heap, size, ((long) nr << 32) | i);
            }
        }
        int m = 0;
        for (int i = 0; i >= 0; i = next[i]) ids[m++] = ids[i];
        return m;
    }

    private static int heapPush(long[] h, int size, long v) {
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (h[parent] <= v) break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = v;
        return size;
    }

    private static int heapPop(long[] h, int size) {
        long v = h[--size];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) break;
            if (c + 1 < size && h[c + 1] < h[c]) c++;
            if (h[c] >= v) break;
            h[i] = h[c];
            i = c;
        }
        h[i] = v;
        return size;
    }

    // ---------------------------------------------------------------- decoding

    /** The bytes {@code ids} stand for (special tokens as their UTF-8 text). */
    @Override
    public byte[] decodeBytes(int[] ids) {
        int total = 0;
        for (int k = 0; k < ids.length; k++) total += bytesOf(ids[k], k).length;
        byte[] out = new byte[total];
        int p = 0;
        for (int id : ids) {
            byte[] b = tokenBytes[id];
            System.arraycopy(b, 0, out, p, b.length);
            p += b.length;
        }
        return out;
    }

    private byte[] bytesOf(int id, int position) {
        if (id < 0 || id >= tokens.length || tokenBytes[id] == null)
            throw new IllegalArgumentException("BpeTokenizer: id " + id + " at position " + position + " is not in the vocabulary of " + tokens.length);
        return tokenBytes[id];
    }

    /** The text of {@code ids}: their bytes as UTF-8, each malformed or incomplete sequence replaced by U+FFFD. */
    @Override
    public String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "BpeTokenizer[" + tokens.length + " tokens, " + mergeLeft.length + " merges]";
    }

    // ---------------------------------------------------------------- helpers

    /** GPT-2's {@code bytes_to_unicode}: each byte as a printable character (the vocabulary's alphabet). */
    static final class ByteLevel {
        static final char[] BYTE_TO_CHAR = new char[256];
        static final int[] CHAR_TO_BYTE = new int[324];

        static {
            Arrays.fill(CHAR_TO_BYTE, -1);
            int extra = 0;
            for (int b = 0; b < 256; b++) {
                boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                char c = printable ? (char) b : (char) (256 + extra++);
                BYTE_TO_CHAR[b] = c;
                CHAR_TO_BYTE[c] = b;
            }
        }

        /** The bytes of a vocabulary string; a string with a character outside the alphabet is taken as UTF-8 text. */
        static byte[] toBytes(String token) {
            byte[] out = new byte[token.length()];
            for (int i = 0; i < token.length(); i++) {
                char c = token.charAt(i);
                if (c >= CHAR_TO_BYTE.length || CHAR_TO_BYTE[c] < 0) return token.getBytes(StandardCharsets.UTF_8);
                out[i] = (byte) CHAR_TO_BYTE[c];
            }
            return out;
        }
    }

    /** Rank of a pair of ids: open addressing on the packed pair, linear probing; −1 / MAX_VALUE for none. */
    private static final class PairRanks {
        private final long[] keys;
        private final int[] vals;
        private final int mask;

        PairRanks(int n) {
            int cap = Integer.highestOneBit(Math.max(4, n * 2 + 1)) << 1;
            keys = new long[cap];
            Arrays.fill(keys, -1L);
            vals = new int[cap];
            mask = cap - 1;
        }

        private static long key(int a, int b) {
            return ((long) a << 32) | (b & 0xFFFFFFFFL);
        }

        private static int slot(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h >>> 40);
        }

        void put(int a, int b, int rank) {
            long k = key(a, b);
            int i = slot(k) & mask;
            while (keys[i] != -1L && keys[i] != k) i = (i + 1) & mask;
            keys[i] = k;
            vals[i] = rank;
        }

        /** The rank, or {@link Integer#MAX_VALUE} if the pair never merges. */
        int get(int a, int b) {
            long k = key(a, b);
            int i = slot(k) & mask;
            while (true) {
                long x = keys[i];
                if (x == k) return vals[i];
                if (x == -1L) return Integer.MAX_VALUE;
                i = (i + 1) & mask;
            }
        }
    }

    /** A growable int array. */
    private static final class IntList {
        int[] a;
        int n;

        IntList(int cap) {
            a = new int[Math.max(16, cap)];
        }

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[n++] = v;
        }

        void addAll(int[] v) {
            addAll(v, v.length);
        }

        void addAll(int[] v, int len) {
            if (n + len > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, n + len));
            System.arraycopy(v, 0, a, n, len);
            n += len;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
