package dev.vectorgrad.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the per-kernel benchmarks share: average time per call in µs, short by default (one fork, 8 warm-up + 5
 * measured half-second iterations: one benchmark method in about 8 s, one class under a minute on an idle
 * 2-core machine; the Vector API runs ~1000× slower interpreted, so the first 1–2 s of C2 warm-up must not be
 * counted — fewer warm-up iterations showed 0.3 s per layer norm in the first ones), and the engine's
 * thread count as a parameter, 2 by default as in {@code gpt_compare.sh} ({@code -p threads=1,2} for both).
 * Longer runs: JMH's own flags, e.g. {@code ./vectorgrad bench jmh Softmax -f 3 -wi 5 -i 10 -r 1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 8, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public abstract class KernelBenchmark {
    @Param({"2"})
    public int threads;

    final GptShapes.Arena arena = new GptShapes.Arena();
    private final GptShapes.Threads saved = new GptShapes.Threads();

    @Setup(Level.Trial)
    public void setThreads() {
        saved.set(threads);
    }

    @TearDown(Level.Trial)
    public void restoreThreads() {
        saved.restore();
    }
}
