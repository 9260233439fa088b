package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Softmax over the last axis at the GPT's two row shapes: the attention weights, B·H·T rows of T
 * ({@code 3072x64}), and the logits, BT rows of V ({@code 768x65}). {@code forward} is the kernel alone;
 * {@code forwardBackward} adds the backward y ⊙ (g − Σ g·y) through autograd.
 * Run: {@code ./vectorgrad bench jmh Softmax}.
 */
@State(Scope.Benchmark)
public class SoftmaxBenchmark extends KernelBenchmark {
    @Param({"3072x64", "768x65"})
    public String shape;

    private Variable x;
    private Tensor g;

    @Setup
    public void setup() {
        String[] d = shape.split("x");
        int rows = Integer.parseInt(d[0]), cols = Integer.parseInt(d[1]);
        x = GptShapes.leaf(1, rows, cols);
        g = GptShapes.random(2, rows, cols);
    }

    @Benchmark
    public Variable forward() {
        try (StepArena a = arena.open()) {
            return x.softmax(-1);
        }
    }

    @Benchmark
    public Tensor forwardBackward() {
        try (StepArena a = arena.open()) {
            x.softmax(-1).backward(g);
            return x.grad();
        }
    }
}
