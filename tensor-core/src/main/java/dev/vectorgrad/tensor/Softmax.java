package dev.vectorgrad.tensor;

import static dev.vectorgrad.tensor.VectorMath.L;
import static dev.vectorgrad.tensor.VectorMath.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Softmax and log-softmax, numerically stable (the row maximum is subtracted before exponentiating). The row
 * kernel works on contiguous last-axis rows; another axis is moved last through a contiguous copy.
 */
public final class Softmax {
    private Softmax() {}

    static Tensor apply(Tensor x, int axis, boolean log) {
        String name = log ? "logSoftmax" : "softmax";
        int a = Shapes.axis(name, axis, x.shape);
        int last = x.shape.length - 1;
        if (a != last) return apply(x.transpose(a, last).contiguous(), last, log).transpose(a, last).contiguous();
        Tensor c = x.contiguous();
        int n = c.numel(), cols = x.shape[last];
        float[] out = StepArena.floats(n);
        if (n > 0) rows(c.data, c.offset, out, 0, n / cols, cols, log);
        return new Tensor(out, 0, x.shape.clone(), Shapes.contiguousStrides(x.shape));
    }

    /**
     * The raw kernel: softmax (or log-softmax) of {@code rows} contiguous rows of {@code cols} floats from
     * {@code x[xOff]} into {@code y[yOff]} (which may be x itself), rows split across the shared pool.
     */
    public static void forward(float[] x, int xOff, float[] y, int yOff, int rows, int cols, boolean log) {
        if (rows <= 0 || cols <= 0) return;
        rows(x, xOff, y, yOff, rows, cols, log);
    }

    static void rows(float[] x, int xOff, float[] y, int yOff, int rows, int cols, boolean log) {
        long n = (long) rows * cols;
        int rowsPer = Math.max(1, Unary.GRAIN / cols);
        int tasks = n < Unary.PAR_MIN ? 1 : (rows + rowsPer - 1) / rowsPer;
        int per = tasks == 1 ? rows : rowsPer;
        Parallel.forRange(tasks, t -> {
            for (int r = t * per, e = Math.min(rows, r + per); r < e; r++) {
                if (log) logRow(x, xOff + r * cols, y, yOff + r * cols, cols);
                else row(x, xOff + r * cols, y, yOff + r * cols, cols);
            }
        });
    }

    /** Writes e^(x - max) into y and returns their sum (float lanes per block, double across blocks). */
    private static double expShifted(float[] x, int xo, float[] y, int yo, int n, float m, boolean store) {
        FloatVector mv = FloatVector.broadcast(S, m);
        double total = 0;
        int ub = S.loopBound(n);
        for (int b = 0; b < ub; b += Reduce.BLOCK) {
            int e = Math.min(ub, b + Reduce.BLOCK);
            FloatVector acc = FloatVector.zero(S);
            for (int i = b; i < e; i += L) {
                FloatVector v = VectorMath.expNonPositive(FloatVector.fromArray(S, x, xo + i).sub(mv));
                if (store) v.intoArray(y, yo + i);
                acc = acc.add(v);
            }
            total += VectorMath.sumLanes(acc);
        }
        if (ub < n) {
            VectorMask<Float> mask = S.indexInRange(ub, n);
            FloatVector v = VectorMath.expNonPositive(FloatVector.fromArray(S, x, xo + ub, mask).sub(mv)).blend(0f, mask.not());
            if (store) v.intoArray(y, yo + ub, mask);
            total += VectorMath.sumLanes(v);
        }
        return total;
    }

    static void row(float[] x, int xo, float[] y, int yo, int n) {
        float m = Reduce.maxContig(x, xo, n, true);
        float inv = (float) (1.0 / expShifted(x, xo, y, yo, n, m, true));
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += L) FloatVector.fromArray(S, y, yo + i).mul(inv).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = y[yo + i] * inv;
    }

    static void logRow(float[] x, int xo, float[] y, int yo, int n) {
        float m = Reduce.maxContig(x, xo, n, true);
        float ls = (float) Math.log(expShifted(x, xo, y, yo, n, m, false));
        FloatVector mv = FloatVector.broadcast(S, m);
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += L) FloatVector.fromArray(S, x, xo + i).sub(mv).sub(ls).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = x[xo + i] - m - ls;
    }
}
