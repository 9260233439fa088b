package dev.vectorgrad.transformer;

import dev.vectorgrad.autograd.Attention;
import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Gemm;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.LayerNormKernel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.autograd.nn.Embedding;
import dev.vectorgrad.autograd.nn.LayerNorm;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.autograd.nn.ModuleList;
import java.util.Arrays;
import java.util.Map;

/**
 * A decoder-only GPT with nanoGPT's architecture and Hugging Face GPT-2's module names:
 * <pre>
 * transformer.wte        token embedding [vocab, C] (also the LM head: logits = ln_f(x)·wteᵀ)
 * transformer.wpe        learned position embedding [block, C]
 * transformer.h.N        pre-LN blocks: ln_1, attn.c_attn [3C], attn.c_proj, ln_2, mlp.c_fc [4C], mlp.c_proj
 * transformer.ln_f       final layer norm
 * </pre>
 * Linear weights are [out, in] (PyTorch's {@code nn.Linear}); {@link HfGpt2} transposes to GPT-2's Conv1D
 * [in, out] only when reading or writing Hugging Face files.
 *
 * <p>Dropout (embeddings, attention weights, residual branches) draws from {@link #dropoutRng()} in training
 * mode only. {@link #newCache()} / {@link #step(KvCache, int[])} decode incrementally with a KV cache.
 */
public final class Gpt extends Module {
    private final GptConfig config;
    public final Transformer transformer;
    private Rng dropoutRng;

    /** The {@code transformer} submodule (HF's {@code GPT2Model}). */
    public static final class Transformer extends Module {
        public final Embedding wte;
        public final Embedding wpe;
        public final ModuleList<Block> h;
        public final LayerNorm lnF;

        Transformer(GptConfig cfg) {
            this.wte = registerModule("wte", new Embedding(cfg.vocabSize(), cfg.nEmbd(), Gpt.scratchRng()));
            this.wpe = registerModule("wpe", new Embedding(cfg.blockSize(), cfg.nEmbd(), Gpt.scratchRng()));
            this.h = registerModule("h", new ModuleList<>());
            for (int i = 0; i < cfg.layers(); i++) h.add(new Block(cfg));
            this.lnF = registerModule("ln_f", new LayerNorm(cfg.nEmbd(), (float) cfg.layerNormEps(), cfg.bias()));
        }
    }

    /** A model with GPT-2's initialisation drawn from {@code new Rng(seed)}; dropout draws from a fork of it. */
    public Gpt(GptConfig config, long seed) {
        this(config);
        initWeights(new Rng(seed));
        this.dropoutRng = new Rng(seed).fork(1);
    }

    /** A model whose weights are placeholders (nn defaults) until {@link #initWeights} or a loader sets them. */
    public Gpt(GptConfig config) {
        this.config = config;
        this.transformer = registerModule("transformer", new Transformer(config));
        this.dropoutRng = new Rng(0).fork(1);
    }

    /**
     * A throwaway generator for the nn layers' own default initialisation, which {@link #initWeights} or a
     * loader overwrites (so model construction never touches nn's shared default generator).
     */
    static Rng scratchRng() {
        return new Rng(0x5eed);
    }

    public GptConfig config() {
        return config;
    }

    /** The generator dropout masks come from. */
    public Rng dropoutRng() {
        return dropoutRng;
    }

    public void setDropoutRng(Rng rng) {
        this.dropoutRng = rng;
    }

    /**
     * GPT-2 init: every weight matrix and embedding normal(0, 0.02), the residual output projections
     * ({@code *.c_proj.weight}) normal(0, 0.02/√(2·layers)), biases zero, layer norms ones/zeros. Drawn in
     * parameter order from {@code rng}.
     */
    public void initWeights(Rng rng) {
        double projStd = 0.02 / Math.sqrt(2.0 * config.layers());
        for (Map.Entry<String, Variable> e : namedParameters().entrySet()) {
            String n = e.getKey();
            Tensor t = e.getValue().data();
            if (n.endsWith(".bias")) Init.zeros(t);
            else if (n.contains(".ln_")) Init.ones(t);
            else if (n.endsWith("c_proj.weight")) Init.normal(t, rng, 0, projStd);
            else Init.normal(t, rng, 0, 0.02);
        }
    }

    /** Number of parameters (the tied head counted once). */
    public long parameterCount() {
        long n = 0;
        for (Variable v : namedParameters().values()) n += v.numel();
        return n;
    }

    // ---------------------------------------------------------------- training / full forward

    /** Logits [B, T, vocab] for token ids [B, T] (T ≤ block size). */
    public Variable forward(IntTensor idx) {
        int[] s = idx.shape();
        if (s.length != 2) throw new IllegalArgumentException("Gpt.forward: ids must be [B, T], got " + Arrays.toString(s));
        int t = s[1];
        if (t > config.blockSize())
            throw new IllegalArgumentException("Gpt.forward: sequence of " + t + " tokens is longer than the block size " + config.blockSize());
        checkIds(idx);
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) pos[i] = i;
        boolean train = isTraining();
        float p = (float) config.dropout();
        Variable x = transformer.wte.forward(idx).add(transformer.wpe.forward(IntTensor.wrap(pos, t)));
        x = F.dropout(x, p, train, dropoutRng);
        for (Block b : transformer.h) x = b.forward(x, dropoutRng);
        x = transformer.lnF.forward(x);
        return F.linear(x, transformer.wte.weight, null);
    }

    /** Mean cross-entropy of {@link #forward(IntTensor)} against {@code targets} [B, T] (−100 ignored). */
    public Variable loss(IntTensor idx, IntTensor targets) {
        return F.crossEntropy(forward(idx), targets);
    }

    private void checkIds(IntTensor idx) {
        int v = config.vocabSize();
        for (int id : idx.storage())
            if (id < 0 || id >= v) throw new IllegalArgumentException("Gpt: token id " + id + " is outside [0, " + v + ")");
    }

    // ---------------------------------------------------------------- incremental decoding

    /** Keys and values of every layer for the positions seen so far (batch 1): one {@link Attention.Cache} per layer. */
    public static final class KvCache {
        final Attention.Cache[] layers;
        final int capacity;
        int length;

        KvCache(int layers, int heads, int capacity, int headSize) {
            this.capacity = capacity;
            this.layers = new Attention.Cache[layers];
            for (int l = 0; l < layers; l++) this.layers[l] = new Attention.Cache(1, capacity, heads, headSize);
        }

        /** Positions cached so far. */
        public int length() {
            return length;
        }

        public int capacity() {
            return capacity;
        }

        public void clear() {
            length = 0;
        }
    }

    /** An empty cache for up to {@code blockSize} positions. */
    public KvCache newCache() {
        return new KvCache(config.layers(), config.heads(), config.blockSize(), config.headSize());
    }

    /**
     * Feeds {@code tokens} (batch 1) after the cached positions, appends their keys and values to the cache and
     * returns the logits [vocab] after the last of them. No gradient, no dropout; the prefix is not recomputed.
     */
    public float[] step(KvCache cache, int[] tokens) {
        int n = tokens.length, pos0 = cache.length;
        if (n == 0) throw new IllegalArgumentException("Gpt.step: no tokens");
        if (pos0 + n > cache.capacity)
            throw new IllegalArgumentException("Gpt.step: " + pos0 + " cached + " + n + " new positions exceed the block size " + cache.capacity);
        checkIds(IntTensor.wrap(tokens, n));
        int C = config.nEmbd(), H = config.heads(), D = config.headSize();
        try (var g = Grad.disabled()) {
            // Through the embeddings' forward, as in forward(): an adapter on wte / wpe (a PEFT LoRA delegate)
            // then adds its term here too. The head below reads the table itself, as forward()'s does.
            int[] pos = new int[n];
            for (int i = 0; i < n; i++) pos[i] = pos0 + i;
            float[] x = transformer.wte.forward(IntTensor.wrap(tokens.clone(), n)).add(transformer.wpe.forward(IntTensor.wrap(pos, n)))
                    .data().contiguous().toArray();
            float[] wte = transformer.wte.weight.data().contiguous().storage();
            for (int l = 0; l < config.layers(); l++) {
                Block b = transformer.h.get(l);
                Variable xv = Variable.of(Tensor.wrap(x, n, C));
                Tensor qkv = b.attn.cAttn.forward(b.ln1.forward(xv)).data().reshape(1, n, 3, H, D);
                // A layer's cache may hold positions of a step that failed part-way: keep the first pos0.
                Attention.Cache c = cache.layers[l];
                c.truncate(Math.min(pos0, c.length()));
                c.append(qkv.select(2, 1), qkv.select(2, 2));
                Tensor y = F.attention(Variable.of(qkv.select(2, 0)), c.keys(), c.values(), true, null).data().reshape(n, C);
                Variable yv = b.attn.cProj.forward(Variable.of(y));
                xv = xv.add(yv);
                xv = xv.add(b.mlp.forward(b.ln2.forward(xv), null));
                x = xv.data().contiguous().storage();
                if (xv.data().offset() != 0) x = xv.data().toArray();
            }
            cache.length = pos0 + n;
            float[] last = Arrays.copyOfRange(x, (n - 1) * C, n * C);
            Tensor lw = transformer.lnF.weight.data().contiguous();
            Tensor lb = transformer.lnF.bias == null ? null : transformer.lnF.bias.data().contiguous();
            float[] h = new float[C];
            LayerNormKernel.forward(last, 0, h, 0, 1, C, lw.storage(), lw.offset(), lb == null ? null : lb.storage(),
                    lb == null ? 0 : lb.offset(), (float) config.layerNormEps(), null, null);
            int V = config.vocabSize();
            float[] logits = new float[V];
            Gemm.sgemm(false, true, 1, V, C, 1f, h, 0, C, wte, 0, C, 0f, logits, 0, V);
            return logits;
        }
    }
}
