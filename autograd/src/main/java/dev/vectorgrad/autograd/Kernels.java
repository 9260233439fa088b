package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused element-wise backward kernels (one pass over the saved input and the incoming gradient, Vector API)
 * and the small vector math they need. Work is split into fixed chunks of {@link #GRAIN} elements, so every
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

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;

    /** e^x for x in about [-87, 88] (Cephes polynomial, ~1 ulp); smaller x flush to 0. */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87.3f).min(88.7f);
        FloatVector fx = x.mul(LOG2E).lanewise(VectorOperators.ADD, 0.5f);
        FloatVector n = floor(fx);
        FloatVector r = x.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
        FloatVector r2 = r.mul(r);
        FloatVector p = FloatVector.broadcast(S, 1.9875691500e-4f)
                .fma(r, FloatVector.broadcast(S, 1.3981999507e-3f))
                .fma(r, FloatVector.broadcast(S, 8.3334519073e-3f))
                .fma(r, FloatVector.broadcast(S, 4.1665795894e-2f))
                .fma(r, FloatVector.broadcast(S, 1.6666665459e-1f))
                .fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        p = p.fma(r2, r).add(1f);
        var e = n.convert(VectorOperators.F2I, 0).reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(e.reinterpretAsFloats());
    }

    private static FloatVector floor(FloatVector x) {
        FloatVector t = x.convert(VectorOperators.F2I, 0).reinterpretAsInts().convert(VectorOperators.I2F, 0).reinterpretAsFloats();
        VectorMask<Float> gt = t.compare(VectorOperators.GT, x);
        return t.sub(FloatVector.zero(S).blend(1f, gt));
    }

    private static final float INV_SQRT2 = 0.70710678118654752f;
    private static final float INV_SQRT_2PI = 0.39894228040143268f;

    /** Φ(x) = ½(1 + erf(x/√2)) via erfc on |z| (Numerical Recipes' erfc Chebyshev fit, ~1.2e-7 relative). */
    static FloatVector normalCdf(FloatVector x) {
        FloatVector z = x.mul(INV_SQRT2).abs();
        FloatVector t = FloatVector.broadcast(S, 1f).div(z.mul(0.5f).add(1f));
        FloatVector poly = FloatVector.broadcast(S, 0.17087277f)
                .fma(t, FloatVector.broadcast(S, -0.82215223f))
                .fma(t, FloatVector.broadcast(S, 1.48851587f))
                .fma(t, FloatVector.broadcast(S, -1.13520398f))
                .fma(t, FloatVector.broadcast(S, 0.27886807f))
                .fma(t, FloatVector.broadcast(S, -0.18628806f))
                .fma(t, FloatVector.broadcast(S, 0.09678418f))
                .fma(t, FloatVector.broadcast(S, 0.37409196f))
                .fma(t, FloatVector.broadcast(S, 1.00002368f))
                .fma(t, FloatVector.broadcast(S, -1.26551223f));
        FloatVector erfc = t.mul(exp(z.mul(z).neg().add(poly)));
        FloatVector half = erfc.mul(0.5f); // Φ(-|x|)
        return half.blend(FloatVector.broadcast(S, 1f).sub(half), x.compare(VectorOperators.GE, 0f));
    }

    /** dx = g · (Φ(x) + x·φ(x)), the derivative of exact GELU. */
    static void geluBackward(float[] x, int xo, float[] g, int go, float[] dx, int n) {
        chunks(n, (s, e) -> {
            int i = s;
            for (int up = s + S.loopBound(e - s); i < up; i += L) {
                FloatVector v = FloatVector.fromArray(S, x, xo + i);
                FloatVector pdf = exp(v.mul(v).mul(-0.5f)).mul(INV_SQRT_2PI);
                FloatVector d = normalCdf(v).add(v.mul(pdf));
                d.mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, i);
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
