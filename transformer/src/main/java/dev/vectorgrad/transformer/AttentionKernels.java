package dev.vectorgrad.transformer;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The four small products of one attention head, written for its shapes (T ≤ a few hundred, D = 16…128)
 * instead of going through the general GEMM, whose packing and blocking cost more than the arithmetic at
 * 64×64×32 (it ran those at a quarter of its large-matrix speed). Both forms skip the masked upper triangle,
 * which halves the work:
 * <ul>
 *   <li>{@link #scoresRow}: one row of S = alpha·Q·Kᵀ against a transposed, padded copy of K (j in vectors,
 *       d as broadcasts: four accumulators, no horizontal sums);</li>
 *   <li>{@link #combine}: one row of P·V (or dS·K, and, walking a column of P with a stride, one row of
 *       Pᵀ·dO or dSᵀ·Q): the D outputs in up to four vector accumulators, one broadcast per term.</li>
 * </ul>
 * Every output element is summed in a fixed order that depends only on the shapes.
 */
final class AttentionKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private AttentionKernels() {}

    /** Row length of the padded scratch layouts: T rounded up to whole vectors. */
    static int padded(int t) {
        return (t + L - 1) / L * L;
    }

    /** dst[d·tp + j] = src[so + j·lds + d] for j < t, d < dd: a head's K (or V) transposed, rows padded to tp. */
    static void transpose(float[] src, int so, int lds, int t, int dd, float[] dst, int tp) {
        for (int j = 0; j < t; j++) {
            int s = so + j * lds;
            for (int d = 0; d < dd; d++) dst[d * tp + j] = src[s + d];
        }
    }

    /**
     * out[oo + j] = alpha·Σ_d a[ao + d]·bt[d·tp + j] for j < len (rounded up to whole vectors: the padding
     * columns up to tp receive values the caller ignores). bt is the transposed operand from {@link #transpose}.
     */
    static void scoresRow(float[] a, int ao, int dd, float[] bt, int tp, int len, float alpha, float[] out, int oo) {
        int j = 0;
        for (; j + 4 * L <= padded(len); j += 4 * L) {
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
            for (int d = 0, r = j; d < dd; d++, r += tp) {
                FloatVector x = FloatVector.broadcast(S, a[ao + d]);
                c0 = x.fma(FloatVector.fromArray(S, bt, r), c0);
                c1 = x.fma(FloatVector.fromArray(S, bt, r + L), c1);
                c2 = x.fma(FloatVector.fromArray(S, bt, r + 2 * L), c2);
                c3 = x.fma(FloatVector.fromArray(S, bt, r + 3 * L), c3);
            }
            c0.mul(alpha).intoArray(out, oo + j);
            c1.mul(alpha).intoArray(out, oo + j + L);
            c2.mul(alpha).intoArray(out, oo + j + 2 * L);
            c3.mul(alpha).intoArray(out, oo + j + 3 * L);
        }
        for (; j < len; j += L) {
            FloatVector c0 = FloatVector.zero(S);
            for (int d = 0, r = j; d < dd; d++, r += tp)
                c0 = FloatVector.broadcast(S, a[ao + d]).fma(FloatVector.fromArray(S, bt, r), c0);
            c0.mul(alpha).intoArray(out, oo + j);
        }
    }

    /**
     * out[oo + d] = alpha·Σ_{t < n} w[wo + t·ws]·m[mo + t·ldm + d] for d < dd (overwrites). With ws = 1 this is
     * a row of W·M; with ws = the row length of W it walks a column of W, i.e. a row of Wᵀ·M.
     */
    static void combine(float[] w, int wo, int ws, int n, float[] m, int mo, int ldm, int dd, float alpha,
                        float[] out, int oo) {
        int d = 0;
        for (; d + 4 * L <= dd; d += 4 * L) {
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
            for (int t = 0, wi = wo, r = mo + d; t < n; t++, wi += ws, r += ldm) {
                FloatVector x = FloatVector.broadcast(S, w[wi]);
                c0 = x.fma(FloatVector.fromArray(S, m, r), c0);
                c1 = x.fma(FloatVector.fromArray(S, m, r + L), c1);
                c2 = x.fma(FloatVector.fromArray(S, m, r + 2 * L), c2);
                c3 = x.fma(FloatVector.fromArray(S, m, r + 3 * L), c3);
            }
            c0.mul(alpha).intoArray(out, oo + d);
            c1.mul(alpha).intoArray(out, oo + d + L);
            c2.mul(alpha).intoArray(out, oo + d + 2 * L);
            c3.mul(alpha).intoArray(out, oo + d + 3 * L);
        }
        for (; d + L <= dd; d += L) {
            FloatVector c0 = FloatVector.zero(S);
            for (int t = 0, wi = wo, r = mo + d; t < n; t++, wi += ws, r += ldm)
                c0 = FloatVector.broadcast(S, w[wi]).fma(FloatVector.fromArray(S, m, r), c0);
            c0.mul(alpha).intoArray(out, oo + d);
        }
        for (; d < dd; d++) {
            float c = 0;
            for (int t = 0, wi = wo, r = mo + d; t < n; t++, wi += ws, r += ldm) c = Math.fma(w[wi], m[r], c);
            out[oo + d] = c * alpha;
        }
    }
}
