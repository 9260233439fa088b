package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.data.CharTokenizer;
import dev.vectorgrad.transformer.data.EmbeddedCorpus;
import dev.vectorgrad.transformer.train.Trainer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One whole training step of the baby GPT as {@code ./vectorgrad train} takes it (and {@code gpt_compare.sh}
 * times it): the next random batch of 12 × 64 characters of the embedded Europarl text, forward, loss, backward,
 * clipping, AdamW, in the trainer's step arena. Milliseconds per step. Run: {@code ./vectorgrad bench jmh GptStep}.
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 8, time = 1)
@Measurement(iterations = 5, time = 1)
public class GptStepBenchmark extends KernelBenchmark {
    private Trainer trainer;

    @Setup
    public void setup() {
        String text = EmbeddedCorpus.language("en");
        CharTokenizer tok = CharTokenizer.fit(text);
        trainer = Trainer.create(GptConfig.baby(tok.vocabSize()), tok, text, Trainer.Options.baby());
    }

    @Benchmark
    public double step() {
        return trainer.step();
    }
}
