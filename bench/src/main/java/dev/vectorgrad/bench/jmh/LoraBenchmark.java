package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.peft.AdapterLinear;
import dev.vectorgrad.peft.LoraLinear;
import dev.vectorgrad.tensor.Rng;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * LoRA r = 8, α = 16 (the demo's) on the GPT's Linears: y = W₀x + (α/r)·B(Ax), forward and forward + backward
 * ({@link AdapterBenchmark}). Run: {@code ./vectorgrad bench jmh Lora}.
 */
@State(Scope.Benchmark)
public class LoraBenchmark extends AdapterBenchmark {
    @Override
    AdapterLinear adapt(Linear base) {
        return new LoraLinear(base).addAdapter("default", 8, 16, false, 0, new Rng(5));
    }
}
