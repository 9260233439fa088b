package dev.vectorgrad.bench;

import dev.vectorgrad.tensor.Gemm;
import dev.vectorgrad.tensor.Parallel;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.function.LongSupplier;
import java.util.SplittableRandom;

/**
 * {@code ./vectorgrad bench matmul --m M --n N --k K [--threads T] [--transpose-a] [--transpose-b] [--batch B]
 * [--warmup S] [--runs R]}: times {@link Gemm#sgemmBatched} on random inputs.
 *
 * <p>Method (mirrored by bench/scripts/matmul_peer.py): warm up for S seconds (default 2, enough for C2) and
 * at least 10 calls, pick a repetition count (from 50 ms of warm calls) so one run takes about 0.2 s, time R runs (default 10), report the best run's
 * mean time per call. The last line is {@code GFLOP/s: <number>} for scripts. {@code --clock cpu} (one thread
 * only) times with the thread's CPU clock instead of the wall clock: a tuning aid on a busy machine.
 */
public final class MatmulBench {
    private MatmulBench() {}

    /**
     * The baby-GPT training step's GEMM shapes (768 tokens, width 128, MLP 512, vocabulary 65), each as
     * m,k,n,FORM: the forward A·B and the backward dA = dC·Bᵀ (NT) and dB = Aᵀ·dC (TN), as in matmul_compare.sh.
     */
    static final String[] GPT_SHAPES = {
            "768,128,384,NN", "768,384,128,NT", "128,768,384,TN", "768,128,512,NN", "768,512,128,NT", "128,768,512,TN",
            "768,512,128,NN", "768,128,512,NT", "512,768,128,TN", "768,128,65,NN", "768,65,128,NT", "128,768,65,TN"};

    public static void main(String[] args) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--shapes")) {
                if (!args[i + 1].equals("gpt")) {
                    System.err.println("bench matmul: --shapes takes 'gpt' (the GPT step's GEMM shapes)");
                    System.exit(2);
                }
                String[] rest = new String[args.length - 2];
                System.arraycopy(args, 0, rest, 0, i);
                System.arraycopy(args, i + 2, rest, i, args.length - i - 2);
                for (String shape : GPT_SHAPES) {
                    String[] f = shape.split(",");
                    String[] one = java.util.Arrays.copyOf(rest, rest.length + 6 + (f[3].equals("NN") ? 0 : 1));
                    int o = rest.length;
                    one[o] = "--m"; one[o + 1] = f[0]; one[o + 2] = "--k"; one[o + 3] = f[1]; one[o + 4] = "--n"; one[o + 5] = f[2];
                    if (!f[3].equals("NN")) one[o + 6] = f[3].equals("NT") ? "--transpose-b" : "--transpose-a";
                    main(one);
                }
                return;
            }
        }
        int m = 0, n = 0, k = 0, batch = 1, threads = Parallel.threads(), runs = 10;
        double warmup = 2.0;
        boolean ta = false, tb = false, cpuClock = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--m" -> m = Integer.parseInt(args[++i]);
                case "--n" -> n = Integer.parseInt(args[++i]);
                case "--k" -> k = Integer.parseInt(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Double.parseDouble(args[++i]);
                case "--clock" -> cpuClock = switch (args[++i]) {
                    case "cpu" -> true;
                    case "wall" -> false;
                    default -> throw new IllegalArgumentException("bench matmul: --clock is wall or cpu");
                };
                case "--transpose-a" -> ta = true;
                case "--transpose-b" -> tb = true;
                default -> {
                    System.err.println("bench matmul: unknown option '" + args[i] + "'");
                    System.err.println("usage: ./vectorgrad bench matmul (--m M --n N --k K | --shapes gpt) [--threads T] [--transpose-a] [--transpose-b] [--batch B] [--warmup SECONDS] [--runs R] [--clock wall|cpu]");
                    System.exit(2);
                }
            }
        }
        if (m <= 0 || n <= 0 || k <= 0 || batch <= 0 || runs <= 0) {
            System.err.println("bench matmul: --m, --n, --k (and --batch, --runs) must be positive");
            System.exit(2);
        }
        if (cpuClock && threads != 1) {
            System.err.println("bench matmul: --clock cpu measures the calling thread only, so it needs --threads 1");
            System.exit(2);
        }
        Parallel.setThreads(threads);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        final boolean cpu = cpuClock;
        LongSupplier clock = () -> cpu ? mx.getCurrentThreadCpuTime() : System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(42);
        float[] a = random(rnd, (long) batch * m * k), b = random(rnd, (long) batch * k * n);
        float[] c = new float[Math.toIntExact((long) batch * m * n)];
        int lda = ta ? m : k, ldb = tb ? k : n;
        final int fm = m, fn = n, fk = k, fb = batch;
        final boolean fta = ta, ftb = tb;
        Runnable call = () -> Gemm.sgemmBatched(fb, fta, ftb, fm, fn, fk, 1f, a, 0, lda, (long) fm * fk,
                b, 0, ldb, (long) fk * fn, 0f, c, 0, fn, (long) fm * fn);

        // Warm-up: at least S seconds and 10 calls (the first calls run in the interpreter, where the
        // Vector API is orders of magnitude slower, so their time says nothing about a compiled call).
        long warmEnd = System.nanoTime() + (long) (warmup * 1e9);
        long calls = 0;
        do {
            call.run();
            calls++;
        } while (System.nanoTime() < warmEnd || calls < 10);
        // Calibrate on warm code: enough calls per run for about 0.2 s.
        long cal = 0, t0 = clock.getAsLong();
        do {
            call.run();
            cal++;
        } while (clock.getAsLong() - t0 < 50_000_000L);
        double perCall = (clock.getAsLong() - t0) / 1e9 / cal;
        int reps = (int) Math.max(1, Math.min(1_000_000, 0.2 / perCall));

        double flops = 2.0 * batch * m * n * k;
        double best = Double.MAX_VALUE, sum = 0;
        for (int r = 0; r < runs; r++) {
            long s = clock.getAsLong();
            for (int i = 0; i < reps; i++) call.run();
            double t = (clock.getAsLong() - s) / 1e9 / reps;
            best = Math.min(best, t);
            sum += t;
        }
        String shape = (batch > 1 ? batch + "×" : "") + "(" + m + "×" + k + ")" + (ta ? "ᵀ-stored" : "")
                + "·(" + k + "×" + n + ")" + (tb ? "ᵀ-stored" : "");
        System.out.printf(Locale.ROOT, "sgemm %s transA=%b transB=%b threads=%d lanes=%d%n",
                shape, ta, tb, Parallel.threads(), jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length());
        System.out.printf(Locale.ROOT, "warm-up %.1f s (%d calls); %d runs × %d calls each%n", warmup, calls, runs, reps);
        System.out.printf(Locale.ROOT, "time per call: best %.4f ms, mean %.4f ms; mean GFLOP/s %.2f%n",
                best * 1e3, sum / runs * 1e3, flops / (sum / runs) / 1e9);
        System.out.printf(Locale.ROOT, "GFLOP/s below is the best of %d runs (%s clock)%n", runs, cpu ? "thread-CPU-time" : "wall");
        System.out.printf(Locale.ROOT, "GFLOP/s: %.2f%n", flops / best / 1e9);
    }

    private static float[] random(SplittableRandom rnd, long size) {
        float[] x = new float[Math.toIntExact(size)];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
