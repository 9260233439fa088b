package dev.vectorgrad.bench;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.GELU;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Sequential;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * One MLP training step, timed: batch 256, Linear(512→2048) → GELU → Linear(2048→512), MSE loss against a
 * fixed random target, backward, AdamW (lr 1e-3, wd 0.01), gradients cleared (set to none) each step.
 * The same model and step as {@code bench/scripts/mlp_peer.py}.
 *
 * <p>usage: {@code MlpBench [--threads T] [--steps N] [--warmup W] [--batch B] [--in I] [--hidden H]}; prints
 * the per-step times' median last, as {@code median step ms: X}.
 */
public final class MlpBench {
    private MlpBench() {}

    public static void main(String[] args) {
        int threads = Parallel.threads(), steps = 50, warmup = 20, batch = 256, in = 512, hidden = 2048;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--threads" -> { threads = Integer.parseInt(v); i++; }
                case "--steps" -> { steps = Integer.parseInt(v); i++; }
                case "--warmup" -> { warmup = Integer.parseInt(v); i++; }
                case "--batch" -> { batch = Integer.parseInt(v); i++; }
                case "--in" -> { in = Integer.parseInt(v); i++; }
                case "--hidden" -> { hidden = Integer.parseInt(v); i++; }
                default -> {
                    System.err.println("usage: MlpBench [--threads T] [--steps N] [--warmup W] [--batch B] [--in I] [--hidden H]");
                    System.exit(2);
                }
            }
        }
        Parallel.setThreads(threads);
        Rng rng = new Rng(0);
        Sequential model = new Sequential(new Linear(in, hidden, true, rng), new GELU(), new Linear(hidden, in, true, rng));
        AdamW opt = new AdamW(model.parameters(), 1e-3, 0.01);
        float[] xv = new float[batch * in], yv = new float[batch * in];
        rng.fillNormal(xv, 0, xv.length, 0, 1);
        rng.fillNormal(yv, 0, yv.length, 0, 1);
        Variable x = Variable.of(Tensor.wrap(xv, batch, in)), y = Variable.of(Tensor.wrap(yv, batch, in));

        System.out.printf("mlp: batch %d, %d -> %d -> %d, GELU, MSE, AdamW; threads %d, %d warm-up + %d timed steps%n",
                batch, in, hidden, in, threads, warmup, steps);
        double[] ms = new double[steps];
        float loss = 0;
        // Activations and gradients recycled step to step, as PyTorch's caching allocator does for the peer.
        StepArena arena = StepArena.create();
        for (int s = 0; s < warmup + steps; s++) {
            long t0 = System.nanoTime();
            try (StepArena a = arena.reopen()) {
                opt.zeroGrad();
                Variable l = F.mseLoss(model.forward(x), y);
                l.backward();
                opt.step();
                loss = l.item();
            }
            long t1 = System.nanoTime();
            if (s >= warmup) ms[s - warmup] = (t1 - t0) / 1e6;
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        double flops = 3.0 * 2 * 2 * batch * (double) in * hidden; // forward + 2x backward, two layers
        System.out.printf("final loss: %.6f%n", loss);
        System.out.printf("min step ms: %.3f%n", sorted[0]);
        System.out.printf("GFLOP/s at median: %.1f%n", flops / (median * 1e6));
        System.out.printf("median step ms: %.3f%n", median);
    }
}
