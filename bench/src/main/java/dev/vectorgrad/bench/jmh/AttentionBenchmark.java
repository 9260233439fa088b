package dev.vectorgrad.bench.jmh;

import static dev.vectorgrad.bench.jmh.GptShapes.B;
import static dev.vectorgrad.bench.jmh.GptShapes.C;
import static dev.vectorgrad.bench.jmh.GptShapes.D;
import static dev.vectorgrad.bench.jmh.GptShapes.H;
import static dev.vectorgrad.bench.jmh.GptShapes.T;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The fused causal self-attention of the GPT's training step, from c_attn's packed qkv [B, T, 3, H, D] =
 * [12, 64, 3, 4, 32] to [B, T, H, D], as {@code FusedAttention} calls it: {@code forward} (saving the weights P
 * for the backward, as in training), {@code backward} alone (dQ, dK, dV into the packed gradient; the forward
 * runs untimed before each call), and {@code forwardBackward}. Run: {@code ./vectorgrad bench jmh Attention}.
 */
@State(Scope.Benchmark)
public class AttentionBenchmark extends KernelBenchmark {
    private Variable qkv;
    private Tensor g;

    @Setup
    public void setup() {
        qkv = GptShapes.leaf(1, B, T, 3, H, D);
        g = GptShapes.random(2, B, T, H, D);
    }

    Variable attention() {
        return F.attentionQkvPacked(qkv, true, null, 0f, true, null);
    }

    @Benchmark
    public Variable forward() {
        try (StepArena a = arena.open()) {
            return attention();
        }
    }

    /** The forward whose backward the next {@link #backward} call times, run untimed in its arena scope. */
    @State(Scope.Thread)
    public static class Pending {
        Variable out;
        private StepArena open;

        @Setup(Level.Invocation)
        public void forward(AttentionBenchmark b) {
            open = b.arena.open();
            out = b.attention();
        }

        @TearDown(Level.Invocation)
        public void close() {
            open.close();
        }
    }

    @Benchmark
    public Tensor backward(Pending p) {
        p.out.backward(g);
        return qkv.grad();
    }

    @Benchmark
    public Tensor forwardBackward() {
        try (StepArena a = arena.open()) {
            attention().backward(g);
            return qkv.grad();
        }
    }

    static {
        if (C != H * D) throw new AssertionError("C = H·D");
    }
}
