package dev.vectorgrad.tensor;

import static dev.vectorgrad.tensor.VectorMath.L;
import static dev.vectorgrad.tensor.VectorMath.S;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Reductions. A reduced axis is viewed as [outer, n, inner] of a contiguous copy: with inner == 1 each output
 * is one contiguous row (vector lanes across the row); otherwise each output row of {@code inner} values is
 * accumulated column-wise with vectors running along the inner axis. Sums accumulate in float vector lanes
 * for blocks of {@link #BLOCK} elements and in double across blocks, so long reductions stay accurate. Work
 * is split in fixed pieces that depend on the shape only, never on the thread count.
 */
final class Reduce {
    private Reduce() {}

    static final int SUM = 0, MEAN = 1, MAX = 2, MIN = 3;
    /** Float-lane accumulation length before a partial sum is moved to double. */
    static final int BLOCK = 1024;

    // ---------------------------------------------------------------- contiguous rows

    /** Σ x[off .. off+n), float lanes within blocks, double across blocks. */
    static double sumContig(float[] x, int off, int n) {
        double total = 0;
        for (int b = 0; b < n; b += BLOCK) {
            int m = Math.min(BLOCK, n - b), base = off + b;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int i = 0;
            for (int ub = m - 4 * L; i <= ub; i += 4 * L) {
                a0 = a0.add(FloatVector.fromArray(S, x, base + i));
                a1 = a1.add(FloatVector.fromArray(S, x, base + i + L));
                a2 = a2.add(FloatVector.fromArray(S, x, base + i + 2 * L));
                a3 = a3.add(FloatVector.fromArray(S, x, base + i + 3 * L));
            }
            for (int ub = m - L; i <= ub; i += L) a0 = a0.add(FloatVector.fromArray(S, x, base + i));
            float s = VectorMath.sumLanes(a0.add(a1).add(a2.add(a3)));
            for (; i < m; i++) s += x[base + i];
            total += s;
        }
        return total;
    }

    /** Σ (x - mean)² over x[off .. off+n), like {@link #sumContig}. */
    static double sqDevContig(float[] x, int off, int n, float mean) {
        double total = 0;
        FloatVector mv = FloatVector.broadcast(S, mean);
        for (int b = 0; b < n; b += BLOCK) {
            int m = Math.min(BLOCK, n - b), base = off + b;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int i = 0;
            for (int ub = m - 4 * L; i <= ub; i += 4 * L) {
                FloatVector d0 = FloatVector.fromArray(S, x, base + i).sub(mv);
                FloatVector d1 = FloatVector.fromArray(S, x, base + i + L).sub(mv);
                FloatVector d2 = FloatVector.fromArray(S, x, base + i + 2 * L).sub(mv);
                FloatVector d3 = FloatVector.fromArray(S, x, base + i + 3 * L).sub(mv);
                a0 = d0.fma(d0, a0);
                a1 = d1.fma(d1, a1);
                a2 = d2.fma(d2, a2);
                a3 = d3.fma(d3, a3);
            }
            for (int ub = m - L; i <= ub; i += L) {
                FloatVector d0 = FloatVector.fromArray(S, x, base + i).sub(mv);
                a0 = d0.fma(d0, a0);
            }
            float s = VectorMath.sumLanes(a0.add(a1).add(a2.add(a3)));
            for (; i < m; i++) {
                float d = x[base + i] - mean;
                s += d * d;
            }
            total += s;
        }
        return total;
    }

    /** Maximum (or minimum) of x[off .. off+n), n >= 1; NaN propagates. */
    static float maxContig(float[] x, int off, int n, boolean max) {
        return max ? maxOf(x, off, n) : minOf(x, off, n);
    }

    private static float maxOf(float[] x, int off, int n) {
        int i = 0;
        float r = x[off];
        if (n >= 4 * L) {
            FloatVector a0 = FloatVector.fromArray(S, x, off), a1 = a0, a2 = a0, a3 = a0;
            for (int ub = n - 4 * L; i <= ub; i += 4 * L) {
                a0 = a0.max(FloatVector.fromArray(S, x, off + i));
                a1 = a1.max(FloatVector.fromArray(S, x, off + i + L));
                a2 = a2.max(FloatVector.fromArray(S, x, off + i + 2 * L));
                a3 = a3.max(FloatVector.fromArray(S, x, off + i + 3 * L));
            }
            r = a0.max(a1).max(a2.max(a3)).reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) r = Math.max(r, x[off + i]);
        return r;
    }

    private static float minOf(float[] x, int off, int n) {
        int i = 0;
        float r = x[off];
        if (n >= 4 * L) {
            FloatVector a0 = FloatVector.fromArray(S, x, off), a1 = a0, a2 = a0, a3 = a0;
            for (int ub = n - 4 * L; i <= ub; i += 4 * L) {
                a0 = a0.min(FloatVector.fromArray(S, x, off + i));
                a1 = a1.min(FloatVector.fromArray(S, x, off + i + L));
                a2 = a2.min(FloatVector.fromArray(S, x, off + i + 2 * L));
                a3 = a3.min(FloatVector.fromArray(S, x, off + i + 3 * L));
            }
            r = a0.min(a1).min(a2.min(a3)).reduceLanes(VectorOperators.MIN);
        }
        for (; i < n; i++) r = Math.min(r, x[off + i]);
        return r;
    }

    // ---------------------------------------------------------------- whole tensor

    static Tensor sumAll(Tensor x, boolean mean) {
        Tensor c = x.contiguous();
        int n = c.numel();
        double s;
        if (n < Unary.PAR_MIN) {
            s = sumContig(c.data, c.offset, n);
        } else {
            int tasks = (n + Unary.GRAIN - 1) / Unary.GRAIN;
            double[] part = new double[tasks];
            Parallel.forRange(tasks, t -> {
                int st = t * Unary.GRAIN;
                part[t] = sumContig(c.data, c.offset + st, Math.min(Unary.GRAIN, n - st));
            });
            s = 0;
            for (double p : part) s += p;
        }
        return Tensor.scalar((float) (mean ? s / n : s));
    }

    // ---------------------------------------------------------------- along an axis

    static int[] reducedShape(int[] shape, int a, boolean keepDim) {
        if (keepDim) {
            int[] s = shape.clone();
            s[a] = 1;
            return s;
        }
        int[] s = new int[shape.length - 1];
        for (int k = 0, j = 0; k < shape.length; k++) if (k != a) s[j++] = shape[k];
        return s;
    }

    static int prod(int[] shape, int from, int to) {
        int p = 1;
        for (int k = from; k < to; k++) p *= shape[k];
        return p;
    }

    /** sum / mean / max / min of {@code x} along {@code axis}. */
    static Tensor axis(String name, int kind, Tensor x, int axis, boolean keepDim) {
        int a = Shapes.axis(name, axis, x.shape);
        int n = x.shape[a];
        if (n == 0 && (kind == MAX || kind == MIN))
            throw new IllegalArgumentException(name + ": cannot reduce over axis " + a + " of size 0 (shape " + Arrays.toString(x.shape) + ")");
        Tensor c = x.contiguous();
        int outer = prod(x.shape, 0, a), inner = prod(x.shape, a + 1, x.shape.length);
        int[] os = reducedShape(x.shape, a, keepDim);
        float[] out = new float[outer * inner];
        if (out.length > 0) {
            float[] d = c.data;
            int off = c.offset;
            if (inner == 1) {
                int rowsPer = Math.max(1, Unary.GRAIN / Math.max(n, 1));
                int tasks = (long) outer * n < Unary.PAR_MIN ? 1 : (outer + rowsPer - 1) / rowsPer;
                int per = tasks == 1 ? outer : rowsPer;
                Parallel.forRange(tasks, t -> {
                    for (int o = t * per, e = Math.min(outer, o + per); o < e; o++) {
                        int p = off + o * n;
                        out[o] = switch (kind) {
                            case SUM -> (float) sumContig(d, p, n);
                            case MEAN -> (float) (sumContig(d, p, n) / n);
                            default -> maxContig(d, p, n, kind == MAX);
                        };
                    }
                });
            } else {
                int cw = 1024;
                int strips = (inner + cw - 1) / cw;
                int tasks = outer * strips;
                if ((long) outer * n * inner < Unary.PAR_MIN) {
                    for (int t = 0; t < tasks; t++) columns(kind, d, off, n, inner, t / strips, (t % strips) * cw, cw, out);
                } else {
                    Parallel.forRange(tasks, t -> columns(kind, d, off, n, inner, t / strips, (t % strips) * cw, cw, out));
                }
            }
        }
        return new Tensor(out, 0, os, Shapes.contiguousStrides(os));
    }

    /** Columns [j0, j0+cw) ∩ [0, inner) of outer block o: reduce x[o, k, j] over k. */
    private static void columns(int kind, float[] d, int off, int n, int inner, int o, int j0, int cw, float[] out) {
        int w = Math.min(cw, inner - j0);
        int base = off + o * n * inner + j0;
        int ob = o * inner + j0;
        int ub = S.loopBound(w);
        if (kind == MAX || kind == MIN) {
            boolean mx = kind == MAX;
            System.arraycopy(d, base, out, ob, w);
            for (int k = 1; k < n; k++) {
                int p = base + k * inner;
                int j = 0;
                for (; j < ub; j += L) {
                    FloatVector acc = FloatVector.fromArray(S, out, ob + j), v = FloatVector.fromArray(S, d, p + j);
                    (mx ? acc.max(v) : acc.min(v)).intoArray(out, ob + j);
                }
                for (; j < w; j++) out[ob + j] = mx ? Math.max(out[ob + j], d[p + j]) : Math.min(out[ob + j], d[p + j]);
            }
            return;
        }
        float[] facc = new float[w];
        double[] dacc = new double[w];
        for (int k0 = 0; k0 < n; k0 += 64) {
            Arrays.fill(facc, 0f);
            for (int k = k0, ke = Math.min(n, k0 + 64); k < ke; k++) {
                int p = base + k * inner;
                int j = 0;
                for (; j < ub; j += L) FloatVector.fromArray(S, facc, j).add(FloatVector.fromArray(S, d, p + j)).intoArray(facc, j);
                for (; j < w; j++) facc[j] += d[p + j];
            }
            for (int j = 0; j < w; j++) dacc[j] += facc[j];
        }
        for (int j = 0; j < w; j++) out[ob + j] = (float) (kind == MEAN ? dacc[j] / n : dacc[j]);
    }

    /** Variance along {@code axis} with Bessel-style {@code correction} (1 = unbiased). */
    static Tensor var(Tensor x, int axis, boolean keepDim, int correction) {
        int a = Shapes.axis("var", axis, x.shape);
        if (correction < 0) throw new IllegalArgumentException("var: correction must be >= 0, got " + correction);
        int n = x.shape[a];
        double denom = Math.max(0, n - correction);
        int outer = prod(x.shape, 0, a), inner = prod(x.shape, a + 1, x.shape.length);
        int[] os = reducedShape(x.shape, a, keepDim);
        if (inner == 1) {
            Tensor c = x.contiguous();
            float[] out = new float[outer];
            float[] d = c.data;
            int off = c.offset;
            int rowsPer = Math.max(1, Unary.GRAIN / Math.max(n, 1));
            int tasks = (long) outer * n < Unary.PAR_MIN ? 1 : (outer + rowsPer - 1) / rowsPer;
            int per = tasks == 1 ? outer : rowsPer;
            if (outer > 0) Parallel.forRange(tasks, t -> {
                for (int o = t * per, e = Math.min(outer, o + per); o < e; o++) {
                    int p = off + o * n;
                    float m = (float) (sumContig(d, p, n) / n);
                    out[o] = (float) (sqDevContig(d, p, n, m) / denom);
                }
            });
            return new Tensor(out, 0, os, Shapes.contiguousStrides(os));
        }
        Tensor x3 = x.contiguous().reshape(outer, n, inner);
        Tensor mean = axis("var", MEAN, x3, 1, true);
        Tensor dev = x3.sub(mean);
        Tensor ss = axis("var", SUM, dev.mul(dev), 1, false);
        return scaleDiv(ss, denom).reshape(os);
    }

    private static Tensor scaleDiv(Tensor t, double denom) {
        float[] d = t.data;
        for (int i = 0; i < d.length; i++) d[i] = (float) (d[i] / denom);
        return t;
    }

    /** Index of the first maximum along {@code axis} (NaN counts as the maximum). */
    static IntTensor argmax(Tensor x, int axis, boolean keepDim) {
        int a = Shapes.axis("argmax", axis, x.shape);
        int n = x.shape[a];
        if (n == 0)
            throw new IllegalArgumentException("argmax: cannot reduce over axis " + a + " of size 0 (shape " + Arrays.toString(x.shape) + ")");
        Tensor c = x.contiguous();
        int outer = prod(x.shape, 0, a), inner = prod(x.shape, a + 1, x.shape.length);
        int[] os = reducedShape(x.shape, a, keepDim);
        int[] out = new int[outer * inner];
        float[] d = c.data;
        for (int o = 0; o < outer; o++) {
            if (inner == 1) {
                int p = c.offset + o * n;
                float m = maxContig(d, p, n, true);
                int k = 0;
                if (m != m) {
                    while (d[p + k] == d[p + k]) k++;
                } else {
                    while (d[p + k] != m) k++;
                }
                out[o] = k;
            } else {
                int base = c.offset + o * n * inner;
                float[] best = new float[inner];
                System.arraycopy(d, base, best, 0, inner);
                for (int k = 1; k < n; k++) {
                    int p = base + k * inner;
                    for (int j = 0; j < inner; j++) {
                        float v = d[p + j], b = best[j];
                        if (v > b || (v != v && b == b)) {
                            best[j] = v;
                            out[o * inner + j] = k;
                        }
                    }
                }
            }
        }
        return IntTensor.wrap(out, os);
    }

    /** Sums {@code x} down to {@code target}, a shape that broadcasts to x's shape. */
    static Tensor sumToShape(Tensor x, int[] target) {
        int[] s = x.shape;
        boolean ok = target.length <= s.length;
        for (int i = 0; ok && i < target.length; i++) {
            int ts = target[i], xs = s[i + s.length - target.length];
            ok = ts == xs || ts == 1;
        }
        if (!ok)
            throw new IllegalArgumentException("sumToShape: shape " + Arrays.toString(s) + " cannot be summed to " + Arrays.toString(target)
                    + " (the target must broadcast to the tensor's shape)");
        int lead = s.length - target.length;
        Tensor r = x;
        if (lead > 0) {
            int[] rest = Arrays.copyOfRange(s, lead, s.length);
            r = axis("sumToShape", SUM, x.contiguous().reshape(prod(s, 0, lead), Shapes.numel(rest)), 0, false).reshape(rest);
        }
        for (int i = 0; i < target.length; i++) {
            if (target[i] == 1 && r.shape[i] != 1) r = axis("sumToShape", SUM, r, i, true);
        }
        return r == x ? x.copy() : r.contiguous();
    }
}
