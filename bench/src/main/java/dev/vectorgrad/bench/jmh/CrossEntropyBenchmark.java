package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The GPT's loss: mean cross-entropy of BT = 768 rows of V = 65 logits against their targets, forward and
 * forward + backward (softmax − one-hot, over BT). Run: {@code ./vectorgrad bench jmh CrossEntropy}.
 */
@State(Scope.Benchmark)
public class CrossEntropyBenchmark extends KernelBenchmark {
    private Variable logits;
    private IntTensor targets;

    @Setup
    public void setup() {
        logits = Variable.param(GptShapes.random(1, GptShapes.BT, GptShapes.V).mul(4f));
        int[] t = new int[GptShapes.BT];
        Rng r = new Rng(2);
        for (int i = 0; i < t.length; i++) t[i] = r.nextInt(GptShapes.V);
        targets = IntTensor.wrap(t, GptShapes.BT);
    }

    @Benchmark
    public Variable forward() {
        try (StepArena a = arena.open()) {
            return F.crossEntropy(logits, targets);
        }
    }

    @Benchmark
    public Tensor forwardBackward() {
        try (StepArena a = arena.open()) {
            F.crossEntropy(logits, targets).backward();
            return logits.grad();
        }
    }
}
