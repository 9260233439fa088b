package dev.vectorgrad.bench.jmh;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;

/**
 * The baby GPT's training shapes, which every kernel benchmark uses: batch B = 12 of T = 64 tokens (BT = 768
 * rows), n_embd C = 128, H = 4 heads of D = 32, MLP width 4C = 512, vocabulary V = 65 (a character set the size
 * of Tiny Shakespeare's; {@code bench matmul --shapes gpt} uses the same).
 */
final class GptShapes {
    private GptShapes() {}

    static final int B = 12, T = 64, C = 128, H = 4, D = C / H, V = 65, BT = B * T, MLP = 4 * C;

    /** Uniform in [-1, 1), seeded: the same inputs in every fork. */
    static Tensor random(long seed, int... shape) {
        Rng r = new Rng(seed);
        int n = 1;
        for (int s : shape) n *= s;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = r.nextFloat() * 2 - 1;
        return Tensor.wrap(x, shape);
    }

    static Variable leaf(long seed, int... shape) {
        return Variable.param(random(seed, shape));
    }

    /**
     * One training step's allocation discipline around a benchmark call: outputs come from a {@link StepArena}
     * (as in {@code TrainLoop}) and go back to it, so the figure is the kernels', not the allocator's. Created on
     * the benchmark thread on first use (an arena belongs to one thread).
     */
    static final class Arena {
        private StepArena arena;

        StepArena open() {
            if (arena == null) arena = StepArena.create();
            return arena.reopen();
        }
    }

    /** Sets the engine's thread count for a trial and puts the old one back after it. */
    static final class Threads {
        private int saved = -1;

        void set(int threads) {
            saved = Parallel.threads();
            Parallel.setThreads(threads);
        }

        void restore() {
            if (saved > 0) Parallel.setThreads(saved);
        }
    }
}
