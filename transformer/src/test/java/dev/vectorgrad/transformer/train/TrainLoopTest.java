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
}
