package dev.vectorgrad.tensor;

import static dev.vectorgrad.tensor.VectorMath.L;
import static dev.vectorgrad.tensor.VectorMath.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Element-wise unary kernels. Each op has its own vector loop (the switch is outside the loop so the JIT sees
 * one straight-line body); the last partial vector is padded and run through the same vector code, so every
 * element gets the same bits wherever it sits. Large inputs are split in fixed-size chunks on {@link Parallel}.
 */
final class Unary {
    private Unary() {}

    static final int NEG = 0, ABS = 1, EXP = 2, LOG = 3, SQRT = 4, RSQRT = 5, TANH = 6, SIGMOID = 7, RELU = 8,
            GELU = 9, GELU_TANH = 10, SQUARE = 11, ADD_S = 12, MUL_S = 13, CLAMP = 14, RECIP = 15, POW = 16,
            CUBE = 17, ERF = 18;

    /** Elements per parallel task (a multiple of every lane count). */
    static final int GRAIN = 1 << 14;
    /** Below this many elements everything runs on the calling thread. */
    static final int PAR_MIN = 1 << 16;

    /** Applies {@code op} to {@code x} (any layout) and returns a new contiguous tensor. */
    static Tensor apply(Tensor x, int op, float a, float b) {
        Tensor c = x.contiguous();
        int n = c.numel();
        float[] out = StepArena.floats(n);
        run(op, c.data, c.offset, out, 0, n, a, b);
        return new Tensor(out, 0, x.shape.clone(), Shapes.contiguousStrides(x.shape));
    }

    /** {@code y[yo + i] = op(x[xo + i])} for i in [0, n), in parallel chunks when n is large; y may be x. */
    static void run(int op, float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        if (n < PAR_MIN) {
            range(op, x, xo, y, yo, n, a, b);
            return;
        }
        int tasks = (n + GRAIN - 1) / GRAIN;
        Parallel.forRange(tasks, t -> {
            int s = t * GRAIN, len = Math.min(GRAIN, n - s);
            range(op, x, xo + s, y, yo + s, len, a, b);
        });
    }

    /** One chunk: full vectors, then the padded remainder through the same vector code. */
    static void range(int op, float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int full = S.loopBound(n);
        if (full > 0) vectors(op, x, xo, y, yo, full, a, b);
        int rem = n - full;
        if (rem > 0) {
            float[] tmp = new float[L];
            System.arraycopy(x, xo + full, tmp, 0, rem);
            vectors(op, tmp, 0, tmp, 0, L, a, b);
            System.arraycopy(tmp, 0, y, yo + full, rem);
        }
    }

    /**
     * n is a multiple of the lane count. Each op's loop is a method of its own: one method holding every loop
     * exceeded C2's inlining budget (NodeCountInliningCutoff), the vector helpers stopped inlining, and the
     * vectors were boxed — exp and gelu ran about 5x slower than their arithmetic.
     */
    private static void vectors(int op, float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        switch (op) {
            case NEG -> neg(x, xo, y, yo, n, a, b);
            case ABS -> abs(x, xo, y, yo, n, a, b);
            case EXP -> exp(x, xo, y, yo, n, a, b);
            case LOG -> log(x, xo, y, yo, n, a, b);
            case SQRT -> sqrt(x, xo, y, yo, n, a, b);
            case TANH -> tanh(x, xo, y, yo, n, a, b);
            case SIGMOID -> sigmoid(x, xo, y, yo, n, a, b);
            case GELU -> gelu(x, xo, y, yo, n, a, b);
            case GELU_TANH -> gelutanh(x, xo, y, yo, n, a, b);
            case ERF -> erf(x, xo, y, yo, n, a, b);
            case ADD_S -> adds(x, xo, y, yo, n, a, b);
            case MUL_S -> muls(x, xo, y, yo, n, a, b);
            case CLAMP -> clamp(x, xo, y, yo, n, a, b);
            case POW -> pow(x, xo, y, yo, n, a, b);
            case RSQRT -> rsqrt(x, xo, y, yo, n, a, b);
            case RECIP -> recip(x, xo, y, yo, n, a, b);
            case RELU -> relu(x, xo, y, yo, n, a, b);
            case SQUARE -> square(x, xo, y, yo, n, a, b);
            case CUBE -> cube(x, xo, y, yo, n, a, b);
            default -> throw new IllegalStateException("unary op " + op);
        }
    }

    private static void neg(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) ld(x, xo + i).neg().intoArray(y, yo + i);
    }

    private static void abs(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) ld(x, xo + i).abs().intoArray(y, yo + i);
    }

    private static void exp(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) VectorMath.exp(ld(x, xo + i)).intoArray(y, yo + i);
    }

    private static void log(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) VectorMath.log(ld(x, xo + i)).intoArray(y, yo + i);
    }

    private static void sqrt(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) ld(x, xo + i).sqrt().intoArray(y, yo + i);
    }

    private static void tanh(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) VectorMath.tanh(ld(x, xo + i)).intoArray(y, yo + i);
    }

    private static void sigmoid(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) VectorMath.sigmoid(ld(x, xo + i)).intoArray(y, yo + i);
    }

    private static void gelu(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) VectorMath.gelu(ld(x, xo + i)).intoArray(y, yo + i);
    }

    private static void gelutanh(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) VectorMath.geluTanh(ld(x, xo + i)).intoArray(y, yo + i);
    }

    private static void erf(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) VectorMath.erf(ld(x, xo + i)).intoArray(y, yo + i);
    }

    private static void adds(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) ld(x, xo + i).add(a).intoArray(y, yo + i);
    }

    private static void muls(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) ld(x, xo + i).mul(a).intoArray(y, yo + i);
    }

    private static void clamp(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) ld(x, xo + i).max(a).min(b).intoArray(y, yo + i);
    }

    private static void pow(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i++) y[yo + i] = (float) Math.pow(x[xo + i], a);
    }

    private static void rsqrt(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (; i < n; i += L) one.div(ld(x, xo + i).sqrt()).intoArray(y, yo + i);
    }

    private static void recip(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (; i < n; i += L) one.div(ld(x, xo + i)).intoArray(y, yo + i);
    }

    private static void relu(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) {
            FloatVector v = ld(x, xo + i);
            v.blend(0f, v.compare(VectorOperators.LT, 0f)).intoArray(y, yo + i);
        }
    }

    private static void square(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) {
            FloatVector v = ld(x, xo + i);
            v.mul(v).intoArray(y, yo + i);
        }
    }

    private static void cube(float[] x, int xo, float[] y, int yo, int n, float a, float b) {
        int i = 0;
        for (; i < n; i += L) {
            FloatVector v = ld(x, xo + i);
            v.mul(v).mul(v).intoArray(y, yo + i);
        }
    }

    private static FloatVector ld(float[] x, int i) {
        return FloatVector.fromArray(S, x, i);
    }

    /** x^p, with the common exponents mapped onto exact vector ops. */
    static Tensor pow(Tensor x, float p) {
        if (p == 1f) return x.copy();
        if (p == 2f) return apply(x, SQUARE, 0, 0);
        if (p == 3f) return apply(x, CUBE, 0, 0);
        if (p == 0.5f) return apply(x, SQRT, 0, 0);
        if (p == -0.5f) return apply(x, RSQRT, 0, 0);
        if (p == -1f) return apply(x, RECIP, 0, 0);
        if (p == 0f) return Tensor.ones(x.shape);
        return apply(x, POW, p, 0);
    }
}
