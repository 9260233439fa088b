package dev.vectorgrad.testdata;

import dev.vectorgrad.tensor.Tensor;

/** How far a result is from a reference dump, the one measure every parity test uses. */
public final class Tolerance {
    private Tolerance() {}

    /**
     * max |a − e| / max |e|: the error relative to the reference's scale (the absolute error when the reference is
     * all zeros); infinite when {@code actual} holds a NaN or an infinity.
     */
    public static double relErr(Tensor actual, Tensor expected) {
        float[] a = actual.contiguous().toArray(), e = expected.contiguous().toArray();
        if (a.length != e.length) throw new AssertionError("sizes differ: " + a.length + " vs " + e.length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) return Double.POSITIVE_INFINITY;
            maxDiff = Math.max(maxDiff, Math.abs((double) a[i] - e[i]));
            maxRef = Math.max(maxRef, Math.abs(e[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }
}
