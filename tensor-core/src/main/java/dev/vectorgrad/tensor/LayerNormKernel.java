package dev.vectorgrad.tensor;

import static dev.vectorgrad.tensor.VectorMath.L;
import static dev.vectorgrad.tensor.VectorMath.S;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Layer normalisation over the last axis, as {@code torch.nn.functional.layer_norm}: biased variance,
 * y = (x - mean)·rstd·weight + bias with rstd = 1/√(var + eps). The entry points can also hand back each
 * row's mean and rstd, which the backward pass needs.
 */
public final class LayerNormKernel {
    private LayerNormKernel() {}

    /**
     * Layer norm of {@code x} over its last axis. {@code weight} and {@code bias} are 1-D of the last axis'
     * size, or null. When {@code mean} / {@code rstd} are non-null they receive each row's mean and 1/√(var+eps)
     * (rows = numel / last size, row-major); they must hold at least that many floats.
     */
    public static Tensor forward(Tensor x, Tensor weight, Tensor bias, float eps, float[] mean, float[] rstd) {
        if (x.shape.length == 0)
            throw new IllegalArgumentException("layerNorm: expects at least one axis, got a scalar");
        int cols = x.shape[x.shape.length - 1];
        check("weight", weight, cols, x);
        check("bias", bias, cols, x);
        int rows = cols == 0 ? 0 : x.numel() / cols;
        if (mean != null && mean.length < rows)
            throw new IllegalArgumentException("layerNorm: mean array holds " + mean.length + " floats, need " + rows + " for shape " + Arrays.toString(x.shape));
        if (rstd != null && rstd.length < rows)
            throw new IllegalArgumentException("layerNorm: rstd array holds " + rstd.length + " floats, need " + rows + " for shape " + Arrays.toString(x.shape));
        Tensor c = x.contiguous();
        Tensor w = weight == null ? null : weight.contiguous(), b = bias == null ? null : bias.contiguous();
        float[] out = StepArena.floats(x.numel());
        forward(c.data, c.offset, out, 0, rows, cols, w == null ? null : w.data, w == null ? 0 : w.offset,
                b == null ? null : b.data, b == null ? 0 : b.offset, eps, mean, rstd);
        return new Tensor(out, 0, x.shape.clone(), Shapes.contiguousStrides(x.shape));
    }

    private static void check(String what, Tensor p, int cols, Tensor x) {
        if (p != null && (p.shape.length != 1 || p.shape[0] != cols))
            throw new IllegalArgumentException("layerNorm: " + what + " has shape " + Arrays.toString(p.shape) + " but input " + Arrays.toString(x.shape)
                    + " needs [" + cols + "]");
    }

    /**
     * The raw kernel: {@code rows} contiguous rows of {@code cols} floats from {@code x[xOff]} normalised into
     * {@code y[yOff]}; {@code w}/{@code b} (nullable) from {@code wOff}/{@code bOff}; {@code mean}/{@code rstd}
     * (nullable) receive per-row statistics at index row. Rows are split across the shared pool.
     */
    public static void forward(float[] x, int xOff, float[] y, int yOff, int rows, int cols, float[] w, int wOff,
                               float[] b, int bOff, float eps, float[] mean, float[] rstd) {
        if (rows <= 0) return;
        long n = (long) rows * cols;
        int rowsPer = Math.max(1, Unary.GRAIN / Math.max(cols, 1));
        int tasks = n < Unary.PAR_MIN ? 1 : (rows + rowsPer - 1) / rowsPer;
        int per = tasks == 1 ? rows : rowsPer;
        Parallel.forRange(tasks, t -> {
            for (int r = t * per, e = Math.min(rows, r + per); r < e; r++) {
                row(x, xOff + r * cols, y, yOff + r * cols, cols, w, wOff, b, bOff, eps, mean, rstd, r);
            }
        });
    }

    private static void row(float[] x, int xo, float[] y, int yo, int n, float[] w, int wo, float[] b, int bo,
                            float eps, float[] meanOut, float[] rstdOut, int r) {
        float m = n == 0 ? 0f : (float) (Reduce.sumContig(x, xo, n) / n);
        double var = n == 0 ? 0 : Reduce.sqDevContig(x, xo, n, m) / n;
        float rs = (float) (1.0 / Math.sqrt(var + eps));
        if (meanOut != null) meanOut[r] = m;
        if (rstdOut != null) rstdOut[r] = rs;
        FloatVector mv = FloatVector.broadcast(S, m), rv = FloatVector.broadcast(S, rs);
        int i = 0, ub = S.loopBound(n);
        if (w != null && b != null) {
            for (; i < ub; i += L) {
                FloatVector h = FloatVector.fromArray(S, x, xo + i).sub(mv).mul(rv);
                h.fma(FloatVector.fromArray(S, w, wo + i), FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i);
            }
            for (; i < n; i++) y[yo + i] = Math.fma((x[xo + i] - m) * rs, w[wo + i], b[bo + i]);
        } else if (w != null) {
            for (; i < ub; i += L) FloatVector.fromArray(S, x, xo + i).sub(mv).mul(rv).mul(FloatVector.fromArray(S, w, wo + i)).intoArray(y, yo + i);
            for (; i < n; i++) y[yo + i] = (x[xo + i] - m) * rs * w[wo + i];
        } else if (b != null) {
            for (; i < ub; i += L) FloatVector.fromArray(S, x, xo + i).sub(mv).mul(rv).add(FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i);
            for (; i < n; i++) y[yo + i] = (x[xo + i] - m) * rs + b[bo + i];
        } else {
            for (; i < ub; i += L) FloatVector.fromArray(S, x, xo + i).sub(mv).mul(rv).intoArray(y, yo + i);
            for (; i < n; i++) y[yo + i] = (x[xo + i] - m) * rs;
        }
    }
}
