package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.tensor.Gemm;
import dev.vectorgrad.tensor.Parallel;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
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
 * SGEMM over the square sizes and the transformer-training shapes, in each form a training step uses:
 * NN = A·B (m×k · k×n), NT = A·Bᵀ with B stored n×k, TN = Aᵀ·B with A stored k×m.
 * Run: {@code ./vectorgrad bench jmh Gemm} (or {@code ... Gemm -p shape=768x128x384 -p form=NT -p threads=1}).
 * Time per call is reported; GFLOP/s = 2·m·n·k / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public class GemmBenchmark {
    /** m×k×n. */
    @Param({"1024x1024x1024", "2048x2048x2048", "768x128x384", "768x128x512", "768x512x128", "768x128x65"})
    public String shape;

    @Param({"NN", "NT", "TN"})
    public String form;

    @Param({"1", "2"})
    public int threads;

    private int m, n, k, lda, ldb;
    private boolean ta, tb;
    private float[] a, b, c;
    private int savedThreads;

    @Setup(Level.Trial)
    public void setup() {
        String[] d = shape.split("x");
        int bm = Integer.parseInt(d[0]), bk = Integer.parseInt(d[1]), bn = Integer.parseInt(d[2]);
        // The backward forms of C = A·B (bm×bk · bk×bn): dA = dC·Bᵀ and dB = Aᵀ·dC.
        switch (form) {
            case "NN" -> { m = bm; k = bk; n = bn; }
            case "NT" -> { m = bm; k = bn; n = bk; tb = true; }
            case "TN" -> { m = bk; k = bm; n = bn; ta = true; }
            default -> throw new IllegalArgumentException("form is NN, NT or TN: " + form);
        }
        lda = ta ? m : k;
        ldb = tb ? k : n;
        SplittableRandom rnd = new SplittableRandom(42);
        a = random(rnd, m * k);
        b = random(rnd, k * n);
        c = new float[m * n];
        savedThreads = Parallel.threads();
        Parallel.setThreads(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Parallel.setThreads(savedThreads);
    }

    @Benchmark
    public float[] sgemm() {
        Gemm.sgemm(ta, tb, m, n, k, 1f, a, 0, lda, b, 0, ldb, 0f, c, 0, n);
        return c;
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
