package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Large ops split across the pool must give bit-identical results for every thread count. */
class DeterminismTest {
    private final int saved = Parallel.threads();

    @AfterEach
    void restore() {
        Parallel.setThreads(saved);
    }

    @Test
    void largeOpsAreBitIdenticalForAnyThreadCount() {
        Tensor x = Ref.rand(1, 1000, 517), row = Ref.rand(2, 517), col = Ref.rand(3, 1000, 1);
        Tensor w = Ref.rand(4, 517), b = Ref.rand(5, 517);
        IntTensor ids = IntTensor.wrap(new int[] {5, 999, 0, 17, 3}, 5);
        List<Supplier<Tensor>> ops = List.of(
                () -> x.add(row), () -> x.mul(col), () -> x.t().sub(col.t()), () -> x.exp(), () -> x.gelu(), () -> x.tanh(),
                () -> x.sum(), () -> x.mean(), () -> x.sum(0, false), () -> x.sum(1, true), () -> x.max(0, false),
                () -> x.var(0, false), () -> x.var(1, false), () -> x.softmax(1), () -> x.softmax(0), () -> x.logSoftmax(1),
                () -> x.layerNorm(w, b, 1e-5f), () -> x.sumToShape(517), () -> Tensor.where(x.gt(col), x, row),
                () -> Tensor.embedding(x, ids), () -> x.copy().addInPlace(row), () -> x.copy().addScaledInPlace(0.3f, x));
        for (int k = 0; k < ops.size(); k++) {
            Parallel.setThreads(1);
            Tensor ref = ops.get(k).get();
            for (int t : new int[] {2, 3}) {
                Parallel.setThreads(t);
                assertThat(ops.get(k).get().contentEquals(ref)).as("op %d with %d threads", k, t).isTrue();
            }
        }
    }
}
