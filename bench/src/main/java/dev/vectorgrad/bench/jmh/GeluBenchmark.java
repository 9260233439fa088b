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
 * GELU on the MLP's hidden activations, BT × 4C = 768 × 512: the exact erf form the baby GPT uses and GPT-2's
 * tanh form ({@code -p form=erf} or {@code tanh}), forward and forward + backward. Run: {@code ./vectorgrad bench jmh Gelu}.
 */
@State(Scope.Benchmark)
public class GeluBenchmark extends KernelBenchmark {
    @Param({"erf", "tanh"})
    public String form;

    private Variable x;
    private Tensor g;
    private boolean tanh;

    @Setup
    public void setup() {
        x = Variable.param(GptShapes.random(1, GptShapes.BT, GptShapes.MLP).mul(3f));
        g = GptShapes.random(2, GptShapes.BT, GptShapes.MLP);
        tanh = switch (form) {
            case "erf" -> false;
            case "tanh" -> true;
            default -> throw new IllegalArgumentException("form is erf or tanh: " + form);
        };
    }

    private Variable gelu() {
        return tanh ? x.geluTanh() : x.gelu();
    }

    @Benchmark
    public Variable forward() {
        try (StepArena a = arena.open()) {
            return gelu();
        }
    }

    @Benchmark
    public Tensor forwardBackward() {
        try (StepArena a = arena.open()) {
            gelu().backward(g);
            return x.grad();
        }
    }
}
