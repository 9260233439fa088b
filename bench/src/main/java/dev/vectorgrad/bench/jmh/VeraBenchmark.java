package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.peft.AdapterLinear;
import dev.vectorgrad.peft.VeraLinear;
import dev.vectorgrad.peft.VeraProjections;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * VeRA r = 256 (PEFT's default) on the GPT's Linears over shared projections sized to the largest layer, 512 ×
 * 512: y = W₀x + λ_b ⊙ B(λ_d ⊙ Ax), forward and forward + backward ({@link AdapterBenchmark}).
 * Run: {@code ./vectorgrad bench jmh Vera}.
 */
@State(Scope.Benchmark)
public class VeraBenchmark extends AdapterBenchmark {
    @Override
    AdapterLinear adapt(Linear base) {
        return new VeraLinear(base).addAdapter("default", VeraProjections.fromKey(0, 256, GptShapes.MLP, GptShapes.MLP), 0.1, 0);
    }
}
