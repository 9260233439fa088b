package dev.vectorgrad.tensor;

import static dev.vectorgrad.tensor.VectorMath.L;
import static dev.vectorgrad.tensor.VectorMath.S;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Element-wise binary kernels with NumPy broadcasting. Both operands are viewed at the output shape (stride 0
 * on stretched axes), the iteration is collapsed ({@link Layout}) and each output row runs one of four loops:
 * both operands unit-stride (vector), one of them constant along the row (vector with a broadcast lane), or
 * anything else (scalar, strided). The output is split in fixed chunks of {@link Unary#GRAIN} elements, so
 * results do not depend on the thread count.
 */
final class Binary {
    private Binary() {}

    static final int ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAX = 4, MIN = 5, EQ = 6, NE = 7, LT = 8, LE = 9, GT = 10, GE = 11;

    private static final FloatVector ZERO = FloatVector.zero(S), ONE = FloatVector.broadcast(S, 1f);

    /** {@code op(a, b)} broadcast, as a new contiguous tensor. */
    static Tensor apply(String name, int op, Tensor a, Tensor b) {
        int[] shape = Shapes.broadcast(name, a.shape, b.shape);
        float[] out = StepArena.floats(Shapes.numel(shape));
        into(op, at(a, shape), at(b, shape), out, 0, shape);
        return new Tensor(out, 0, shape, Shapes.contiguousStrides(shape));
    }

    /** {@code t} viewed at {@code shape} (which it broadcasts to). */
    static Tensor at(Tensor t, int[] shape) {
        return Arrays.equals(t.shape, shape) ? t : t.expand(shape);
    }

    /**
     * Writes {@code op(a, b)} into {@code o} from {@code oOff} in row-major order; {@code a} and {@code b} both
     * have shape {@code shape}. {@code o} may be {@code a}'s storage when {@code a} is contiguous there.
     */
    static void into(int op, Tensor a, Tensor b, float[] o, int oOff, int[] shape) {
        int n = Shapes.numel(shape);
        if (n == 0) return;
        if (a.isContiguous() && b.isContiguous()) {
            if (n < Unary.PAR_MIN) {
                seg(op, a.data, a.offset, 1, b.data, b.offset, 1, o, oOff, n);
            } else {
                Parallel.forRange((n + Unary.GRAIN - 1) / Unary.GRAIN, t -> {
                    int s = t * Unary.GRAIN, len = Math.min(Unary.GRAIN, n - s);
                    seg(op, a.data, a.offset + s, 1, b.data, b.offset + s, 1, o, oOff + s, len);
                });
            }
            return;
        }
        Layout lay = Layout.of(shape, a.strides, b.strides);
        if (n < Unary.PAR_MIN) {
            strided(op, lay, a, b, o, oOff, 0, n);
        } else {
            Parallel.forRange((n + Unary.GRAIN - 1) / Unary.GRAIN, t -> {
                int s = t * Unary.GRAIN;
                strided(op, lay, a, b, o, oOff, s, Math.min(n, s + Unary.GRAIN));
            });
        }
    }

    /** Output elements [start, end) of a collapsed layout, row segment by row segment. */
    private static void strided(int op, Layout lay, Tensor a, Tensor b, float[] o, int oOff, int start, int end) {
        int inner = lay.inner(), outer = lay.dims.length - 1;
        int sa = lay.innerStride(0), sb = lay.innerStride(1);
        int[] da = lay.strides[0], db = lay.strides[1], dims = lay.dims;
        int[] idx = new int[Math.max(outer, 1)];
        int row = start / inner, col = start % inner;
        lay.rowIndex(row, idx);
        int pa = a.offset + lay.rowOffset(0, idx), pb = b.offset + lay.rowOffset(1, idx);
        int s = start;
        while (s < end) {
            int len = Math.min(inner - col, end - s);
            seg(op, a.data, pa + col * sa, sa, b.data, pb + col * sb, sb, o, oOff + s, len);
            s += len;
            col = 0;
            for (int k = outer - 1; k >= 0; k--) {
                pa += da[k];
                pb += db[k];
                if (++idx[k] < dims[k]) break;
                pa -= da[k] * dims[k];
                pb -= db[k] * dims[k];
                idx[k] = 0;
            }
        }
    }

    /** One row: o[oo + i] = op(a[ao + i·sa], b[bo + i·sb]) for i in [0, n). */
    static void seg(int op, float[] a, int ao, int sa, float[] b, int bo, int sb, float[] o, int oo, int n) {
        int i = 0;
        int ub = S.loopBound(n);
        if (sa == 1 && sb == 1) {
            for (; i < ub; i += L) vop(op, FloatVector.fromArray(S, a, ao + i), FloatVector.fromArray(S, b, bo + i)).intoArray(o, oo + i);
            for (; i < n; i++) o[oo + i] = sop(op, a[ao + i], b[bo + i]);
        } else if (sa == 1 && sb == 0) {
            float bs = b[bo];
            FloatVector bv = FloatVector.broadcast(S, bs);
            for (; i < ub; i += L) vop(op, FloatVector.fromArray(S, a, ao + i), bv).intoArray(o, oo + i);
            for (; i < n; i++) o[oo + i] = sop(op, a[ao + i], bs);
        } else if (sa == 0 && sb == 1) {
            float as = a[ao];
            FloatVector av = FloatVector.broadcast(S, as);
            for (; i < ub; i += L) vop(op, av, FloatVector.fromArray(S, b, bo + i)).intoArray(o, oo + i);
            for (; i < n; i++) o[oo + i] = sop(op, as, b[bo + i]);
        } else {
            for (; i < n; i++) o[oo + i] = sop(op, a[ao + i * sa], b[bo + i * sb]);
        }
    }

    static FloatVector vop(int op, FloatVector x, FloatVector y) {
        return switch (op) {
            case ADD -> x.add(y);
            case SUB -> x.sub(y);
            case MUL -> x.mul(y);
            case DIV -> x.div(y);
            case MAX -> x.max(y);
            case MIN -> x.min(y);
            case EQ -> ZERO.blend(ONE, x.compare(VectorOperators.EQ, y));
            case NE -> ZERO.blend(ONE, x.compare(VectorOperators.NE, y));
            case LT -> ZERO.blend(ONE, x.compare(VectorOperators.LT, y));
            case LE -> ZERO.blend(ONE, x.compare(VectorOperators.LE, y));
            case GT -> ZERO.blend(ONE, x.compare(VectorOperators.GT, y));
            case GE -> ZERO.blend(ONE, x.compare(VectorOperators.GE, y));
            default -> throw new IllegalStateException("binary op " + op);
        };
    }

    static float sop(int op, float x, float y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case MAX -> Math.max(x, y);
            case MIN -> Math.min(x, y);
            case EQ -> x == y ? 1f : 0f;
            case NE -> x != y ? 1f : 0f;
            case LT -> x < y ? 1f : 0f;
            case LE -> x <= y ? 1f : 0f;
            case GT -> x > y ? 1f : 0f;
            case GE -> x >= y ? 1f : 0f;
            default -> throw new IllegalStateException("binary op " + op);
        };
    }

    // ---------------------------------------------------------------- where

    /** {@code cond != 0 ? a : b}, all three broadcast together. */
    static Tensor where(Tensor cond, Tensor a, Tensor b) {
        int[] shape;
        try {
            shape = Shapes.broadcast("where", Shapes.broadcast("where", cond.shape, a.shape), b.shape);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("where: shapes cond " + Arrays.toString(cond.shape) + ", a " + Arrays.toString(a.shape)
                    + " and b " + Arrays.toString(b.shape) + " cannot be broadcast together", e);
        }
        int n = Shapes.numel(shape);
        float[] out = new float[n];
        Tensor c = at(cond, shape), x = at(a, shape), y = at(b, shape);
        Layout lay = Layout.of(shape, c.strides, x.strides, y.strides);
        int tasks = n < Unary.PAR_MIN ? 1 : (n + Unary.GRAIN - 1) / Unary.GRAIN;
        if (n > 0) Parallel.forRange(tasks, t -> {
            int s = t * (tasks == 1 ? n : Unary.GRAIN);
            whereRange(lay, c, x, y, out, s, Math.min(n, tasks == 1 ? n : s + Unary.GRAIN));
        });
        return new Tensor(out, 0, shape, Shapes.contiguousStrides(shape));
    }

    private static void whereRange(Layout lay, Tensor c, Tensor a, Tensor b, float[] o, int start, int end) {
        int inner = lay.inner(), outer = lay.dims.length - 1;
        int sc = lay.innerStride(0), sa = lay.innerStride(1), sb = lay.innerStride(2);
        int[] dc = lay.strides[0], da = lay.strides[1], db = lay.strides[2], dims = lay.dims;
        int[] idx = new int[Math.max(outer, 1)];
        int row = start / inner, col = start % inner;
        lay.rowIndex(row, idx);
        int pc = c.offset + lay.rowOffset(0, idx), pa = a.offset + lay.rowOffset(1, idx), pb = b.offset + lay.rowOffset(2, idx);
        int s = start;
        while (s < end) {
            int len = Math.min(inner - col, end - s);
            int qc = pc + col * sc, qa = pa + col * sa, qb = pb + col * sb;
            int i = 0;
            if (sc == 1 && sa == 1 && sb == 1) {
                for (int ub = S.loopBound(len); i < ub; i += L) {
                    VectorMask<Float> m = FloatVector.fromArray(S, c.data, qc + i).compare(VectorOperators.NE, 0f);
                    FloatVector.fromArray(S, b.data, qb + i).blend(FloatVector.fromArray(S, a.data, qa + i), m).intoArray(o, s + i);
                }
            }
            for (; i < len; i++) o[s + i] = c.data[qc + i * sc] != 0f ? a.data[qa + i * sa] : b.data[qb + i * sb];
            s += len;
            col = 0;
            for (int k = outer - 1; k >= 0; k--) {
                pc += dc[k];
                pa += da[k];
                pb += db[k];
                if (++idx[k] < dims[k]) break;
                pc -= dc[k] * dims[k];
                pa -= da[k] * dims[k];
                pb -= db[k] * dims[k];
                idx[k] = 0;
            }
        }
    }
}
