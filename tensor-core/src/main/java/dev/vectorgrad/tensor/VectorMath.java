package dev.vectorgrad.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised float transcendental functions shared by every module's kernels, written as polynomials so that they run at SIMD speed on every
 * platform (the Vector API's own {@code EXP}/{@code TANH} fall back to scalar {@code Math} calls where the JDK
 * has no SVML stub). Every kernel applies these to whole vectors, including the last partial vector (padded),
 * so an element's result never depends on where it sits in the array or how the work was split.
 */
public final class VectorMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private VectorMath() {}

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUND_MAGIC = 12582912f; // 1.5 * 2^23: adding it rounds to an integer

    /**
     * e^x, at most about 1 ulp from the correctly rounded value over the whole float range (Cephes expf
     * polynomial, Cody-Waite range reduction). Overflows to +inf above ~88.72, goes through the subnormals to
     * 0 below ~-87.3, and keeps NaN.
     */
    public static FloatVector exp(FloatVector x) {
        // compare+blend clamps keep NaN (the comparisons are false for it) and cost less than min/max on AVX2
        x = x.blend(-110f, x.compare(VectorOperators.LT, -110f));
        x = x.blend(100f, x.compare(VectorOperators.GT, 100f));
        return expClamped(x);
    }

    /** e^x for x already in [-110, 100] (or NaN). */
    static FloatVector expClamped(FloatVector x) {
        FloatVector t = x.fma(LOG2E, ROUND_MAGIC);
        FloatVector n = t.sub(ROUND_MAGIC);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = expPoly(r);
        // 2^n for n in [-159, 144], applied as two factors so each stays a normal float
        IntVector ni = t.reinterpretAsInts().sub(0x4B400000);
        IntVector e1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector e2 = ni.sub(e1);
        FloatVector s1 = e1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = e2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    /**
     * e^x for x <= 0 (or NaN), as softmax needs after subtracting the row maximum: one scaling step, results
     * below the smallest normal float (x < -87.33) flushed to 0. Same polynomial as {@link #exp}.
     */
    public static FloatVector expNonPositive(FloatVector x) {
        VectorMask<Float> tiny = x.compare(VectorOperators.LT, -87.33f);
        x = x.blend(-87.33f, tiny);
        FloatVector t = x.fma(LOG2E, ROUND_MAGIC);
        FloatVector n = t.sub(ROUND_MAGIC);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = expPoly(r);
        FloatVector scale = t.reinterpretAsInts().add(127 - 0x4B400000).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale).blend(0f, tiny);
    }

    /** Cephes expf polynomial: e^r for the reduced argument |r| <= ln2/2. */
    private static FloatVector expPoly(FloatVector r) {
        FloatVector p = r.fma(1.9875691500E-4f, 1.3981999507E-3f);
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073E-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894E-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459E-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201E-1f));
        p = p.fma(r.mul(r), r).add(1f);
        return p;
    }

    private static final float SQRTHF = 0.707106781186547524f;

    /** Natural log (Cephes logf), about 1 ulp; log(0) = -inf, log(negative) = NaN, log(+inf) = +inf. */
    public static FloatVector log(FloatVector x) {
        VectorMask<Float> sub = x.compare(VectorOperators.LT, Float.MIN_NORMAL);
        FloatVector xs = x.blend(x.mul(8388608f), sub); // scale subnormals by 2^23
        IntVector bits = xs.reinterpretAsInts();
        IntVector ei = bits.lanewise(VectorOperators.LSHR, 23).sub(126);
        FloatVector e = ei.convert(VectorOperators.I2F, 0).reinterpretAsFloats();
        e = e.sub(FloatVector.broadcast(S, 0f).blend(23f, sub));
        FloatVector m = bits.and(0x007FFFFF).or(0x3F000000).reinterpretAsFloats(); // in [0.5, 1)
        VectorMask<Float> small = m.compare(VectorOperators.LT, SQRTHF);
        e = e.sub(FloatVector.broadcast(S, 0f).blend(1f, small));
        m = m.add(m.blend(0f, small.not())).sub(1f);
        FloatVector z = m.mul(m);
        FloatVector y = m.fma(7.0376836292E-2f, -1.1514610310E-1f);
        y = y.fma(m, FloatVector.broadcast(S, 1.1676998740E-1f));
        y = y.fma(m, FloatVector.broadcast(S, -1.2420140846E-1f));
        y = y.fma(m, FloatVector.broadcast(S, 1.4249322787E-1f));
        y = y.fma(m, FloatVector.broadcast(S, -1.6668057665E-1f));
        y = y.fma(m, FloatVector.broadcast(S, 2.0000714765E-1f));
        y = y.fma(m, FloatVector.broadcast(S, -2.4999993993E-1f));
        y = y.fma(m, FloatVector.broadcast(S, 3.3333331174E-1f));
        y = y.mul(m).mul(z);
        y = e.fma(FloatVector.broadcast(S, LN2_LO), y);
        y = z.fma(FloatVector.broadcast(S, -0.5f), y);
        FloatVector res = m.add(y);
        res = e.fma(FloatVector.broadcast(S, LN2_HI), res);
        res = res.blend(Float.NEGATIVE_INFINITY, x.compare(VectorOperators.EQ, 0f));
        res = res.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        res = res.blend(Float.NaN, x.compare(VectorOperators.LT, 0f).or(x.test(VectorOperators.IS_NAN)));
        return res;
    }

    /** tanh: a Cephes polynomial below |x| = 0.625, 1 - 2/(e^{2|x|}+1) above; a few ulp. */
    public static FloatVector tanh(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector z = x.mul(x);
        FloatVector p = z.fma(-5.70498872745E-3f, 2.06390887954E-2f);
        p = p.fma(z, FloatVector.broadcast(S, -5.37397155531E-2f));
        p = p.fma(z, FloatVector.broadcast(S, 1.33314422036E-1f));
        p = p.fma(z, FloatVector.broadcast(S, -3.33332819422E-1f));
        FloatVector small = p.mul(z).fma(x, x);
        FloatVector big = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(exp(ax.add(ax)).add(1f)));
        big = big.blend(big.neg(), x.compare(VectorOperators.LT, 0f));
        return big.blend(small, ax.compare(VectorOperators.LT, 0.625f));
    }

    /** 1 / (1 + e^{-x}). */
    public static FloatVector sigmoid(FloatVector x) {
        return FloatVector.broadcast(S, 1f).div(exp(x.neg()).add(1f));
    }

    private static final float INV_SQRT2 = 0.70710678118654752f;

    /**
     * erfc(z) for z >= 0 (Numerical Recipes' erfcc Chebyshev fit, fractional error below 1.2e-7 in exact
     * arithmetic).
     */
    static FloatVector erfcNonNeg(FloatVector z) {
        FloatVector t = FloatVector.broadcast(S, 1f).div(z.fma(0.5f, 1f));
        FloatVector p = t.fma(0.17087277f, -0.82215223f);
        p = p.fma(t, FloatVector.broadcast(S, 1.48851587f));
        p = p.fma(t, FloatVector.broadcast(S, -1.13520398f));
        p = p.fma(t, FloatVector.broadcast(S, 0.27886807f));
        p = p.fma(t, FloatVector.broadcast(S, -0.18628806f));
        p = p.fma(t, FloatVector.broadcast(S, 0.09678418f));
        p = p.fma(t, FloatVector.broadcast(S, 0.37409196f));
        p = p.fma(t, FloatVector.broadcast(S, 1.00002368f));
        p = p.fma(t, FloatVector.broadcast(S, -1.26551223f));
        return t.mul(exp(z.neg().fma(z, p)));
    }

    /** erf(x), absolute error around 1e-7. */
    public static FloatVector erf(FloatVector x) {
        FloatVector e = FloatVector.broadcast(S, 1f).sub(erfcNonNeg(x.abs()));
        return e.blend(e.neg(), x.compare(VectorOperators.LT, 0f));
    }

    /** Exact GELU: x·Φ(x) = x/2 · erfc(-x/√2). */
    public static FloatVector gelu(FloatVector x) {
        FloatVector u = x.mul(INV_SQRT2); // erfc(-u): u >= 0 → 2 - erfc(u); u < 0 → erfc(|u|)
        FloatVector c = erfcNonNeg(u.abs());
        c = c.blend(FloatVector.broadcast(S, 2f).sub(c), u.compare(VectorOperators.GE, 0f));
        return x.mul(0.5f).mul(c);
    }

    /** The standard normal CDF Φ(x) = ½·erfc(−x/√2), as exact GELU and its derivative need. */
    public static FloatVector normalCdf(FloatVector x) {
        FloatVector u = x.mul(INV_SQRT2);
        FloatVector c = erfcNonNeg(u.abs());
        c = c.blend(FloatVector.broadcast(S, 2f).sub(c), u.compare(VectorOperators.GE, 0f));
        return c.mul(0.5f);
    }

    private static final float INV_SQRT_2PI = 0.39894228040143268f;
    // Abramowitz & Stegun 7.1.26: erfc(z) = t·(a1 + a2 t + ... + a5 t⁴)·e^{-z²}, t = 1/(1 + p z), z >= 0,
    // absolute error below 1.5e-7 (so below 7.5e-8 in Φ)
    private static final float AS_P = 0.3275911f, AS_A1 = 0.254829592f, AS_A2 = -0.284496736f,
            AS_A3 = 1.421413741f, AS_A4 = -1.453152027f, AS_A5 = 1.061405429f;

    /**
     * The derivative of exact GELU, Φ(x) + x·φ(x). Uses the Abramowitz–Stegun form of erfc, whose e^{-z²} factor
     * is φ's as well, so the whole derivative costs one exponential (absolute error about 1e-7).
     */
    public static FloatVector geluDerivative(FloatVector x) {
        FloatVector z = x.abs().mul(INV_SQRT2);
        FloatVector t = FloatVector.broadcast(S, 1f).div(z.fma(AS_P, 1f));
        FloatVector e = expNonPositive(z.mul(z).neg()); // e^{-x²/2}
        FloatVector poly = t.fma(AS_A5, AS_A4);
        poly = poly.fma(t, FloatVector.broadcast(S, AS_A3));
        poly = poly.fma(t, FloatVector.broadcast(S, AS_A2));
        poly = poly.fma(t, FloatVector.broadcast(S, AS_A1));
        FloatVector halfErfc = poly.mul(t).mul(e).mul(0.5f); // Φ(-|x|)
        FloatVector cdf = halfErfc.blend(FloatVector.broadcast(S, 1f).sub(halfErfc), x.compare(VectorOperators.GE, 0f));
        return x.mul(e).mul(INV_SQRT_2PI).add(cdf);
    }

    private static final float GELU_K = 0.7978845608028654f; // sqrt(2/pi)

    /** Tanh-approximated GELU, 0.5x(1+tanh(y)) = x·sigmoid(2y), y = √(2/π)(x + 0.044715x³). */
    public static FloatVector geluTanh(FloatVector x) {
        FloatVector y2 = x.mul(x).fma(0.044715f, 1f).mul(x).mul(-2f * GELU_K);
        return x.div(exp(y2).add(1f));
    }

    /**
     * The sum of the lanes in a fixed order. {@code reduceLanes(ADD)} may add in a different order once
     * intrinsified than when interpreted, which would make results depend on JIT state (and so on which thread
     * ran a chunk).
     */
    public static float sumLanes(FloatVector v) {
        float s = 0;
        for (int i = 0; i < L; i++) s += v.lane(i);
        return s;
    }

    /*
     * JIT note: every constant above is written FloatVector.broadcast(S, c) rather than through a helper of
     * our own. The Vector API's methods are @ForceInline and survive C2's NodeCountInliningCutoff; a small
     * helper of ours does not, and once a kernel's compilation passes that node count a non-inlined helper
     * boxes its vector argument and result — that alone made exact GELU about 3x slower than its arithmetic.
     * For the same reason each kernel loop calls at most one or two of these functions.
     */
}
