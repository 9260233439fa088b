package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.peft.AdapterLinear;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * An adapter-wrapped Linear of the GPT (no bias, as the baby preset) on BT = 768 rows: {@code layer} =
 * in×out, c_attn {@code 128x384}, c_fc {@code 128x512}, the MLP's c_proj {@code 512x128}. The adapter's
 * parameters are random (after training, not at their zero init); the input requires grad, as a hidden layer's
 * does. Subclasses add the adapter ({@link LoraBenchmark}, {@link VeraBenchmark}); abstract, so JMH runs only those.
 */
public abstract class AdapterBenchmark extends KernelBenchmark {
    @Param({"128x384", "128x512", "512x128"})
    public String layer;

    AdapterLinear adapted;
    Variable x;
    Tensor g;
    int in, out;

    @Setup
    public void setup() {
        String[] d = layer.split("x");
        in = Integer.parseInt(d[0]);
        out = Integer.parseInt(d[1]);
        adapted = adapt(new Linear(in, out, false, new Rng(1)));
        Rng r = new Rng(2);
        for (Variable p : adapted.adapterParameters("default")) Init.normal(p.data(), r, 0, 0.02);
        x = GptShapes.leaf(3, GptShapes.B, GptShapes.T, in);
        g = GptShapes.random(4, GptShapes.B, GptShapes.T, out);
    }

    abstract AdapterLinear adapt(Linear base);

    @Benchmark
    public Variable forward() {
        try (StepArena a = arena.open()) {
            return adapted.forward(x);
        }
    }

    @Benchmark
    public Tensor forwardBackward() {
        try (StepArena a = arena.open()) {
            adapted.forward(x).backward(g);
            return x.grad();
        }
    }
}
