package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import org.junit.jupiter.api.Test;

/** LoRA-FA as PEFT's {@code LoraFAOptimizer}: A frozen, g_B ← (1/s²)·g_B·(AAᵀ + δI)⁺ before Adam. */
class LoraFaTest {
    /** q_proj: r 3, α 6 (s = 2); fc: r 2 by rank_pattern, α 5 by alpha_pattern (s = 2.5). */
    static PeftModel model() {
        Toy m = new Toy(4, 1, 1);
        return PeftModel.wrap(m, PeftConfig.lora(3, 6, "q_proj", "fc").rankPattern("fc", 2).alphaPattern("fc", 5).freezeA(true).seed(3));
    }

    static void randomGrads(PeftModel pm, long seed) {
        Rng rng = new Rng(seed);
        for (AdapterLinear a : pm.adapterLayers()) {
            LoraLinear l = (LoraLinear) a;
            Tensor g = Tensor.zeros(l.b("default").shape());
            Init.normal(g, rng, 0, 1);
            l.b("default").setGrad(g);
        }
    }

    @Test
    void theProjectedGradientIsTheClosedForm() {
        PeftModel pm = model();
        randomGrads(pm, 5);
        LoraLinear q = (LoraLinear) pm.adaptedLayers().get("layers.0.attn.q_proj"), fc = (LoraLinear) pm.adaptedLayers().get("layers.0.fc");
        double[] qWant = closedForm(q.b("default").grad(), q.a("default").data(), 6.0 / 3), fcWant = closedForm(fc.b("default").grad(), fc.a("default").data(), 5.0 / 2);
        Optimizer opt = Methods.loraFaAdamW(pm, 1e-3, 0);
        assertThat(opt).isInstanceOf(LoraFaOptimizer.class);
        ((LoraFaOptimizer) opt).project();
        assertClose(q.b("default").grad(), qWant);
        assertClose(fc.b("default").grad(), fcWant);
    }

    /** (1/s²)·g·(AAᵀ + 1e-8·I)⁻¹ by Gauss–Jordan elimination in double. */
    static double[] closedForm(Tensor g, Tensor a, double s) {
        int r = a.size(0), in = a.size(1), out = g.size(0);
        double[][] m = new double[r][2 * r];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < r; j++) {
                double d = 0;
                for (int k = 0; k < in; k++) d += (double) a.get(i, k) * a.get(j, k);
                m[i][j] = d + (i == j ? 1e-8 : 0);
            }
            m[i][r + i] = 1;
        }
        for (int c = 0; c < r; c++) {
            int p = c;
            for (int i = c + 1; i < r; i++) if (Math.abs(m[i][c]) > Math.abs(m[p][c])) p = i;
            double[] t = m[c]; m[c] = m[p]; m[p] = t;
            double piv = m[c][c];
            for (int j = 0; j < 2 * r; j++) m[c][j] /= piv;
            for (int i = 0; i < r; i++) {
                if (i == c) continue;
                double f = m[i][c];
                for (int j = 0; j < 2 * r; j++) m[i][j] -= f * m[c][j];
            }
        }
        double[] res = new double[out * r];
        for (int o = 0; o < out; o++)
            for (int j = 0; j < r; j++) {
                double d = 0;
                for (int k = 0; k < r; k++) d += g.get(o, k) * m[k][r + j];
                res[o * r + j] = d / (s * s);
            }
        return res;
    }

    static void assertClose(Tensor got, double[] want) {
        float[] v = got.contiguous().toArray();
        assertThat(v).hasSize(want.length);
        double scale = 0;
        for (double w : want) scale = Math.max(scale, Math.abs(w));
        for (int i = 0; i < v.length; i++) assertThat(Math.abs(v[i] - want[i])).as("element " + i).isLessThanOrEqualTo(1e-5 * scale);
    }

    @Test
    void aRankDeficientAIsPseudoInvertedAsTorchLinalgPinv() {
        PeftModel pm = model();
        LoraLinear q = (LoraLinear) pm.adaptedLayers().get("layers.0.attn.q_proj");
        // A's last row zero: AAᵀ + δI has the eigenvalue δ = 1e-8, below pinv's cut-off (3·2⁻²³ of the largest),
        // so that direction is dropped: B's last gradient column becomes 0, the others use the 2 × 2 block's inverse
        Tensor a = q.a("default").data();
        for (int k = 0; k < 4; k++) a.set(0f, 2, k);
        randomGrads(pm, 6);
        Tensor g = q.b("default").grad().copy();
        double[] block = closedForm(g.narrow(1, 0, 2).contiguous(), a.narrow(0, 0, 2).contiguous(), 2);
        ((LoraFaOptimizer) Methods.loraFaAdamW(pm, 1e-3, 0)).project();
        Tensor got = q.b("default").grad();
        double[] want = new double[4 * 3];
        for (int o = 0; o < 4; o++) { want[o * 3] = block[o * 2]; want[o * 3 + 1] = block[o * 2 + 1]; }
        assertClose(got, want);
    }

    @Test
    void aStepMovesOnlyBAndThePlainFormKeepsTheRawGradient() {
        PeftModel pm = model();
        LoraLinear q = (LoraLinear) pm.adaptedLayers().get("layers.0.attn.q_proj");
        Tensor a0 = q.a("default").data().copy(), b0 = q.b("default").data().copy();
        randomGrads(pm, 7);
        Optimizer opt = Methods.loraFaAdamW(pm, 1e-2, 0.1);
        opt.step();
        assertThat(PeftModelTest.maxAbsDiff(q.a("default").data(), a0)).isZero();
        assertThat(PeftModelTest.maxAbsDiff(q.b("default").data(), b0)).isGreaterThan(1e-3);
        assertThat(opt.parameters()).doesNotContain(q.a("default")).contains(q.b("default"));

        PeftModel plain = model();
        randomGrads(plain, 7);
        LoraLinear pq = (LoraLinear) plain.adaptedLayers().get("layers.0.attn.q_proj");
        Tensor raw = pq.b("default").grad().copy();
        Optimizer p = Methods.loraFaAdamW(plain, 1e-2, 0.1, false);
        assertThat(p).isInstanceOf(AdamW.class);
        p.step();
        assertThat(PeftModelTest.maxAbsDiff(pq.b("default").grad(), raw)).isZero();
        assertThat(pq.a("default").requiresGrad()).isFalse();
    }

    @Test
    void loraFaOnAnEmbeddingIsRefusedNotSilentlyDead() {
        GptConfig cfg = new GptConfig(12, 8, 1, 2, 8, 0.0, true, GptConfig.Activation.GELU, 1e-5);
        assertThatThrownBy(() -> PeftModel.wrap(new Gpt(cfg, 1), PeftConfig.lora(2, 4, "wte", "c_attn").freezeA(true)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("LoRA-FA").hasMessageContaining("transformer.wte")
                .hasMessageContaining("zero");
        // the optimiser refuses a plain adapter with an embedding part too
        PeftModel pm = PeftModel.wrap(new Gpt(cfg, 1), PeftConfig.lora(2, 4, "wpe", "c_attn"));
        assertThatThrownBy(() -> Methods.loraFaAdamW(pm, 1e-3, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("transformer.wpe");
        // and an adapter without LoRA Linear layers
        PeftModel vera = PeftModel.wrap(new Toy(4, 1, 1), PeftConfig.vera(4, 0, "fc"));
        assertThatThrownBy(() -> Methods.loraFaAdamW(vera, 1e-3, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no LoRA Linear");
    }
}
