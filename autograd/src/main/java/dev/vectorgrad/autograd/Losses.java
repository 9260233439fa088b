package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.VectorMath;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/** Fused losses: cross-entropy from logits and mean squared error. */
final class Losses {
    private Losses() {}

    static final int ROWS_PER_TASK = 16;

    /**
     * Cross-entropy from logits [..., C] and integer targets (one per row), averaged over the rows whose target
     * is not {@code ignoreIndex} (as {@code F.cross_entropy(reduction='mean')}; NaN when every row is ignored).
     * Forward keeps each row's log-sum-exp; backward is softmax − one-hot in one pass per row, scaled by g/count.
     */
    static final class CrossEntropy extends Node {
        Tensor logits;
        int[] targets;
        float[] lse;
        int rows, classes, count, ignoreIndex;

        static Variable apply(Variable logitsV, IntTensor targets, int ignoreIndex) {
            int[] s = logitsV.shape();
            if (s.length == 0) throw new IllegalArgumentException("crossEntropy: logits need a class axis, got a scalar");
            int c = s[s.length - 1];
            int rows = c == 0 ? 0 : logitsV.numel() / c;
            if (targets.numel() != rows)
                throw new IllegalArgumentException("crossEntropy: " + rows + " rows of logits " + Arrays.toString(s) + " but "
                        + targets.numel() + " targets " + Arrays.toString(targets.shape()));
            Tensor x = logitsV.data().contiguous();
            float[] xd = x.storage();
            int xo = x.offset();
            int[] t = targets.storage();
            int count = 0;
            for (int r = 0; r < rows; r++) {
                int ti = t[r];
                if (ti == ignoreIndex) continue;
                if (ti < 0 || ti >= c)
                    throw new IllegalArgumentException("crossEntropy: target " + ti + " at row " + r + " is out of range [0, " + c + ")");
                count++;
            }
            float[] lse = new float[rows];
            float[] loss = new float[rows];
            int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
            Parallel.forRange((long) rows * c < Kernels.PAR_MIN ? Math.min(tasks, 1) : tasks, task -> {
                int r0 = (long) rows * c < Kernels.PAR_MIN ? 0 : task * ROWS_PER_TASK;
                int r1 = (long) rows * c < Kernels.PAR_MIN ? rows : Math.min(rows, r0 + ROWS_PER_TASK);
                for (int r = r0; r < r1; r++) {
                    int b = xo + r * c;
                    lse[r] = logSumExp(xd, b, c);
                    if (t[r] != ignoreIndex) loss[r] = lse[r] - xd[b + t[r]];
                }
            });
            double total = 0;
            for (int r = 0; r < rows; r++) total += loss[r];
            float value = (float) (total / count); // 0/0 = NaN when every row is ignored, as PyTorch
            CrossEntropy n = new CrossEntropy();
            n.logits = x;
            n.targets = t;
            n.lse = lse;
            n.rows = rows;
            n.classes = c;
            n.count = count;
            n.ignoreIndex = ignoreIndex;
            return record(n, Tensor.scalar(value), logitsV);
        }

        /** max + log Σ exp(x − max) over one row. */
        static float logSumExp(float[] x, int b, int c) {
            float m = Float.NEGATIVE_INFINITY;
            int j = 0;
            if (c >= Kernels.L) {
                FloatVector mv = FloatVector.broadcast(Kernels.S, Float.NEGATIVE_INFINITY);
                for (int up = Kernels.S.loopBound(c); j < up; j += Kernels.L) mv = mv.max(FloatVector.fromArray(Kernels.S, x, b + j));
                m = mv.reduceLanes(jdk.incubator.vector.VectorOperators.MAX);
            }
            for (; j < c; j++) m = Math.max(m, x[b + j]);
            if (m == Float.NEGATIVE_INFINITY) return m;
            FloatVector sv = FloatVector.zero(Kernels.S);
            j = 0;
            for (int up = Kernels.S.loopBound(c); j < up; j += Kernels.L)
                sv = sv.add(VectorMath.exp(FloatVector.fromArray(Kernels.S, x, b + j).sub(m)));
            double sum = VectorMath.sumLanes(sv);
            for (; j < c; j++) sum += Math.exp(x[b + j] - m);
            return (float) (m + Math.log(sum));
        }

        @Override protected Tensor[] backward(Tensor g) {
            float scale = g.item() / count;
            float[] xd = logits.storage();
            int xo = logits.offset(), c = classes;
            float[] dx = StepArena.floats(rows * c);
            int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
            Parallel.forRange((long) rows * c < Kernels.PAR_MIN ? Math.min(tasks, 1) : tasks, task -> {
                int r0 = (long) rows * c < Kernels.PAR_MIN ? 0 : task * ROWS_PER_TASK;
                int r1 = (long) rows * c < Kernels.PAR_MIN ? rows : Math.min(rows, r0 + ROWS_PER_TASK);
                for (int r = r0; r < r1; r++) {
                    int t = targets[r];
                    if (t == ignoreIndex) { // dx comes from StepArena.floats: write the zeros
                        java.util.Arrays.fill(dx, r * c, r * c + c, 0f);
                        continue;
                    }
                    int b = xo + r * c, o = r * c, j = 0;
                    float l = lse[r];
                    for (int up = Kernels.S.loopBound(c); j < up; j += Kernels.L)
                        VectorMath.exp(FloatVector.fromArray(Kernels.S, xd, b + j).sub(l)).mul(scale).intoArray(dx, o + j);
                    for (; j < c; j++) dx[o + j] = (float) Math.exp(xd[b + j] - l) * scale;
                    dx[o + t] -= scale;
                }
            });
            return new Tensor[] {Tensor.wrap(dx, logits.shape())};
        }

        @Override protected void release() { logits = null; lse = null; targets = null; }
    }

    /** mean((p − t)²); d/dp = 2(p − t)/N, d/dt = −d/dp. */
    static final class Mse extends Node {
        Tensor diff;
        int[] pShape, tShape;
        static Variable apply(Variable p, Variable t) {
            Mse n = new Mse();
            n.diff = p.data().sub(t.data());
            n.pShape = p.shape();
            n.tShape = t.shape();
            Tensor loss = n.diff.square().mean();
            return record(n, loss, p, t);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor d = diff.mul(2f * g.item() / Math.max(1, diff.numel()));
            return new Tensor[] {needsGrad(0) ? Elementwise.reduceTo(d, pShape) : null,
                                 needsGrad(1) ? Elementwise.reduceTo(d.neg(), tShape) : null};
        }
        @Override protected void release() { diff = null; }
    }
}
