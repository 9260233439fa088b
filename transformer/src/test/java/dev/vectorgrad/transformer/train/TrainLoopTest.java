package dev.vectorgrad.transformer.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.SGD;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.testdata.Tolerance;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.data.Batcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrainLoopTest {
    static final GptConfig CFG = new GptConfig(11, 8, 2, 2, 16, 0.0, true, GptConfig.Activation.GELU, 1e-5);

    /** Row r of a batch: tokens (7r + 3t) mod 11, targets shifted by one. */
    static Batcher.Batch rows(int from, int n) {
        int t = CFG.blockSize();
        int[] x = new int[n * t], y = new int[n * t];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < t; i++) {
                x[r * t + i] = (7 * (from + r) + 3 * i) % 11;
                y[r * t + i] = (7 * (from + r) + 3 * i + 5) % 11;
            }
        return new Batcher.Batch(IntTensor.wrap(x, n, t), IntTensor.wrap(y, n, t));
    }

    static TrainLoop loop(Gpt g, int k, boolean adam) {
        List<Variable> ps = new ArrayList<>(g.parameters());
        var opt = adam ? new AdamW(ps, 1e-2, 0.1) : new SGD(ps, 0.5);
        return new TrainLoop(g, b -> g.loss(b.x(), b.y()), ps, opt, (o, s) -> {}, 0.5, k, null);
    }

    static Map<String, Tensor> weights(Gpt g) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        g.stateDict().forEach((n, t) -> m.put(n, t.copy()));
        return m;
    }

    @Test
    void fourMicroBatchesOfTwoGiveTheUpdateOfOneBatchOfEight() {
        for (boolean adam : new boolean[] {false, true}) {
            Gpt whole = new Gpt(CFG, 5), accum = new Gpt(CFG, 5);
            TrainLoop one = loop(whole, 1, adam), four = loop(accum, 4, adam);
            for (int step = 0; step < 3; step++) {
                double big = one.step(List.of(rows(8 * step, 8)));
                double mean = four.step(List.of(rows(8 * step, 2), rows(8 * step + 2, 2), rows(8 * step + 4, 2), rows(8 * step + 6, 2)));
                assertThat(mean).isCloseTo(big, org.assertj.core.data.Offset.offset(1e-5 * Math.abs(big)));
            }
            Map<String, Tensor> a = weights(whole), b = weights(accum);
            Gpt start = new Gpt(CFG, 5);
            for (String n : a.keySet()) {
                // SGD's update is the gradient itself: float tolerance. AdamW divides by √v, which blows up the rounding
                // noise of gradients that are zero in exact arithmetic (the key bias: softmax ignores it) to ~lr.
                assertThat(Tolerance.relErr(b.get(n), a.get(n))).as(n + (adam ? " (AdamW)" : " (SGD)")).isLessThan(adam ? 1e-3 : 1e-5);
                // the check can fail: the weights did move
                assertThat(Tolerance.relErr(start.stateDict().get(n), a.get(n))).as(n + " moved").isGreaterThan(1e-4);
            }
        }
    }

    @Test
    void hooksRunAfterEachOptimiserStepWithTheStepCount() {
        Gpt g = new Gpt(CFG, 5);
        List<Integer> seen = new ArrayList<>();
        List<Double> lrs = new ArrayList<>();
        List<Variable> ps = new ArrayList<>(g.parameters());
        SGD opt = new SGD(ps, 0.1);
        TrainLoop l = new TrainLoop(g, b -> g.loss(b.x(), b.y()), ps, opt, (o, s) -> o.setLr(0.1 * (s + 1)), 0, 1, () -> rows(0, 2));
        l.onStep(seen::add).onStep(s -> lrs.add(opt.paramGroups().get(0).lr()));
        l.takeStep();
        l.takeStep();
        assertThat(seen).containsExactly(1, 2);
        assertThat(lrs).containsExactly(0.1, 0.2);
        assertThat(l.trainLosses()).hasSize(2);
        assertThatThrownBy(() -> l.step(List.of(rows(0, 1), rows(1, 1)))).hasMessageContaining("takes 1 micro-batches, got 2");
    }

    @Test
    void gradientHooksSeeTheSummedGradientBeforeClippingAndTheOptimiser() {
        // SGD lr 1, no clipping: the update is the gradient the optimiser sees. A hook that halves the gradients must
        // halve every update of the first step; and it sees what backward left (the same gradient as a hand-made pass).
        Gpt plain = new Gpt(CFG, 5), hooked = new Gpt(CFG, 5), reference = new Gpt(CFG, 5);
        reference.loss(rows(0, 4).x(), rows(0, 4).y()).backward();
        Map<String, Tensor> expectGrad = new LinkedHashMap<>();
        reference.namedParameters().forEach((n, p) -> expectGrad.put(n, p.grad().copy()));
        Map<String, Tensor> start = weights(plain);
        List<Variable> pp = new ArrayList<>(plain.parameters()), hp = new ArrayList<>(hooked.parameters());
        TrainLoop a = new TrainLoop(plain, b -> plain.loss(b.x(), b.y()), pp, new SGD(pp, 1.0), (o, s) -> {}, 0, 1, null);
        TrainLoop b = new TrainLoop(hooked, x -> hooked.loss(x.x(), x.y()), hp, new SGD(hp, 1.0), (o, s) -> {}, 0, 1, null);
        Map<String, Tensor> seen = new LinkedHashMap<>();
        var names = new java.util.IdentityHashMap<Variable, String>();
        hooked.namedParameters().forEach((n, p) -> names.put(p, n));
        b.onGradients(ps -> {
            for (Variable p : ps) {
                seen.put(names.get(p), p.grad().copy());
                float[] g = p.grad().storage();
                for (int i = 0; i < g.length; i++) g[i] *= 0.5f;
            }
        });
        a.step(List.of(rows(0, 4)));
        b.step(List.of(rows(0, 4)));
        Map<String, Tensor> wa = weights(plain), wb = weights(hooked);
        for (String n : start.keySet()) {
            assertThat(Tolerance.relErr(seen.get(n), expectGrad.get(n))).as(n + " gradient seen by the hook").isLessThan(1e-6);
            Tensor g = expectGrad.get(n);
            assertThat(Tolerance.relErr(wa.get(n), start.get(n).sub(g))).as(n + " plain SGD step").isLessThan(1e-6);
            assertThat(Tolerance.relErr(wb.get(n), start.get(n).sub(g.mul(0.5f)))).as(n + " step on the halved gradient").isLessThan(1e-6);
        }
    }
}
