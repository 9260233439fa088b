package dev.vectorgrad.transformer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.GradCheck;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GptTest {
    static GptConfig tiny(boolean bias, GptConfig.Activation act, double dropout) {
        return new GptConfig(11, 16, 2, 2, 8, dropout, bias, act, 1e-5);
    }

    static IntTensor ids(long seed, int b, int t, int vocab) {
        Rng r = new Rng(seed);
        int[] x = new int[b * t];
        for (int i = 0; i < x.length; i++) x[i] = r.nextInt(vocab);
        return IntTensor.wrap(x, b, t);
    }

    @Test
    void namesAreHuggingFaceGpt2s() {
        Gpt m = new Gpt(tiny(true, GptConfig.Activation.GELU_TANH, 0), 1);
        List<String> names = new ArrayList<>(m.namedParameters().keySet());
        assertThat(names).startsWith("transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias",
                "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias", "transformer.h.0.attn.c_proj.weight");
        assertThat(names).contains("transformer.h.1.mlp.c_fc.weight", "transformer.h.1.mlp.c_proj.bias", "transformer.ln_f.weight");
        assertThat(m.namedModules()).containsKeys("transformer.h.0.attn.c_attn", "transformer.h.1.mlp.c_proj", "transformer.ln_f");
        assertThat(m.namedParameters().get("transformer.h.0.attn.c_attn.weight").shape()).containsExactly(24, 8); // [out, in]
        Gpt nb = new Gpt(tiny(false, GptConfig.Activation.GELU, 0), 1);
        assertThat(nb.namedParameters().keySet()).noneMatch(n -> n.endsWith(".bias"));
    }

    @Test
    void gpt2Initialisation() {
        GptConfig cfg = new GptConfig(64, 32, 4, 4, 128, 0, true, GptConfig.Activation.GELU, 1e-5);
        Map<String, Variable> p = new Gpt(cfg, 7).namedParameters();
        assertThat(std(p.get("transformer.h.0.mlp.c_fc.weight").data())).isCloseTo(0.02, org.assertj.core.data.Offset.offset(0.001));
        assertThat(std(p.get("transformer.h.0.mlp.c_proj.weight").data())).isCloseTo(0.02 / Math.sqrt(8), org.assertj.core.data.Offset.offset(0.0005));
        assertThat(std(p.get("transformer.h.0.attn.c_proj.weight").data())).isCloseTo(0.02 / Math.sqrt(8), org.assertj.core.data.Offset.offset(0.0008));
        assertThat(p.get("transformer.h.0.attn.c_attn.bias").data().toArray()).containsOnly(0f);
        assertThat(p.get("transformer.h.0.ln_1.weight").data().toArray()).containsOnly(1f);
        assertThat(Arrays.equals(new Gpt(cfg, 7).namedParameters().get("transformer.wte.weight").data().toArray(),
                p.get("transformer.wte.weight").data().toArray())).isTrue();
    }

    static double std(Tensor t) {
        float[] a = t.toArray();
        double s = 0, q = 0;
        for (float v : a) {
            s += v;
            q += (double) v * v;
        }
        double m = s / a.length;
        return Math.sqrt(q / a.length - m * m);
    }

    /** Central differences of the whole model's loss w.r.t. sampled elements of several parameters. */
    @Test
    void gradientsMatchCentralDifferences() {
        for (GptConfig cfg : List.of(tiny(true, GptConfig.Activation.GELU_TANH, 0), tiny(true, GptConfig.Activation.GELU, 0), tiny(false, GptConfig.Activation.GELU_TANH, 0), tiny(false, GptConfig.Activation.GELU, 0))) {
            Gpt m = new Gpt(cfg, 3);
            // bigger weights than GPT-2's init so that every path matters
            for (Variable v : m.namedParameters().values()) v.data().copyFrom(v.data().mul(8f).add(v.rank() == 1 ? 0.1f : 0f));
            IntTensor x = ids(5, 2, 7, cfg.vocabSize()), y = ids(6, 2, 7, cfg.vocabSize());
            m.zeroGrad();
            m.loss(x, y).backward();
            Rng pick = new Rng(9);
            for (Map.Entry<String, Variable> e : m.namedParameters().entrySet()) {
                Variable p = e.getValue();
                float[] g = p.grad().toArray();
                float[] d = p.data().storage();
                for (int k = 0; k < 4; k++) {
                    int i = pick.nextInt(p.numel());
                    float keep = d[i];
                    float eps = 2e-3f; // float32 loss: noise ~1e-4 here; larger eps leaves curvature error
                    d[i] = keep + eps;
                    double lp = lossNoGrad(m, x, y);
                    d[i] = keep - eps;
                    double lm = lossNoGrad(m, x, y);
                    d[i] = keep;
                    double num = (lp - lm) / (2 * eps);
                    assertThat((double) g[i]).as(e.getKey() + "[" + i + "] " + cfg.activation()).isCloseTo(num,
                            org.assertj.core.data.Offset.offset(2e-3 + 2e-2 * Math.abs(num)));
                }
            }
        }
    }

    static double lossNoGrad(Gpt m, IntTensor x, IntTensor y) {
        try (var g = Grad.disabled()) {
            return m.loss(x, y).item();
        }
    }

    /** The fused attention node (with and without attention dropout) against central differences. */
    @Test
    void fusedAttentionGradCheck() {
        Rng r = new Rng(4);
        float[] q = new float[2 * 5 * 12];
        r.fillNormal(q, 0, q.length, 0, 1);
        for (float p : new float[] {0f, 0.3f}) {
            GradCheck.Report rep = GradCheck.assertOk(in -> FusedAttention.apply(in[0], 2, p, true, new Rng(11)), Tensor.of(q.clone(), 2, 5, 12));
            assertThat(rep.ok()).isTrue();
        }
    }

    /** Without dropout, fused attention equals the unfused reference (split, transpose, softmax(QKᵀ/√d + mask)·V). */
    @Test
    void fusedAttentionMatchesReference() {
        // T = 1, odd T, T past a vector multiple and past 64; head sizes below, at and between vector multiples
        int[][] shapes = {{2, 6, 12, 3}, {1, 1, 8, 2}, {2, 9, 10, 2}, {1, 70, 96, 3}, {1, 17, 40, 1}, {1, 33, 64, 1}};
        for (int[] sh : shapes) checkAttentionForward(sh[0], sh[1], sh[2], sh[3]);
    }

    private static void checkAttentionForward(int b, int t, int c, int h) {
        Rng r = new Rng(8 + t);
        int d = c / h;
        float[] qkv = new float[b * t * 3 * c];
        r.fillNormal(qkv, 0, qkv.length, 0, 1);
        Tensor x = Tensor.of(qkv, b, t, 3 * c);
        float[] got = FusedAttention.apply(Variable.of(x), h, 0f, false, null).data().toArray();
        for (int bi = 0; bi < b; bi++)
            for (int hi = 0; hi < h; hi++)
                for (int i = 0; i < t; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int k = 0; k < d; k++) dot += x.get(bi, i, hi * d + k) * x.get(bi, j, c + hi * d + k);
                        s[j] = dot / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j <= i; j++) z += s[j] = Math.exp(s[j] - max);
                    for (int k = 0; k < d; k++) {
                        double o = 0;
                        for (int j = 0; j <= i; j++) o += s[j] / z * x.get(bi, j, 2 * c + hi * d + k);
                        assertThat((double) got[(bi * t + i) * c + hi * d + k])
                                .as("b=%d t=%d c=%d h=%d at (%d, %d, %d)", b, t, c, h, bi, i, hi * d + k)
                                .isCloseTo(o, org.assertj.core.data.Offset.offset(2e-5));
                    }
                }
    }

    /** The fused node's gradient at shapes whose T and head size are not vector multiples (plus T = 1). */
    @Test
    void fusedAttentionGradCheckAwkwardShapes() {
        int[][] shapes = {{1, 1, 6, 2}, {1, 11, 20, 2}, {1, 9, 18, 1}};
        for (int[] sh : shapes) {
            Rng r = new Rng(5 + sh[1]);
            float[] q = new float[sh[0] * sh[1] * 3 * sh[2]];
            r.fillNormal(q, 0, q.length, 0, 1);
            for (float p : new float[] {0f, 0.25f}) {
                GradCheck.Report rep = GradCheck.assertOk(in -> FusedAttention.apply(in[0], sh[3], p, true, new Rng(11)),
                        Tensor.of(q.clone(), sh[0], sh[1], 3 * sh[2]));
                assertThat(rep.ok()).isTrue();
            }
        }
    }

    /** Greedy decoding with the KV cache gives the tokens (and logits) of full recomputation. */
    @Test
    void kvCacheEqualsFullRecomputation() {
        GptConfig cfg = new GptConfig(11, 32, 2, 2, 16, 0.1, true, GptConfig.Activation.GELU_TANH, 1e-5);
        Gpt m = new Gpt(cfg, 21);
        for (Variable v : m.namedParameters().values()) if (v.rank() == 2) v.data().copyFrom(v.data().mul(10f));
        m.train(false);
        int[] prompt = {1, 5, 2, 9, 3};
        int[] cached = Sampler.generate(m, prompt, 25, Sampler.Options.greedy(), null);
        int[] ctx = Arrays.copyOf(prompt, prompt.length + 25);
        int len = prompt.length;
        Gpt.KvCache cache = m.newCache();
        float[] stepLogits = m.step(cache, prompt);
        for (int i = 0; i < 25; i++) {
            float[] full;
            try (var g = Grad.disabled()) {
                Tensor lg = m.forward(IntTensor.wrap(Arrays.copyOf(ctx, len), 1, len)).data();
                full = lg.select(1, len - 1).reshape(cfg.vocabSize()).toArray();
            }
            for (int k = 0; k < full.length; k++) assertThat(stepLogits[k]).isCloseTo(full[k], org.assertj.core.data.Offset.offset(1e-4f));
            int next = 0;
            for (int k = 1; k < full.length; k++) if (full[k] > full[next]) next = k;
            assertThat(cached[i]).as("token " + i).isEqualTo(next);
            ctx[len++] = next;
            if (i < 24) stepLogits = m.step(cache, new int[] {next});
        }
        assertThat(Arrays.stream(cached).distinct().count()).isGreaterThan(1);
    }

    @Test
    void samplingIsSeededAndRespectsTopK() {
        float[] logits = {0f, 3f, 2.5f, -1f, 2.9f};
        Sampler.Options o = new Sampler.Options(1.0, 2, 1.0, 0);
        Rng a = new Rng(3), b = new Rng(3);
        for (int i = 0; i < 200; i++) {
            int x = Sampler.pick(logits, o, a);
            assertThat(x).isIn(1, 4);
            assertThat(Sampler.pick(logits, o, b)).isEqualTo(x);
        }
        Sampler.Options p = new Sampler.Options(1.0, 0, 0.3, 0);
        for (int i = 0; i < 50; i++) assertThat(Sampler.pick(logits, p, a)).isEqualTo(1);
    }

    @Test
    void samplingTheWholeDistributionFollowsTheTemperedSoftmax() {
        // No top-k / top-p: frequencies of 40,000 draws against softmax(logits / T) computed here in double.
        float[] logits = {0f, 3f, 2.5f, -1f, 2.9f, 1f, -4f};
        double t = 0.8;
        double[] want = new double[logits.length];
        double z = 0;
        for (int i = 0; i < logits.length; i++) z += want[i] = Math.exp(logits[i] / t);
        for (int i = 0; i < logits.length; i++) want[i] /= z;
        Sampler.Options o = new Sampler.Options(t, 0, 1.0, 0);
        Rng rng = new Rng(11);
        int n = 40_000;
        int[] count = new int[logits.length];
        for (int i = 0; i < n; i++) count[Sampler.pick(logits, o, rng)]++;
        for (int i = 0; i < logits.length; i++) {
            double sd = Math.sqrt(want[i] * (1 - want[i]) / n);
            assertThat((double) count[i] / n).as("token %d", i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(5 * sd + 1e-9));
        }
        // Same seed, same draws.
        Rng a = new Rng(5), b = new Rng(5);
        for (int i = 0; i < 100; i++) assertThat(Sampler.pick(logits, o, a)).isEqualTo(Sampler.pick(logits, o, b));
    }
}
