package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One AdamW step over every parameter of the baby GPT (vocabulary 65: about 0.8 M floats in 26 tensors), in the
 * trainer's two groups (matrices with weight decay 0.1, vectors without), gradients fixed and random.
 * Run: {@code ./vectorgrad bench jmh AdamW}.
 */
@State(Scope.Benchmark)
public class AdamWBenchmark extends KernelBenchmark {
    private AdamW opt;

    @Setup
    public void setup() {
        Gpt model = new Gpt(GptConfig.baby(GptShapes.V), 1337);
        List<Variable> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        long seed = 10;
        for (Variable p : model.namedParameters().values()) {
            p.setGrad(GptShapes.random(seed++, p.shape()).mul(1e-2f));
            (p.rank() >= 2 ? decay : noDecay).add(p);
        }
        opt = new AdamW(List.of(ParamGroup.of(decay).weightDecay(0.1), ParamGroup.of(noDecay).weightDecay(0)), 1e-3, 0.9, 0.99, 1e-8, 0.1);
    }

    @Benchmark
    public AdamW step() {
        opt.step();
        return opt;
    }
}
