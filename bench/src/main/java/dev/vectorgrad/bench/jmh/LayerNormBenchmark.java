package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Layer norm over C = 128 of the GPT's BT = 768 rows, with weight and bias (ln_1, ln_2, ln_f): the forward,
 * and forward + backward (dx, dweight, dbias) through autograd. Run: {@code ./vectorgrad bench jmh LayerNorm}.
 */
@State(Scope.Benchmark)
public class LayerNormBenchmark extends KernelBenchmark {
    private Variable x, w, b;
    private Tensor g;

    @Setup
    public void setup() {
        x = GptShapes.leaf(1, GptShapes.BT, GptShapes.C);
        w = GptShapes.leaf(2, GptShapes.C);
        b = GptShapes.leaf(3, GptShapes.C);
        g = GptShapes.random(4, GptShapes.BT, GptShapes.C);
    }

    @Benchmark
    public Variable forward() {
        try (StepArena a = arena.open()) {
            return x.layerNorm(w, b, 1e-5f);
        }
    }

    @Benchmark
    public Tensor forwardBackward() {
        try (StepArena a = arena.open()) {
            x.layerNorm(w, b, 1e-5f).backward(g);
            return x.grad();
        }
    }
}
