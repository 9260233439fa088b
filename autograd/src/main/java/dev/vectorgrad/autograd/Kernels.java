package dev.vectorgrad.autograd;

import static dev.vectorgrad.tensor.VectorMath.exp;
import static dev.vectorgrad.tensor.VectorMath.geluDerivative;

import dev.vectorgrad.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused element-wise backward kernels (one pass over the saved input and the incoming gradient, Vector API)
 (the vector math itself is tensor-core's {@code VectorMath}). Work is split into fixed chunks of {@link #GRAIN} elements, so every
 * element is computed the same way whatever the thread count.
 */
final class Kernels {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    static final int GRAIN = 1 << 14;
    static final int PAR_MIN = 1 << 16;

    private Kernels() {}

    interface Chunk {
        void run(int start, int end);
    }

    /** Runs {@code body} over [0, n) in fixed chunks on the shared pool (inline when small). */
    static void chunks(int n, Chunk body) {
        if (n < PAR_MIN) {
            body.run(0, n);
            return;
        }
        int tasks = (n + GRAIN - 1) / GRAIN;
        Parallel.forRange(tasks, t -> body.run(t * GRAIN, Math.min(n, (t + 1) * GRAIN)));
    }

    private static final float INV_SQRT2 = 0.70710678118654752f;
    private static final float INV_SQRT_2PI = 0.39894228040143268f;

    /** dx = g · (Φ(x) + x·φ(x)), the derivative of exact GELU. */
    static void geluBackward(float[] x, int xo, float[] g, int go, float[] dx, int n) {
        chunks(n, (s, e) -> {
            int i = s;
            for (int up = s + S.loopBound(e - s); i < up; i += L) {
                FloatVector v = FloatVector.fromArray(S, x, xo + i);
                geluDerivative(v).mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, i);
            }
            for (; i < e; i++) {
                double v = x[xo + i];
                double cdf = 0.5 * (1 + erf(v * INV_SQRT2));
                double pdf = Math.exp(-0.5 * v * v) * INV_SQRT_2PI;
                dx[i] = (float) (g[go + i] * (cdf + v * pdf));
            }
        });
    }

    private static final float GELU_K = 0.7978845608028654f, GELU_C = 0.044715f;

    /** Derivative of tanh-GELU: ½(1+t) + ½x(1−t²)·k(1+3c x²), t = tanh(k(x + c x³)). */
    static void geluTanhBackward(float[] x, int xo, float[] g, int go, float[] dx, int n) {
        chunks(n, (s, e) -> {
            int i = s;
            for (int up = s + S.loopBound(e - s); i < up; i += L) {
                FloatVector v = FloatVector.fromArray(S, x, xo + i);
                FloatVector v2 = v.mul(v);
                FloatVector u = v.mul(v2.mul(GELU_C).add(1f)).mul(GELU_K);
                // tanh(u) = 1 - 2/(e^{2u} + 1), stable at both ends after clamping inside exp
                FloatVector t = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(exp(u.mul(2f)).add(1f)));
                FloatVector du = v2.mul(3f * GELU_C).add(1f).mul(GELU_K);
                FloatVector d = t.add(1f).mul(0.5f).add(v.mul(0.5f).mul(FloatVector.broadcast(S, 1f).sub(t.mul(t))).mul(du));
                d.mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, i);
            }
            for (; i < e; i++) {
                double v = x[xo + i];
                double t = Math.tanh(GELU_K * (v + GELU_C * v * v * v));
                double d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * v * v);
                dx[i] = (float) (g[go + i] * d);
            }
        });
    }

    /** dx = g where x > 0, else 0. */
    static void reluBackward(float[] x, int xo, float[] g, int go, float[] dx, int n) {
        chunks(n, (s, e) -> {
            int i = s;
            FloatVector zero = FloatVector.zero(S);
            for (int up = s + S.loopBound(e - s); i < up; i += L) {
                FloatVector v = FloatVector.fromArray(S, x, xo + i);
                FloatVector.fromArray(S, g, go + i).blend(zero, v.compare(VectorOperators.LE, 0f).or(v.test(VectorOperators.IS_NAN))).intoArray(dx, i);
            }
            for (; i < e; i++) dx[i] = x[xo + i] > 0 ? g[go + i] : 0f;
        });
    }

    /** Double-precision erf (Abramowitz–Stegun 7.1.26 refined by one Newton step is overkill; W. J. Cody's rational fit is long — this uses the series / continued fraction split). */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 2.5) {
            // Maclaurin series: erf x = 2/√π Σ (-1)^n x^(2n+1) / (n!(2n+1))
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 60; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
            }
            r = sum * 1.1283791670955126;
        } else {
            // continued fraction for erfc
            double x2 = ax * ax, f = 0;
            for (int k = 60; k >= 1; k--) f = k / 2.0 / (ax + f);
            r = 1 - Math.exp(-x2) / Math.sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }
}
