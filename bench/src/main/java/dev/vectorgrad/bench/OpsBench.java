package dev.vectorgrad.bench;

import dev.vectorgrad.tensor.LayerNormKernel;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Softmax;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import java.util.Random;

/**
 * {@code ./vectorgrad bench ops --rows R --cols C [--threads T] [--runs N]}: times softmax over the last axis
 * and layer norm (with weight and bias) on an R×C tensor: a warm-up, then the best of several timed runs
 * (each the mean of a short burst of calls). Prints {@code softmax: X us} and {@code layernorm: X us} for the
 * ops (which allocate their result), then {@code softmax-kernel} / {@code layernorm-kernel}: the same kernels
 * into a reused output array, and {@code softmax-arena} / {@code layernorm-arena}: the ops inside a {@link StepArena}.
 */
public final class OpsBench {
    private OpsBench() {}

    public static void main(String[] args) {
        int rows = 768, cols = 512, threads = Parallel.threads(), runs = 30;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rows" -> rows = Integer.parseInt(args[++i]);
                case "--cols" -> cols = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("bench ops: unknown option '" + args[i] + "' (--rows R --cols C [--threads T] [--runs N])");
                    System.exit(2);
                }
            }
        }
        Parallel.setThreads(threads);
        Random rnd = new Random(42);
        float[] xs = new float[rows * cols], ws = new float[cols], bs = new float[cols];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < cols; i++) {
            ws[i] = (float) rnd.nextGaussian();
            bs[i] = (float) rnd.nextGaussian();
        }
        Tensor x = Tensor.wrap(xs, rows, cols), w = Tensor.wrap(ws, cols), b = Tensor.wrap(bs, cols);
        System.out.println("# ops bench: " + rows + "x" + cols + ", threads " + threads);
        report("softmax", time(() -> x.softmax(-1), runs));
        report("layernorm", time(() -> x.layerNorm(w, b, 1e-5f), runs));
        // The same ops inside a StepArena scope, as a training step runs them: the result array is the one the
        // previous call handed back (what PyTorch's caching allocator does for the peer).
        StepArena arena = StepArena.create();
        report("softmax-arena", time(() -> {
            try (StepArena a = arena.reopen()) {
                return x.softmax(-1);
            }
        }, runs));
        report("layernorm-arena", time(() -> {
            try (StepArena a = arena.reopen()) {
                return x.layerNorm(w, b, 1e-5f);
            }
        }, runs));
        // The same kernels writing into one reused output: the ops above also pay for a fresh zeroed R×C array
        // (the JVM clears new memory; a malloc-based peer reuses a warm freed block), which these lines leave out.
        float[] out = new float[rows * cols];
        Tensor outT = Tensor.wrap(out, rows, cols);
        int r = rows, c = cols;
        report("softmax-kernel", time(() -> {
            Softmax.forward(xs, 0, out, 0, r, c, false);
            return outT;
        }, runs));
        report("layernorm-kernel", time(() -> {
            LayerNormKernel.forward(xs, 0, out, 0, r, c, ws, 0, bs, 0, 1e-5f, null, null);
            return outT;
        }, runs));
    }

    private static void report(String name, double us) {
        System.out.printf("%s: %.1f us%n", name, us);
    }

    /** Best, over {@code runs} runs, of the mean time of one call in a burst of 10; after a warm-up. */
    static double time(java.util.function.Supplier<Tensor> op, int runs) {
        float sink = 0;
        long warmEnd = System.nanoTime() + 1_500_000_000L;
        while (System.nanoTime() < warmEnd) sink += op.get().storage()[0];
        double best = Double.MAX_VALUE;
        for (int r = 0; r < runs; r++) {
            long t0 = System.nanoTime();
            for (int k = 0; k < 10; k++) sink += op.get().storage()[0];
            best = Math.min(best, (System.nanoTime() - t0) / 10.0);
        }
        if (sink == 42.4242f) System.out.println();
        return best / 1000.0;
    }
}
