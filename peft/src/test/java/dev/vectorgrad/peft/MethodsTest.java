package dev.vectorgrad.peft;

import static dev.vectorgrad.peft.PeftModelTest.input;
import static dev.vectorgrad.peft.PeftModelTest.maxAbsDiff;
import static dev.vectorgrad.peft.PeftModelTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MethodsTest {
    @Test
    void svdReconstructsWithOrthonormalFactorsBothShapes() {
        for (int[] s : new int[][] {{9, 5}, {5, 9}, {12, 12}}) {
            Tensor w = Tensor.zeros(s);
            Init.normal(w, new Rng(s[0] * 31 + s[1]), 0, 1);
            Svd.Result d = Svd.of(w);
            int k = Math.min(s[0], s[1]);
            assertThat(d.u().shape()).containsExactly(s[0], k);
            assertThat(d.v().shape()).containsExactly(s[1], k);
            Tensor rec = d.u().mul(d.s().reshape(1, k)).matmul(d.v().t());
            assertThat(maxAbsDiff(rec, w)).isLessThan(1e-5);
            assertThat(maxAbsDiff(d.u().t().matmul(d.u()), eye(k))).isLessThan(1e-5);
            assertThat(maxAbsDiff(d.v().t().matmul(d.v()), eye(k))).isLessThan(1e-5);
            float[] sv = d.s().toArray();
            for (int i = 1; i < k; i++) assertThat(sv[i]).isLessThanOrEqualTo(sv[i - 1]);
        }
        // a known spectrum: diag(3, 2, 1) in a rotated basis
        Tensor q = Svd.of(randn(3, 3, 7)).u();
        Tensor w = q.mul(Tensor.vector(3, 2, 1).reshape(1, 3)).matmul(q.t());
        assertThat(maxAbsDiff(Svd.of(w).s(), Tensor.vector(3, 2, 1))).isLessThan(1e-5);
    }

    static Tensor randn(int m, int n, long seed) {
        Tensor t = Tensor.zeros(m, n);
        Init.normal(t, new Rng(seed), 0, 1);
        return t;
    }

    static Tensor eye(int k) {
        Tensor t = Tensor.zeros(k, k);
        for (int i = 0; i < k; i++) t.set(1f, i, i);
        return t;
    }

    @Test
    void pissaAndMiloraKeepTheOutputAndTakeTheRightTriplets() {
        for (PeftConfig.LoraInit init : List.of(PeftConfig.LoraInit.PISSA, PeftConfig.LoraInit.MILORA)) {
            Toy m = new Toy(4, 1, 1);
            Tensor x = input(3, 4, 2);
            Tensor y0 = run(m, x);
            Tensor w0 = m.layers.get(0).fc.weight.data().copy(); // [8, 4]
            PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "fc").init(init));
            LoraLinear l = (LoraLinear) pm.adaptedLayers().get("layers.0.fc");
            assertThat(maxAbsDiff(run(m, x), y0)).isLessThan(1e-5);
            Svd.Result d = Svd.of(w0);
            int start = init == PeftConfig.LoraInit.PISSA ? 0 : 2;
            Tensor part = d.u().narrow(1, start, 2).mul(d.s().narrow(0, start, 2).reshape(1, 2)).matmul(d.v().narrow(1, start, 2).t());
            assertThat(maxAbsDiff(l.deltaWeight("default"), part)).isLessThan(1e-5);
            assertThat(maxAbsDiff(l.linear().weight.data(), w0.sub(part))).isLessThan(1e-5);
        }
    }

    @Test
    void loraFaFreezesA() {
        Toy m = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(m, PeftConfig.lora(2, 4, "q_proj").freezeA(true));
        LoraLinear l = (LoraLinear) pm.adaptedLayers().get("layers.0.attn.q_proj");
        assertThat(l.a("default").requiresGrad()).isFalse();
        assertThat(l.b("default").requiresGrad()).isTrue();
        assertThat(pm.trainableParameters()).isEqualTo(2L * 4 * 2);
    }

    /**
     * The groups of PEFT 0.20's create_loraplus_optimizer: lora_B and 1-D parameters at lr·ratio (biases and
     * LayerNorm parameters without decay), everything else — lora_A and both lora_embedding_* — at lr.
     */
    @Test
    void loraPlusGroupsAreThoseOfPeftsCode() {
        Gpt g = new Gpt(new GptConfig(12, 8, 1, 2, 8, 0.0, true, GptConfig.Activation.GELU, 1e-5), 3);
        PeftModel pm = PeftModel.wrap(g, PeftConfig.lora(2, 4, "wte", "c_attn"));
        Map<String, Variable> p = g.namedParameters();
        p.get("transformer.h.0.attn.c_attn.base_layer.bias").requiresGrad(true); // a trained bias
        p.get("transformer.h.0.ln_1.weight").requiresGrad(true); // a trained LayerNorm weight
        List<ParamGroup> groups = Methods.loraPlusGroups(g, 1e-3, 16, 0.05);
        assertThat(groups).hasSize(3);
        assertThat(groups).extracting(ParamGroup::lr).containsExactly(1e-3, 16e-3, 16e-3);
        assertThat(groups).extracting(ParamGroup::weightDecay).containsExactly(0.05, 0.05, 0.0);
        assertThat(groups.get(0).params()).containsExactlyInAnyOrder(p.get("transformer.h.0.attn.c_attn.lora_A.default.weight"),
                p.get("transformer.wte.lora_embedding_A.default"), p.get("transformer.wte.lora_embedding_B.default"));
        assertThat(groups.get(1).params()).containsExactly(p.get("transformer.h.0.attn.c_attn.lora_B.default.weight"));
        assertThat(groups.get(2).params()).containsExactlyInAnyOrder(p.get("transformer.h.0.attn.c_attn.base_layer.bias"),
                p.get("transformer.h.0.ln_1.weight"));
        // the optimiser takes them as they are
        assertThat(Methods.loraPlusAdamW(g, 1e-3, 16, 0.05).paramGroups()).extracting(ParamGroup::lr).containsExactly(1e-3, 16e-3, 16e-3);

        // VeRA's λ vectors are 1-D: all at lr·ratio, with decay; the empty groups are left out
        Toy t = new Toy(4, 1, 1);
        PeftModel vera = PeftModel.wrap(t, PeftConfig.vera(4, 0, "fc"));
        VeraLinear v = (VeraLinear) vera.adaptedLayers().get("layers.0.fc");
        List<ParamGroup> vg = Methods.loraPlusGroups(t, 1e-3, 16, 0.05);
        assertThat(vg).hasSize(1);
        assertThat(vg.get(0).lr()).isEqualTo(16e-3);
        assertThat(vg.get(0).weightDecay()).isEqualTo(0.05);
        assertThat(vg.get(0).params()).containsExactlyInAnyOrder(v.lambdaB("default"), v.lambdaD("default"));
    }

    @Test
    void bitFitTrainsOnlyBiases() {
        Toy m = new Toy(4, 2, 1);
        long n = Methods.bitFit(m);
        long expect = 0;
        for (var e : m.namedParameters().entrySet()) {
            Variable p = e.getValue();
            assertThat(p.requiresGrad()).as(e.getKey()).isEqualTo(e.getKey().endsWith(".bias"));
            if (p.requiresGrad()) expect += p.numel();
        }
        assertThat(n).isEqualTo(expect).isPositive();
        assertThat(Methods.fullFineTune(m)).isEqualTo(m.numParameters(false));
    }
}
