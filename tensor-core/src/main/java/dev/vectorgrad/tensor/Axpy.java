package dev.vectorgrad.tensor;

import static dev.vectorgrad.tensor.VectorMath.L;
import static dev.vectorgrad.tensor.VectorMath.S;

import jdk.incubator.vector.FloatVector;

/** y += alpha·x over contiguous ranges (optimiser updates, gradient accumulation). */
final class Axpy {
    private Axpy() {}

    static void run(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        if (n < Unary.PAR_MIN) {
            range(alpha, x, xo, y, yo, n);
            return;
        }
        Parallel.forRange((n + Unary.GRAIN - 1) / Unary.GRAIN, t -> {
            int s = t * Unary.GRAIN;
            range(alpha, x, xo + s, y, yo + s, Math.min(Unary.GRAIN, n - s));
        });
    }

    /** One contiguous range on the calling thread. */
    static void range(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector a = FloatVector.broadcast(S, alpha);
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += L)
            FloatVector.fromArray(S, x, xo + i).fma(a, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = Math.fma(x[xo + i], alpha, y[yo + i]);
    }
}
