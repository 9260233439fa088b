package dev.vectorgrad.tensor;

import static dev.vectorgrad.tensor.Gemm.L;
import static dev.vectorgrad.tensor.Gemm.S;

import jdk.incubator.vector.FloatVector;

/**
 * A 3×3 plan's kernels for Aᵀ read in place ({@link Gemm#inPlaceAt}): the full tile and the two-vector right
 * edge (the wide kernels take any A layout already). Kept apart from Gemm's own 3×3 kernels so those stay as
 * tuned.
 */
final class GemmInPlaceKernels {
    private GemmInPlaceKernels() {}

    /**
     * Gemm.kernel3x3i with A's three values of step p at a[ia + p·ps] (ps = lda: three adjacent columns of
     * the stored Aᵀ, one row per step); Bp holds 3·L floats per step. Same FMAs in the same order as
     * kernel3x3i over packAt's copy, so the same bits.
     */
    static void kernel3x3t(int kc, float[] a, int ia, int ps, float[] pb, int ib, boolean accumulate, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z;
        for (int p = 0, oa = ia, ob = ib; p < kc; p++, oa += ps, ob += 3 * L) {
            FloatVector b0 = FloatVector.fromArray(S, pb, ob);
            FloatVector b1 = FloatVector.fromArray(S, pb, ob + L);
            FloatVector b2 = FloatVector.fromArray(S, pb, ob + 2 * L);
            FloatVector x = FloatVector.broadcast(S, a[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(S, a[oa + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(S, a[oa + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22);
        }
        int o0 = ic, o1 = ic + ldc, o2 = o1 + ldc;
        if (accumulate) {
            c00 = c00.add(FloatVector.fromArray(S, c, o0)); c01 = c01.add(FloatVector.fromArray(S, c, o0 + L)); c02 = c02.add(FloatVector.fromArray(S, c, o0 + 2 * L));
            c10 = c10.add(FloatVector.fromArray(S, c, o1)); c11 = c11.add(FloatVector.fromArray(S, c, o1 + L)); c12 = c12.add(FloatVector.fromArray(S, c, o1 + 2 * L));
            c20 = c20.add(FloatVector.fromArray(S, c, o2)); c21 = c21.add(FloatVector.fromArray(S, c, o2 + L)); c22 = c22.add(FloatVector.fromArray(S, c, o2 + 2 * L));
        }
        c00.intoArray(c, o0); c01.intoArray(c, o0 + L); c02.intoArray(c, o0 + 2 * L);
        c10.intoArray(c, o1); c11.intoArray(c, o1 + L); c12.intoArray(c, o1 + 2 * L);
        c20.intoArray(c, o2); c21.intoArray(c, o2 + L); c22.intoArray(c, o2 + 2 * L);
    }

    /**
     * A 3×3 plan's two-vector right-edge panel (B rows 3·L floats apart) for four rows of Aᵀ in place (row r, step p
     * at a[ia + r + p·ps]): 8 FMA chains where Gemm.kernel3x2 has 6, too few to cover the FMA latency; the
     * 16-column edge of 128×768·768×64 cost as much as a full 24-column panel. Each element's FMAs run in
     * kernel3x2's order, so the bits are the same.
     */
    static void kernel4x2e(int kc, float[] a, int ia, int ps, float[] pb, int ib, boolean accumulate, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        for (int p = 0, oa = ia, ob = ib; p < kc; p++, oa += ps, ob += 3 * L) {
            FloatVector b0 = FloatVector.fromArray(S, pb, ob), b1 = FloatVector.fromArray(S, pb, ob + L);
            FloatVector x = FloatVector.broadcast(S, a[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[oa + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[oa + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[oa + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
        }
        put(c00, c, ic, accumulate); put(c01, c, ic + L, accumulate);
        put(c10, c, ic + ldc, accumulate); put(c11, c, ic + ldc + L, accumulate);
        put(c20, c, ic + 2 * ldc, accumulate); put(c21, c, ic + 2 * ldc + L, accumulate);
        put(c30, c, ic + 3 * ldc, accumulate); put(c31, c, ic + 3 * ldc + L, accumulate);
    }

    /** v (+ C) into C at o. */
    private static void put(FloatVector v, float[] c, int o, boolean acc) {
        (acc ? v.add(FloatVector.fromArray(S, c, o)) : v).intoArray(c, o);
    }
}
