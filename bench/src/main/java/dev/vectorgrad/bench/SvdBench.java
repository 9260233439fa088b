package dev.vectorgrad.bench;

import dev.vectorgrad.peft.Svd;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.Locale;

/**
 * {@code ./vectorgrad bench svd [--m 768] [--n 3072] [--r 8] [--q 32] [--niter 4] [--threads T] [--runs R]}: PiSSA's
 * init of one m × n matrix, the randomised top-r SVD ({@link Svd#topR}) plus the factors A = √S·Vᵀ, B = U·√S and the
 * residual W − B·A, best of R runs after a warm-up; prints {@code ms: <best>}.
 */
final class SvdBench {
    private SvdBench() {}

    static void main(String[] args) {
        int m = 768, n = 3072, r = 8, q = 32, niter = 4, runs = 10, threads = Parallel.threads();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--m" -> m = Integer.parseInt(args[++i]);
                case "--n" -> n = Integer.parseInt(args[++i]);
                case "--r" -> r = Integer.parseInt(args[++i]);
                case "--q" -> q = Integer.parseInt(args[++i]);
                case "--niter" -> niter = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: ./vectorgrad bench svd [--m M] [--n N] [--r R] [--q Q] [--niter I] [--threads T] [--runs R]");
                    System.exit(2);
                }
            }
        }
        Parallel.setThreads(threads);
        Tensor w = Tensor.zeros(m, n);
        Init.normal(w, new Rng(0), 0, 0.02);
        double best = Double.MAX_VALUE;
        for (int i = 0; i < runs + 3; i++) {
            long t0 = System.nanoTime();
            Svd.Result d = Svd.topR(w, r, q, niter, i);
            Tensor sr = d.s().sqrt();
            Tensor a = d.v().t().mul(sr.reshape(r, 1)).contiguous();
            Tensor b = d.u().mul(sr.reshape(1, r)).contiguous();
            Tensor res = w.sub(b.matmul(a));
            double ms = (System.nanoTime() - t0) / 1e6;
            if (res.numel() != m * n) throw new AssertionError();
            if (i >= 3) best = Math.min(best, ms);
        }
        System.out.printf(Locale.ROOT, "pissa init %d×%d r=%d q=%d niter=%d threads=%d%n", m, n, r, q, niter, Parallel.threads());
        System.out.printf(Locale.ROOT, "ms: %.2f%n", best);
    }
}
