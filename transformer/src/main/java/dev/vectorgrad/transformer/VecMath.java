package dev.vectorgrad.transformer;

import static dev.vectorgrad.tensor.VectorMath.exp;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The causal softmax row and dot product the fused attention needs, on tensor-core's {@code VectorMath}. */
final class VecMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private VecMath() {}

    /**
     * Softmax over s[o, o+len) in place and zeros over [o+len, o+T); returns the row's log-sum-exp. The sum is
     * taken in a fixed lane order, so the result does not depend on threads.
     */
    static float softmaxCausalRow(float[] s, int o, int len, int T) {
        float m = Float.NEGATIVE_INFINITY;
        int j = 0;
        if (len >= L) {
            FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int up = S.loopBound(len); j < up; j += L) mv = mv.max(FloatVector.fromArray(S, s, o + j));
            m = mv.reduceLanes(VectorOperators.MAX);
        }
        for (; j < len; j++) m = Math.max(m, s[o + j]);
        j = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int up = S.loopBound(len); j < up; j += L) {
            FloatVector e = exp(FloatVector.fromArray(S, s, o + j).sub(m));
            e.intoArray(s, o + j);
            acc = acc.add(e);
        }
        if (j < len && j + L <= T) {
            // The partial last vector in one masked step (the row has room up to T, a whole number of vectors
            // for the padded layouts): lanes past len become exact zeros. Scalar Math.exp calls here took a
            // third of the softmax time (a causal row's length is rarely a multiple of the lane count).
            VectorMask<Float> past = S.indexInRange(j, len).not();
            FloatVector e = exp(FloatVector.fromArray(S, s, o + j).sub(m)).blend(0f, past);
            e.intoArray(s, o + j);
            acc = acc.add(e);
            j = len;
        }
        double sum = dev.vectorgrad.tensor.VectorMath.sumLanes(acc);
        for (; j < len; j++) {
            float e = (float) Math.exp(s[o + j] - m);
            s[o + j] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        j = 0;
        for (int up = S.loopBound(len); j < up; j += L) FloatVector.fromArray(S, s, o + j).mul(inv).intoArray(s, o + j);
        for (; j < len; j++) s[o + j] *= inv;
        java.util.Arrays.fill(s, o + len, o + T, 0f);
        return (float) (m + Math.log(sum));
    }

    /**
     * Softmax backward along one causal row, in place: dp[o + j] = p[po + j]·(dp[o + j] − Σ_k dp[o + k]·p[po + k])
     * for j < len, and zeros over [o + len, o + width).
     */
    static void softmaxBackwardRow(float[] p, int po, float[] dp, int o, int len, int width) {
        float dd = dot(dp, o, p, po, len);
        int j = 0;
        for (int up = S.loopBound(len); j < up; j += L) {
            FloatVector pv = FloatVector.fromArray(S, p, po + j);
            pv.mul(FloatVector.fromArray(S, dp, o + j).sub(dd)).intoArray(dp, o + j);
        }
        for (; j < len; j++) dp[o + j] = p[po + j] * (dp[o + j] - dd);
        java.util.Arrays.fill(dp, o + len, o + width, 0f);
    }

    /** Σ a[ao+j]·b[bo+j] over [0, n) in a fixed lane order. */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int j = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int up = S.loopBound(n); j < up; j += L)
            acc = FloatVector.fromArray(S, a, ao + j).fma(FloatVector.fromArray(S, b, bo + j), acc);
        float r = dev.vectorgrad.tensor.VectorMath.sumLanes(acc);
        for (; j < n; j++) r += a[ao + j] * b[bo + j];
        return r;
    }
}
