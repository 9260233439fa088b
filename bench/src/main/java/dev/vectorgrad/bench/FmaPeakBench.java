package dev.vectorgrad.bench;

import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code ./vectorgrad bench fma [--threads T] [--runs R]}: the machine's FMA throughput, the physical limit
 * beside the GEMM's figures. Each thread runs 12 independent FMA chains of the preferred species (more than
 * latency × ports on any x86 core, and 12 + 2 registers fit AVX2's 16), on registers only; each thread's rate
 * over its own CPU time (a shared machine's waits don't count), summed; the best of R runs.
 */
final class FmaPeakBench {
    private FmaPeakBench() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    public static void main(String[] args) throws InterruptedException {
        int threads = Runtime.getRuntime().availableProcessors(), runs = 5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: ./vectorgrad bench fma [--threads T] [--runs R]");
                    System.exit(2);
                }
            }
        }
        long iters = 20_000_000;
        for (int w = 0; w < 20_000; w++) chains(1000);  // C2 compiles the whole method (not just an OSR loop)
        double best = 0;
        for (int r = 0; r < runs; r++) {
            Thread[] ts = new Thread[threads];
            double[] rate = new double[threads];
            for (int t = 0; t < threads; t++) {
                final int ti = t;
                (ts[t] = new Thread(() -> {
                    long c0 = CPU.getCurrentThreadCpuTime(), w0 = System.nanoTime();
                    chains(iters);
                    // Per thread, over its CPU time when the clock has one: a loaded machine's waits don't count.
                    long dt = CPU.isCurrentThreadCpuTimeSupported() ? CPU.getCurrentThreadCpuTime() - c0 : System.nanoTime() - w0;
                    rate[ti] = 2.0 * 12 * S.length() * iters / (dt * 1e-9) / 1e9;
                })).start();
            }
            for (Thread t : ts) t.join();
            double sum = 0;
            for (double x : rate) sum += x;
            best = Math.max(best, sum);
        }
        System.out.printf(Locale.ROOT, "FMA peak: %d threads × 12 chains of %d lanes, best of %d runs, per-thread CPU time summed%n",
                threads, S.length(), runs);
        System.out.printf(Locale.ROOT, "GFLOP/s: %.1f%n", best);
    }

    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    static volatile float sink;

    /** 12 independent chains acc = acc·x + y, iters steps each. */
    static void chains(long iters) {
        FloatVector x = FloatVector.broadcast(S, 0.9999999f), y = FloatVector.broadcast(S, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(S, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
                a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(x, y); a1 = a1.fma(x, y); a2 = a2.fma(x, y); a3 = a3.fma(x, y);
            a4 = a4.fma(x, y); a5 = a5.fma(x, y); a6 = a6.fma(x, y); a7 = a7.fma(x, y);
            a8 = a8.fma(x, y); a9 = a9.fma(x, y); a10 = a10.fma(x, y); a11 = a11.fma(x, y);
        }
        sink = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).lane(0);
    }
}
