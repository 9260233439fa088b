package dev.vectorgrad.autograd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.ReLU;
import dev.vectorgrad.autograd.nn.Sequential;
import dev.vectorgrad.autograd.nn.Tanh;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.SGD;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Learning works end to end, and training does not leak. */
class TrainingTest {
    private static int threads;

    /**
     * These models are tiny (kernels of microseconds), so a parallel section costs more than it saves, and on a
     * loaded 2-core machine a descheduled pool worker stalls every one of them; run them on the calling thread.
     */
    @org.junit.jupiter.api.BeforeAll
    static void oneThread() {
        threads = dev.vectorgrad.tensor.Parallel.threads();
        dev.vectorgrad.tensor.Parallel.setThreads(1);
    }

    @org.junit.jupiter.api.AfterAll
    static void restoreThreads() {
        dev.vectorgrad.tensor.Parallel.setThreads(threads);
    }

    /** Two interleaved spirals (Karpathy's CS231n data): n points per class, 2 classes. */
    static float[][] spiral(int n, Rng rng) {
        float[] x = new float[2 * n * 2];
        float[] y = new float[2 * n];
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < n; i++) {
                double r = 0.1 + 0.9 * i / n;
                double t = c * Math.PI + r * 3.5 + rng.nextGaussian() * 0.03;
                int k = c * n + i;
                x[2 * k] = (float) (r * Math.sin(t));
                x[2 * k + 1] = (float) (r * Math.cos(t));
                y[k] = c;
            }
        return new float[][] {x, y};
    }

    @Test
    void mlpReachesFullTrainingAccuracyOnTwoSpirals() {
        Rng rng = new Rng(7);
        int n = 100;
        float[][] d = spiral(n, rng);
        Tensor x = Tensor.wrap(d[0], 2 * n, 2);
        int[] labels = new int[2 * n];
        for (int i = 0; i < labels.length; i++) labels[i] = (int) d[1][i];
        IntTensor t = IntTensor.of(labels, 2 * n);
        Sequential mlp = new Sequential(new Linear(2, 64, true, rng), new Tanh(), new Linear(64, 64, true, rng), new Tanh(), new Linear(64, 2, true, rng));
        AdamW opt = new AdamW(mlp.parameters(), 0.02, 0);
        double acc = 0;
        for (int step = 0; step < 3000 && acc < 1.0; step++) {
            opt.zeroGrad();
            Variable logits = mlp.forward(Variable.of(x));
            F.crossEntropy(logits, t).backward();
            opt.step();
            if (step % 50 == 49) acc = accuracy(logits.data(), labels);
        }
        try (var g = Grad.disabled()) {
            acc = accuracy(mlp.forward(Variable.of(x)).data(), labels);
        }
        assertThat(acc).as("training accuracy").isEqualTo(1.0);
    }

    static double accuracy(Tensor logits, int[] labels) {
        int[] pred = logits.argmax(1, false).storage();
        int ok = 0;
        for (int i = 0; i < labels.length; i++) if (pred[i] == labels[i]) ok++;
        return ok / (double) labels.length;
    }

    @Test
    void xorWithSgdMomentum() {
        Rng rng = new Rng(3);
        Tensor x = Tensor.matrix(new float[][] {{0, 0}, {0, 1}, {1, 0}, {1, 1}});
        int[] labels = {0, 1, 1, 0};
        Sequential mlp = new Sequential(new Linear(2, 8, true, rng), new ReLU(), new Linear(8, 2, true, rng));
        SGD opt = new SGD(mlp.parameters(), 0.1, 0.9, 0, false);
        for (int step = 0; step < 500; step++) {
            opt.zeroGrad();
            F.crossEntropy(mlp.forward(Variable.of(x)), IntTensor.of(labels, 4)).backward();
            opt.step();
        }
        assertThat(accuracy(mlp.forward(Variable.of(x)).data(), labels)).isEqualTo(1.0);
    }

    @Test
    void sgdOnAConvexProblemDecreasesTheLossMonotonically() {
        // least squares: min_w mean((X·w − y)²), step well below 1/L
        Rng rng = new Rng(11);
        int n = 64, dim = 8;
        float[] xv = new float[n * dim], yv = new float[n];
        rng.fillNormal(xv, 0, xv.length, 0, 1);
        rng.fillNormal(yv, 0, n, 0, 1);
        Variable x = Variable.of(Tensor.wrap(xv, n, dim)), y = Variable.of(Tensor.wrap(yv, n, 1));
        Variable w = Variable.param(Tensor.zeros(dim, 1));
        SGD opt = new SGD(List.of(w), 0.01);
        double prev = Double.POSITIVE_INFINITY;
        for (int step = 0; step < 100; step++) {
            opt.zeroGrad();
            Variable loss = F.mseLoss(x.matmul(w), y);
            double l = loss.item();
            assertThat(l).as("step %d", step).isLessThan(prev);
            prev = l;
            loss.backward();
            opt.step();
        }
    }

    @Test
    void thousandTrainingStepsKeepTheHeapFlat() {
        Rng rng = new Rng(5);
        Sequential mlp = new Sequential(new Linear(32, 64, true, rng), new ReLU(), new Linear(64, 10, true, rng));
        AdamW opt = new AdamW(mlp.parameters(), 1e-3);
        float[] xv = new float[128 * 32];
        rng.fillNormal(xv, 0, xv.length, 0, 1);
        Tensor x = Tensor.wrap(xv, 128, 32);
        int[] labels = new int[128];
        for (int i = 0; i < labels.length; i++) labels[i] = rng.nextInt(10);
        IntTensor t = IntTensor.of(labels, 128);
        List<WeakReference<Node>> nodes = new ArrayList<>();
        long at100 = 0;
        for (int step = 1; step <= 1000; step++) {
            opt.zeroGrad();
            Variable logits = mlp.forward(Variable.of(x));
            Variable loss = F.crossEntropy(logits, t);
            if (step % 100 == 0) nodes.add(new WeakReference<>(logits.gradFn()));
            loss.backward();
            opt.step();
            if (step == 100) at100 = usedAfterGc();
        }
        long at1000 = usedAfterGc();
        // graph nodes of past steps are collected
        int alive = 0;
        for (var r : nodes) if (r.get() != null) alive++;
        assertThat(alive).isZero();
        assertThat(at1000 - at100).as("heap growth between step 100 and 1000 (bytes)").isLessThan(4L << 20);
    }

    static long usedAfterGc() {
        Runtime rt = Runtime.getRuntime();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            best = Math.min(best, rt.totalMemory() - rt.freeMemory());
        }
        return best;
    }
}
