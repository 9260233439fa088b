package dev.vectorgrad.transformer;

import dev.vectorgrad.tensor.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The shape of a GPT (nanoGPT's {@code GPTConfig}), readable from and writable to a Hugging Face GPT-2
 * {@code config.json}.
 *
 * @param vocabSize    number of token ids ({@code vocab_size})
 * @param blockSize    longest context, i.e. rows of the position embedding ({@code n_positions})
 * @param layers       transformer blocks ({@code n_layer})
 * @param heads        attention heads per block ({@code n_head}); must divide {@code nEmbd}
 * @param nEmbd        residual width ({@code n_embd}); the MLP is 4× wider
 * @param dropout      dropout rate on embeddings, attention weights and residual branches, in [0, 1)
 * @param bias         whether linear layers and LayerNorms have biases (Hugging Face GPT-2 always has them)
 * @param activation   the MLP's GELU: exact (erf) or the tanh approximation ({@code gelu_new})
 * @param layerNormEps LayerNorm epsilon ({@code layer_norm_epsilon})
 */
public record GptConfig(int vocabSize, int blockSize, int layers, int heads, int nEmbd, double dropout, boolean bias,
                        Activation activation, double layerNormEps) {

    /** The MLP nonlinearity. */
    public enum Activation {
        /** Exact GELU, x·Φ(x) (PyTorch's {@code F.gelu}, HF {@code "gelu"}). */
        GELU("gelu"),
        /** Tanh approximation, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (HF {@code "gelu_new"}, GPT-2's original). */
        GELU_TANH("gelu_new");

        private final String hfName;

        Activation(String hfName) {
            this.hfName = hfName;
        }

        /** The name Hugging Face's {@code activation_function} uses for it. */
        public String hfName() {
            return hfName;
        }

        /**
         * Reads HF's {@code activation_function}: {@code gelu} is exact; {@code gelu_new} and
         * {@code gelu_pytorch_tanh} are the same tanh approximation. Anything else is unsupported.
         */
        public static Activation fromHf(String name) {
            return switch (name) {
                case "gelu" -> GELU;
                case "gelu_new", "gelu_pytorch_tanh" -> GELU_TANH;
                default -> throw new IllegalArgumentException("activation_function \"" + name
                        + "\" is not supported (use gelu, gelu_new or gelu_pytorch_tanh)");
            };
        }
    }

    /** Names of the presets {@link #preset(String, int)} knows. */
    public static final List<String> PRESETS = List.of("baby", "gpt2");

    public GptConfig {
        positive("vocabSize", vocabSize);
        positive("blockSize", blockSize);
        positive("layers", layers);
        positive("heads", heads);
        positive("nEmbd", nEmbd);
        if (nEmbd % heads != 0)
            throw new IllegalArgumentException("GptConfig: nEmbd (" + nEmbd + ") must be divisible by heads (" + heads + ")");
        if (!(dropout >= 0 && dropout < 1))
            throw new IllegalArgumentException("GptConfig: dropout must be in [0, 1), got " + dropout);
        if (activation == null) throw new IllegalArgumentException("GptConfig: activation must not be null");
        if (!(layerNormEps > 0) || !Double.isFinite(layerNormEps))
            throw new IllegalArgumentException("GptConfig: layerNormEps must be positive and finite, got " + layerNormEps);
        // Tensors are int-indexed: every weight matrix must have fewer than 2^31 elements.
        for (long[] m : new long[][] {{vocabSize, nEmbd}, {blockSize, nEmbd}, {4L * nEmbd, nEmbd}})
            if (m[0] * m[1] > Integer.MAX_VALUE)
                throw new IllegalArgumentException("GptConfig: a " + m[0] + " x " + m[1] + " weight has more than 2^31 - 1 elements");
        parameterCount(vocabSize, blockSize, layers, nEmbd, bias);
    }

    /** Number of parameters of the model (the LM head is tied to wte, so counted once). */
    public long parameterCount() {
        return parameterCount(vocabSize, blockSize, layers, nEmbd, bias);
    }

    private static long parameterCount(long vocab, long block, long layers, long e, boolean bias) {
        // per block: ln_1 and ln_2 (E each), c_attn E x 3E, attn c_proj E x E, c_fc E x 4E, mlp c_proj 4E x E,
        // and with biases 3E + E + 4E + E for the linears and E for each layer norm; ln_f E (+ E)
        long b = bias ? 1 : 0;
        try {
            long block1 = Math.addExact(12 * e * e, (2 + 11 * b) * e);
            return Math.addExact(Math.addExact((vocab + block) * e, Math.multiplyExact(layers, block1)), (1 + b) * e);
        } catch (ArithmeticException ex) {
            throw new IllegalArgumentException("GptConfig: " + layers + " layers of width " + e + " have more than 2^63 parameters");
        }
    }

    private static void positive(String field, int v) {
        if (v <= 0) throw new IllegalArgumentException("GptConfig: " + field + " must be positive, got " + v);
    }

    /**
     * nanoGPT's CPU recipe ({@code config/train_shakespeare_char.py} scaled down as its README suggests):
     * 4 layers, 4 heads, n_embd 128, block 64, no dropout, no biases, exact GELU, ε = 1e-5.
     */
    public static GptConfig baby(int vocabSize) {
        return new GptConfig(vocabSize, 64, 4, 4, 128, 0.0, false, Activation.GELU, 1e-5);
    }

    /** GPT-2 small (124M): 12 layers, 12 heads, n_embd 768, block 1024, biases, gelu_new; dropout 0 for fine-tuning. */
    public static GptConfig gpt2(int vocabSize) {
        return new GptConfig(vocabSize, 1024, 12, 12, 768, 0.0, true, Activation.GELU_TANH, 1e-5);
    }

    /** A preset by name ({@link #PRESETS}). */
    public static GptConfig preset(String name, int vocabSize) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "baby" -> baby(vocabSize);
            case "gpt2" -> gpt2(vocabSize);
            default -> throw new IllegalArgumentException("unknown preset \"" + name + "\"; known: " + String.join(", ", PRESETS));
        };
    }

    /** Width of one attention head. */
    public int headSize() {
        return nEmbd / heads;
    }

    /** A copy with another vocabulary size. */
    public GptConfig withVocabSize(int v) {
        return new GptConfig(v, blockSize, layers, heads, nEmbd, dropout, bias, activation, layerNormEps);
    }

    /** A copy with another dropout rate. */
    public GptConfig withDropout(double d) {
        return new GptConfig(vocabSize, blockSize, layers, heads, nEmbd, d, bias, activation, layerNormEps);
    }

    // ---------------------------------------------------------------- Hugging Face config.json

    /** File name of a Hugging Face model config. */
    public static final String HF_FILE = "config.json";

    /**
     * Reads a Hugging Face GPT-2 {@code config.json} (or the directory holding one). Errors name the file and the
     * field. Hugging Face GPT-2 always has biases, so {@code bias} is true. Fields with no counterpart here must
     * have GPT-2's standard values: {@code n_inner} null or 4·n_embd, {@code tie_word_embeddings} true,
     * {@code scale_attn_weights} true, {@code scale_attn_by_inverse_layer_idx} and {@code add_cross_attention}
     * false, and the three dropout rates equal.
     */
    public static GptConfig readHf(Path file) throws IOException {
        Path f = Files.isDirectory(file) ? file.resolve(HF_FILE) : file;
        byte[] bytes = Files.readAllBytes(f);
        String json;
        try {
            json = Json.decodeUtf8(bytes); // invalid UTF-8 is a bad file, not an I/O error
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(f + ": " + e.getMessage(), e);
        }
        return fromHfJson(json, f.toString());
    }

    /** Parses HF config JSON; {@code source} names it in errors. */
    public static GptConfig fromHfJson(String json, String source) {
        Object parsed;
        try {
            parsed = Json.parse(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?> m)) throw new IllegalArgumentException(source + ": expected a JSON object");
        Hf hf = new Hf(m, source);
        String type = hf.string("model_type", "gpt2");
        if (!type.equals("gpt2"))
            throw hf.error("model_type", "is \"" + type + "\", but only \"gpt2\" configs can be read");
        int vocab = hf.positiveInt("vocab_size", null);
        int positions = hf.positiveInt("n_positions", null);
        int embd = hf.positiveInt("n_embd", null);
        int layer = hf.positiveInt("n_layer", null);
        int head = hf.positiveInt("n_head", null);
        if (embd % head != 0) throw hf.error("n_embd", "(" + embd + ") must be divisible by n_head (" + head + ")");
        Object inner = m.get("n_inner");
        if (inner != null && hf.positiveInt("n_inner", null) != 4L * embd)
            throw hf.error("n_inner", "is " + inner + ", but vectorgrad's MLP is 4 × n_embd = " + 4 * embd + " (or null)");
        double resid = hf.fraction("resid_pdrop", 0.1);
        double embdDrop = hf.fraction("embd_pdrop", 0.1);
        double attn = hf.fraction("attn_pdrop", 0.1);
        if (resid != embdDrop || resid != attn)
            throw hf.error("resid_pdrop", "(" + resid + "), embd_pdrop (" + embdDrop + ") and attn_pdrop (" + attn
                    + ") must be equal: vectorgrad has one dropout rate");
        Activation act;
        try {
            act = Activation.fromHf(hf.string("activation_function", "gelu_new"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
        double eps = hf.number("layer_norm_epsilon", 1e-5);
        if (!(eps > 0) || !Double.isFinite(eps)) throw hf.error("layer_norm_epsilon", "must be positive, got " + eps);
        hf.requireFlag("tie_word_embeddings", true, "the LM head is tied to wte");
        hf.requireFlag("scale_attn_weights", true, "attention is scaled by 1/sqrt(head size)");
        hf.requireFlag("scale_attn_by_inverse_layer_idx", false, "not supported");
        hf.requireFlag("add_cross_attention", false, "decoder-only");
        try {
            return new GptConfig(vocab, positions, layer, head, embd, resid, true, act, eps);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /**
     * This config as a Hugging Face GPT-2 {@code config.json} (what {@link #readHf} reads back). With
     * {@code bias == false} the file is still GPT-2's (which has biases): whoever writes the weights writes zeros.
     */
    public String toHfJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("activation_function", activation.hfName());
        m.put("architectures", List.of("GPT2LMHeadModel"));
        m.put("attn_pdrop", dropout);
        m.put("embd_pdrop", dropout);
        m.put("initializer_range", 0.02);
        m.put("layer_norm_epsilon", layerNormEps);
        m.put("model_type", "gpt2");
        m.put("n_embd", (long) nEmbd);
        m.put("n_head", (long) heads);
        m.put("n_inner", null);
        m.put("n_layer", (long) layers);
        m.put("n_positions", (long) blockSize);
        m.put("resid_pdrop", dropout);
        m.put("scale_attn_by_inverse_layer_idx", false);
        m.put("scale_attn_weights", true);
        m.put("tie_word_embeddings", true);
        m.put("torch_dtype", "float32");
        m.put("use_cache", true);
        m.put("vocab_size", (long) vocabSize);
        return Json.writePretty(m) + "\n";
    }

    /** Writes {@link #toHfJson()} atomically to {@code file}, or to {@code file/config.json} if it is a directory. */
    public void writeHf(Path file) throws IOException {
        Path f = Files.isDirectory(file) ? file.resolve(HF_FILE) : file;
        AtomicFiles.writeString(f, toHfJson());
    }

    /** Typed access to an HF config object with errors naming the file and field. */
    private record Hf(Map<?, ?> m, String source) {
        IllegalArgumentException error(String field, String msg) {
            return new IllegalArgumentException(source + ": " + field + " " + msg);
        }

        Object get(String field, Object dflt) {
            if (!m.containsKey(field)) {
                if (dflt == null) throw error(field, "is missing");
                return dflt;
            }
            return m.get(field);
        }

        int positiveInt(String field, Integer dflt) {
            Object v = get(field, dflt);
            if (v instanceof java.math.BigInteger) throw error(field, "must be a positive int, got " + v);
            if (!(v instanceof Long l)) throw error(field, "must be an integer, got " + show(v));
            if (l <= 0 || l > Integer.MAX_VALUE) throw error(field, "must be a positive int, got " + l);
            return (int) (long) l;
        }

        double number(String field, double dflt) {
            Object v = get(field, dflt);
            if (!(v instanceof Number n)) throw error(field, "must be a number, got " + show(v));
            return n.doubleValue();
        }

        double fraction(String field, double dflt) {
            double d = number(field, dflt);
            if (!(d >= 0 && d < 1)) throw error(field, "must be in [0, 1), got " + d);
            return d;
        }

        String string(String field, String dflt) {
            Object v = get(field, dflt);
            if (!(v instanceof String s)) throw error(field, "must be a string, got " + show(v));
            return s;
        }

        void requireFlag(String field, boolean expected, String why) {
            Object v = get(field, expected);
            if (!(v instanceof Boolean b)) throw error(field, "must be true or false, got " + show(v));
            if (b != expected) throw error(field, "must be " + expected + " (" + why + ")");
        }

        private static String show(Object v) {
            return v == null ? "null" : v instanceof String s ? Json.quote(s) : String.valueOf(v);
        }
    }
}
