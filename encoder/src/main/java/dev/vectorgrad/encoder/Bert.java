package dev.vectorgrad.encoder;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Embedding;
import dev.vectorgrad.autograd.nn.LayerNorm;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.autograd.nn.ModuleList;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * A BERT encoder (Hugging Face's {@code BertModel} without the pooler) in the autograd engine, with its
 * parameter names, so that PEFT's LoRA/VeRA target {@code encoder.layer.N.attention.self.query} as on the
 * Python side, and bottleneck adapters go where AdapterHub puts them ({@link #houlsby()}, {@link #pfeiffer()}):
 * <pre>
 * embeddings.word_embeddings / position_embeddings / token_type_embeddings, embeddings.LayerNorm
 * encoder.layer.N.attention.self.query / key / value        [C, C]
 * encoder.layer.N.attention.output.dense, .LayerNorm         [C, C]
 * encoder.layer.N.intermediate.dense                         [F, C]   then exact (erf) GELU
 * encoder.layer.N.output.dense, .LayerNorm                   [C, F]
 * </pre>
 * Post-LayerNorm blocks: {@code x = LN(x + attn(x)); x = LN(x + ffn(x))}. {@link #forward(IntTensor, IntTensor)}
 * takes right-padded ids [B, T] and a 0/1 attention mask [B, T]; padded keys get an additive mask so that a
 * row's result does not depend on how long the other rows of its batch are. No dropout: the checkpoint's
 * dropout only matters for training from scratch, and fine-tuning here runs it deterministic.
 */
public final class Bert extends Module {
    /** The sizes of a BERT; {@code eps} is every LayerNorm's epsilon (1e-12 in BERT). */
    public record Config(int vocabSize, int hidden, int layers, int heads, int intermediate, int maxPositions, int typeVocabSize,
            float eps) {
        public Config {
            if (heads <= 0 || hidden % heads != 0)
                throw new IllegalArgumentException("Bert.Config: hidden " + hidden + " is not a multiple of heads " + heads);
            if (vocabSize <= 0 || layers <= 0 || intermediate <= 0 || maxPositions <= 0 || typeVocabSize <= 0)
                throw new IllegalArgumentException("Bert.Config: sizes must be positive: " + this);
        }
    }

    private final Config config;
    public final Embeddings embeddings;
    public final Encoder encoder;

    /** {@code embeddings.*}. */
    public static final class Embeddings extends Module {
        public final Embedding wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings;
        public final LayerNorm layerNorm;

        Embeddings(Config c, Rng rng) {
            wordEmbeddings = registerModule("word_embeddings", new Embedding(c.vocabSize(), c.hidden(), rng));
            positionEmbeddings = registerModule("position_embeddings", new Embedding(c.maxPositions(), c.hidden(), rng));
            tokenTypeEmbeddings = registerModule("token_type_embeddings", new Embedding(c.typeVocabSize(), c.hidden(), rng));
            layerNorm = registerModule("LayerNorm", new LayerNorm(c.hidden(), c.eps(), true));
        }
    }

    /** {@code encoder}: its {@code layer} list. */
    public static final class Encoder extends Module {
        public final ModuleList<Layer> layer;

        Encoder(Config c, Rng rng) {
            layer = registerModule("layer", new ModuleList<>());
            for (int i = 0; i < c.layers(); i++) layer.add(new Layer(c, rng));
        }
    }

    /** {@code encoder.layer.N}. */
    public static final class Layer extends Module {
        public final Attention attention;
        public final Intermediate intermediate;
        public final Output output;

        Layer(Config c, Rng rng) {
            attention = registerModule("attention", new Attention(c, rng));
            intermediate = registerModule("intermediate", new Intermediate(c, rng));
            output = registerModule("output", new Output(c.intermediate(), c, rng));
        }
    }

    /** {@code attention}: {@code self} (query, key, value) and {@code output} (dense, LayerNorm). */
    public static final class Attention extends Module {
        public final SelfAttention self;
        public final Output output;

        Attention(Config c, Rng rng) {
            self = registerModule("self", new SelfAttention(c, rng));
            output = registerModule("output", new Output(c.hidden(), c, rng));
        }
    }

    /** {@code attention.self}. */
    public static final class SelfAttention extends Module {
        public final Linear query, key, value;

        SelfAttention(Config c, Rng rng) {
            query = registerModule("query", new Linear(c.hidden(), c.hidden(), true, rng));
            key = registerModule("key", new Linear(c.hidden(), c.hidden(), true, rng));
            value = registerModule("value", new Linear(c.hidden(), c.hidden(), true, rng));
        }
    }

    /** {@code intermediate.dense}. */
    public static final class Intermediate extends Module {
        public final Linear dense;

        Intermediate(Config c, Rng rng) {
            dense = registerModule("dense", new Linear(c.hidden(), c.intermediate(), true, rng));
        }
    }

    /** {@code dense} then {@code LayerNorm(residual + dense(x))}: both {@code attention.output} and {@code output}. */
    public static final class Output extends Module {
        public final Linear dense;
        public final LayerNorm layerNorm;

        Output(int in, Config c, Rng rng) {
            dense = registerModule("dense", new Linear(in, c.hidden(), true, rng));
            layerNorm = registerModule("LayerNorm", new LayerNorm(c.hidden(), c.eps(), true));
        }

        Variable forward(Variable x, Variable residual) {
            return layerNorm.forward(residual.add(dense.forward(x)));
        }
    }

    /** Houlsby's targets on this encoder: both sublayers' output projections, {@code encoder.layer.N.attention.output.dense} and {@code encoder.layer.N.output.dense}. */
    public static final String HOULSBY_TARGETS = "(.*\\.)?encoder\\.layer\\.\\d+\\.(attention\\.)?output\\.dense";

    /** Pfeiffer's target on this encoder: the FFN's output projection {@code encoder.layer.N.output.dense} only. */
    public static final String PFEIFFER_TARGETS = "(.*\\.)?encoder\\.layer\\.\\d+\\.output\\.dense";

    /**
     * Houlsby et al. (2019) bottleneck adapters on this encoder ({@link PeftConfig#houlsby()}: AdapterHub's
     * {@code DoubleSeqBnConfig}, d/16, swish), as regex {@link #HOULSBY_TARGETS}: a
     * {@link dev.vectorgrad.peft.BottleneckLinear} wraps {@code attention.output.dense} and {@code output.dense} of
     * every layer, so each block computes {@code x ← LN(x + A(dense(h)))}: the adapter reads the sublayer's projected
     * output and comes before the residual add and the post-LayerNorm, which stays frozen. That is AdapterHub's
     * placement on BERT exactly: its {@code BertSelfOutputWithAdapters} / {@code BertOutputWithAdapters}
     * ({@code adapters/models/bert/modeling_bert.py}) call {@code bottleneck_layer_forward(dense(h), input_tensor,
     * LayerNorm)} after {@code dense} and {@code dropout}, and with {@code original_ln_before=False,
     * residual_before_ln=True, original_ln_after=True} ({@code methods/modeling.py}, {@code pre_forward} /
     * {@code post_forward}) that is {@code LN(x + dense(h) + up(f(down(dense(h)))))}. This encoder has no dropout.
     * Use it as {@code PeftModel.wrap(bert, Bert.houlsby().seed(s))}; reduction factor, dropout and layers can be
     * changed on the builder.
     */
    public static PeftConfig.Builder houlsby() {
        return PeftConfig.houlsby().targetRegex(HOULSBY_TARGETS);
    }

    /**
     * Pfeiffer et al. (2020) bottleneck adapters on this encoder ({@link PeftConfig#pfeiffer()}: AdapterHub's
     * {@code SeqBnConfig}, d/16, ReLU), as regex {@link #PFEIFFER_TARGETS}: one adapter per block, on the FFN's
     * {@code output.dense} only, placed as Houlsby's: {@code x ← LN(x + A(dense(h)))}. Where it differs from
     * AdapterHub's: {@code SeqBnConfig} sets {@code original_ln_before=True}, so AdapterHub's adapter reads
     * {@code LN(dense(h) + x)} (the block's own LayerNorm, applied to output plus residual), adds its output to
     * {@code dense(h)} ({@code residual_before_ln=True}), and then {@code post_forward} applies the same LayerNorm
     * again to that plus {@code x}: {@code LN(dense(h) + A(LN(dense(h) + x)) + x)}. Here the adapter reads
     * {@code dense(h)} as on the GPT ({@link dev.vectorgrad.peft.BottleneckLinear}'s Javadoc), since reproducing
     * {@code original_ln_before} would need the block's residual and LayerNorm inside the adapter, an edit of
     * {@link Output}. Both start as the identity (zero up-projection), and the LayerNorms stay frozen.
     */
    public static PeftConfig.Builder pfeiffer() {
        return PeftConfig.pfeiffer().targetRegex(PFEIFFER_TARGETS);
    }

    /** A model with placeholder weights (nn's default initialisation) until {@link #loadStateDict} fills them. */
    public Bert(Config config) {
        this.config = config;
        Rng rng = new Rng(0x5eed);
        this.embeddings = registerModule("embeddings", new Embeddings(config, rng));
        this.encoder = registerModule("encoder", new Encoder(config, rng));
    }

    public Config config() {
        return config;
    }

    /**
     * The last hidden states [B, T, C] of right-padded {@code ids} [B, T] under the 0/1 {@code mask} [B, T]
     * (1 = a real token). Every sequence is segment 0 (token type 0).
     */
    public Variable forward(IntTensor ids, IntTensor mask) {
        int[] s = ids.shape();
        if (s.length != 2 || !Arrays.equals(s, mask.shape()))
            throw new IllegalArgumentException("Bert.forward: ids " + Arrays.toString(s) + " and mask " + Arrays.toString(mask.shape())
                    + " must both be [batch, tokens]");
        int b = s[0], t = s[1], c = config.hidden(), h = config.heads(), d = c / h;
        if (t > config.maxPositions())
            throw new IllegalArgumentException("Bert.forward: " + t + " tokens exceed the " + config.maxPositions() + " positions");
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) pos[i] = i;
        IntTensor positions = IntTensor.of(pos, t), types = IntTensor.zeros(t);
        Variable x = embeddings.wordEmbeddings.forward(ids)
                .add(embeddings.positionEmbeddings.forward(positions))
                .add(embeddings.tokenTypeEmbeddings.forward(types));
        x = embeddings.layerNorm.forward(x);
        dev.vectorgrad.autograd.Attention.KeyMask keyMask = dev.vectorgrad.autograd.Attention.KeyMask.fromAttentionMask(mask);
        for (Layer layer : encoder.layer) {
            SelfAttention sa = layer.attention.self;
            Variable q = sa.query.forward(x).reshape(b, t, h, d);
            Variable k = sa.key.forward(x).reshape(b, t, h, d);
            Variable v = sa.value.forward(x).reshape(b, t, h, d);
            // The engine's one fused attention op: bidirectional, padded keys get probability exactly 0.
            Variable ctx = F.attention(q, k, v, false, keyMask).reshape(b, t, c);
            x = layer.attention.output.forward(ctx, x);
            Variable ffn = layer.intermediate.dense.forward(x).gelu();
            x = layer.output.forward(ffn, x);
        }
        return x;
    }

    /**
     * Sentence-transformers' pooling for this model: the mean of {@code hidden} [B, T, C] over the tokens where
     * {@code mask} [B, T] is 1, then divided by its L2 norm (at least 1e-12, as {@code F.normalize}): [B, C].
     */
    public static Variable meanPoolNormalize(Variable hidden, IntTensor mask) {
        int b = mask.shape()[0], t = mask.shape()[1];
        float[] m = new float[b * t], inv = new float[b];
        for (int i = 0; i < b; i++) {
            int n = 0;
            for (int j = 0; j < t; j++) {
                boolean on = mask.get(i, j) != 0;
                m[i * t + j] = on ? 1f : 0f;
                if (on) n++;
            }
            inv[i] = 1f / Math.max(n, 1);
        }
        Variable mean = hidden.mul(Tensor.of(m, b, t, 1)).sum(1, false).mul(Tensor.of(inv, b, 1));
        Variable norm = mean.square().sum(1, true).sqrt().clamp(1e-12f, Float.MAX_VALUE);
        return mean.div(norm);
    }
}
