package dev.vectorgrad.autograd;

import static dev.vectorgrad.tensor.VectorMath.exp;

import dev.vectorgrad.tensor.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels of one attention head ({@link Attention}'s node): the softmax row (forward and backward) and the
 * four small products around it, written for the head's shapes (T ≤ a few hundred, D = 16…128) instead of
 * going through the general GEMM, whose packing and blocking cost more than the arithmetic at 64×64×32 (it ran
 * those at a quarter of its large-matrix speed). Both product forms stop at a row's last visible key, so a
 * causal head skips the masked upper triangle (half the work) and a padded row its padding:
 * <ul>
 *   <li>{@link #scoresTile}: four rows of S = alpha·Q·Kᵀ against a transposed, padded copy of K (j in vectors,
 *       d as broadcasts, no horizontal sums);</li>
 *   <li>{@link #combine2}: two rows of P·V (or dS·K, and, walking columns of P with a stride, of Pᵀ·dO or
 *       dSᵀ·Q): the D outputs in vector accumulators, one broadcast per term;</li>
 *   <li>{@link #softmaxRow} and {@link #softmaxBackwardRow} between them, on tensor-core's
 *       {@link VectorMath}.</li>
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

    /**
     * dst[d·tp + j] = src[so + j·lds + d] for j < t, d < dd: a head's K (or V) transposed, rows padded to tp.
     * Four source rows at a time, so each destination row gets four adjacent stores per pass instead of one
     * store per cache line (the head's t × dd slice stays in L1 while it is read column by column).
     */
    static void transpose(float[] src, int so, int lds, int t, int dd, float[] dst, int tp) {
        int j = 0;
        for (; j + 4 <= t; j += 4) {
            int s0 = so + j * lds, s1 = s0 + lds, s2 = s1 + lds, s3 = s2 + lds;
            for (int d = 0, o = j; d < dd; d++, o += tp) {
                dst[o] = src[s0 + d];
                dst[o + 1] = src[s1 + d];
                dst[o + 2] = src[s2 + d];
                dst[o + 3] = src[s3 + d];
            }
        }
        for (; j < t; j++) {
            int s = so + j * lds;
            for (int d = 0; d < dd; d++) dst[d * tp + j] = src[s + d];
        }
    }

    /**
     * Up to four rows of S = alpha·A·B: out[oo + r·ldo + j] = alpha·Σ_d a[ao + r·lda + d]·bt[bo + d·ldb + j] for
     * r < rows (1..4) and j < len, len rounded up to whole vectors (the padding columns receive values the
     * caller ignores; bt must have them). bt is the transposed operand ({@link #transpose}'s, or a cache's keys).
     *
     * <p>The tile is 4 rows × 2 vectors: eight independent FMA chains, enough to cover the FMA latency (one
     * accumulator per row, the obvious loop, runs at a quarter of the FMA rate), in 8 + 2 + 4 = 14 registers.
     * Missing rows (rows 2, 3) repeat row 0 and are not stored; a single row (decoding's case) takes
     * {@link #scoresRow} instead, which spends no FMA on missing rows. Either way each element is the same sum.
     */
    static void scoresTile(float[] a, int ao, int lda, int rows, int dd, float[] bt, int bo, int ldb, int len, float alpha,
                           float[] out, int oo, int ldo) {
        if (rows == 1) {
            scoresRow(a, ao, dd, bt, bo, ldb, len, alpha, out, oo);
            return;
        }
        int a1 = ao + (rows > 1 ? lda : 0), a2 = ao + (rows > 2 ? 2 * lda : 0), a3 = ao + (rows > 3 ? 3 * lda : 0);
        int end = padded(len), j = 0;
        for (; j + 2 * L <= end; j += 2 * L) {
            FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int d = 0, r = bo + j; d < dd; d++, r += ldb) {
                FloatVector b0 = FloatVector.fromArray(S, bt, r), b1 = FloatVector.fromArray(S, bt, r + L);
                FloatVector x = FloatVector.broadcast(S, a[ao + d]);
                c00 = x.fma(b0, c00);
                c01 = x.fma(b1, c01);
                x = FloatVector.broadcast(S, a[a1 + d]);
                c10 = x.fma(b0, c10);
                c11 = x.fma(b1, c11);
                x = FloatVector.broadcast(S, a[a2 + d]);
                c20 = x.fma(b0, c20);
                c21 = x.fma(b1, c21);
                x = FloatVector.broadcast(S, a[a3 + d]);
                c30 = x.fma(b0, c30);
                c31 = x.fma(b1, c31);
            }
            c00.mul(alpha).intoArray(out, oo + j);
            c01.mul(alpha).intoArray(out, oo + j + L);
            if (rows > 1) { c10.mul(alpha).intoArray(out, oo + ldo + j); c11.mul(alpha).intoArray(out, oo + ldo + j + L); }
            if (rows > 2) { c20.mul(alpha).intoArray(out, oo + 2 * ldo + j); c21.mul(alpha).intoArray(out, oo + 2 * ldo + j + L); }
            if (rows > 3) { c30.mul(alpha).intoArray(out, oo + 3 * ldo + j); c31.mul(alpha).intoArray(out, oo + 3 * ldo + j + L); }
        }
        if (j < end) { // one vector left
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
            for (int d = 0, r = bo + j; d < dd; d++, r += ldb) {
                FloatVector b0 = FloatVector.fromArray(S, bt, r);
                c0 = FloatVector.broadcast(S, a[ao + d]).fma(b0, c0);
                c1 = FloatVector.broadcast(S, a[a1 + d]).fma(b0, c1);
                c2 = FloatVector.broadcast(S, a[a2 + d]).fma(b0, c2);
                c3 = FloatVector.broadcast(S, a[a3 + d]).fma(b0, c3);
            }
            c0.mul(alpha).intoArray(out, oo + j);
            if (rows > 1) c1.mul(alpha).intoArray(out, oo + ldo + j);
            if (rows > 2) c2.mul(alpha).intoArray(out, oo + 2 * ldo + j);
            if (rows > 3) c3.mul(alpha).intoArray(out, oo + 3 * ldo + j);
        }
    }

    /** One row of {@link #scoresTile}: four vectors of j per pass (four FMA chains), then one at a time. */
    static void scoresRow(float[] a, int ao, int dd, float[] bt, int bo, int ldb, int len, float alpha, float[] out, int oo) {
        int end = padded(len), j = 0;
        for (; j + 4 * L <= end; j += 4 * L) {
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
            for (int d = 0, r = bo + j; d < dd; d++, r += ldb) {
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
        for (; j < end; j += L) {
            FloatVector c0 = FloatVector.zero(S);
            for (int d = 0, r = bo + j; d < dd; d++, r += ldb) c0 = FloatVector.broadcast(S, a[ao + d]).fma(FloatVector.fromArray(S, bt, r), c0);
            c0.mul(alpha).intoArray(out, oo + j);
        }
    }

    /**
     * {@link #combine2} for four rows (R = 0..3), all over the same t range. Where a head is two vectors wide (the
     * GPT's D = 32 at 16 lanes) the tile is 4 rows × 2 vectors: eight FMA chains instead of combine2's four, which
     * waited on the FMA latency (half the FMA rate). Other widths go two rows at a time as before. Each element is
     * the same sum in the same order either way.
     */
    static void combine4(float[] w, int wo0, int wo1, int wo2, int wo3, int ws, int n, float[] m, int mo, int ldm, int dd,
                         float alpha, float[] out, int oo0, int oo1, int oo2, int oo3) {
        if (dd < 2 * L || dd >= 4 * L) {
            combine2(w, wo0, wo1, ws, n, m, mo, ldm, dd, alpha, out, oo0, oo1);
            combine2(w, wo2, wo3, ws, n, m, mo, ldm, dd, alpha, out, oo2, oo3);
            return;
        }
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (int t = 0, w0 = wo0, w1 = wo1, w2 = wo2, w3 = wo3, r = mo; t < n; t++, w0 += ws, w1 += ws, w2 += ws, w3 += ws, r += ldm) {
            FloatVector m0 = FloatVector.fromArray(S, m, r), m1 = FloatVector.fromArray(S, m, r + L);
            FloatVector x = FloatVector.broadcast(S, w[w0]);
            c00 = x.fma(m0, c00);
            c01 = x.fma(m1, c01);
            x = FloatVector.broadcast(S, w[w1]);
            c10 = x.fma(m0, c10);
            c11 = x.fma(m1, c11);
            x = FloatVector.broadcast(S, w[w2]);
            c20 = x.fma(m0, c20);
            c21 = x.fma(m1, c21);
            x = FloatVector.broadcast(S, w[w3]);
            c30 = x.fma(m0, c30);
            c31 = x.fma(m1, c31);
        }
        c00.mul(alpha).intoArray(out, oo0);
        c01.mul(alpha).intoArray(out, oo0 + L);
        c10.mul(alpha).intoArray(out, oo1);
        c11.mul(alpha).intoArray(out, oo1 + L);
        c20.mul(alpha).intoArray(out, oo2);
        c21.mul(alpha).intoArray(out, oo2 + L);
        c30.mul(alpha).intoArray(out, oo3);
        c31.mul(alpha).intoArray(out, oo3 + L);
        int d = 2 * L;
        if (d < dd) { // columns past the two vectors, two rows at a time
            combine2(w, wo0, wo1, ws, n, m, mo + d, ldm, dd - d, alpha, out, oo0 + d, oo1 + d);
            combine2(w, wo2, wo3, ws, n, m, mo + d, ldm, dd - d, alpha, out, oo2 + d, oo3 + d);
        }
    }

    /**
     * Two rows of a weighted sum: out[ooR + d] = alpha·Σ_{t < n} w[woR + t·ws]·m[mo + t·ldm + d] for d < dd and
     * R = 0, 1 (overwrites). With ws = 1 each is a row of W·M; with ws = the row length of W it walks a column
     * of W, i.e. a row of Wᵀ·M. Both rows share the t range, so the caller makes the weights outside a row's
     * causal range exact zeros (adding 0·m leaves the sum's bits unchanged). For a single row pass the same
     * offsets twice. The tile is 2 rows × 4 vectors: eight FMA chains in 8 + 4 + 2 registers; then 2 × 2, then 2 × 1.
     */
    static void combine2(float[] w, int wo0, int wo1, int ws, int n, float[] m, int mo, int ldm, int dd, float alpha,
                         float[] out, int oo0, int oo1) {
        int d = 0;
        for (; d + 4 * L <= dd; d += 4 * L) {
            FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
            for (int t = 0, w0 = wo0, w1 = wo1, r = mo + d; t < n; t++, w0 += ws, w1 += ws, r += ldm) {
                FloatVector m0 = FloatVector.fromArray(S, m, r), m1 = FloatVector.fromArray(S, m, r + L);
                FloatVector m2 = FloatVector.fromArray(S, m, r + 2 * L), m3 = FloatVector.fromArray(S, m, r + 3 * L);
                FloatVector x = FloatVector.broadcast(S, w[w0]);
                c00 = x.fma(m0, c00);
                c01 = x.fma(m1, c01);
                c02 = x.fma(m2, c02);
                c03 = x.fma(m3, c03);
                x = FloatVector.broadcast(S, w[w1]);
                c10 = x.fma(m0, c10);
                c11 = x.fma(m1, c11);
                c12 = x.fma(m2, c12);
                c13 = x.fma(m3, c13);
            }
            c00.mul(alpha).intoArray(out, oo0 + d);
            c01.mul(alpha).intoArray(out, oo0 + d + L);
            c02.mul(alpha).intoArray(out, oo0 + d + 2 * L);
            c03.mul(alpha).intoArray(out, oo0 + d + 3 * L);
            c10.mul(alpha).intoArray(out, oo1 + d);
            c11.mul(alpha).intoArray(out, oo1 + d + L);
            c12.mul(alpha).intoArray(out, oo1 + d + 2 * L);
            c13.mul(alpha).intoArray(out, oo1 + d + 3 * L);
        }
        // 2 rows × 2 vectors, four FMA chains: the GPT's D = 32 on AVX-512 (L = 16) lands here, not in the tile
        // above; one vector at a time it was two chains, latency-bound. Each element's sum keeps its order.
        for (; d + 2 * L <= dd; d += 2 * L) {
            FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00;
            for (int t = 0, w0 = wo0, w1 = wo1, r = mo + d; t < n; t++, w0 += ws, w1 += ws, r += ldm) {
                FloatVector m0 = FloatVector.fromArray(S, m, r), m1 = FloatVector.fromArray(S, m, r + L);
                FloatVector x = FloatVector.broadcast(S, w[w0]);
                c00 = x.fma(m0, c00);
                c01 = x.fma(m1, c01);
                x = FloatVector.broadcast(S, w[w1]);
                c10 = x.fma(m0, c10);
                c11 = x.fma(m1, c11);
            }
            c00.mul(alpha).intoArray(out, oo0 + d);
            c01.mul(alpha).intoArray(out, oo0 + d + L);
            c10.mul(alpha).intoArray(out, oo1 + d);
            c11.mul(alpha).intoArray(out, oo1 + d + L);
        }
        for (; d + L <= dd; d += L) {
            FloatVector c0 = FloatVector.zero(S), c1 = c0;
            for (int t = 0, w0 = wo0, w1 = wo1, r = mo + d; t < n; t++, w0 += ws, w1 += ws, r += ldm) {
                FloatVector m0 = FloatVector.fromArray(S, m, r);
                c0 = FloatVector.broadcast(S, w[w0]).fma(m0, c0);
                c1 = FloatVector.broadcast(S, w[w1]).fma(m0, c1);
            }
            c0.mul(alpha).intoArray(out, oo0 + d);
            c1.mul(alpha).intoArray(out, oo1 + d);
        }
        for (; d < dd; d++) {
            float c0 = 0, c1 = 0;
            for (int t = 0, w0 = wo0, w1 = wo1, r = mo + d; t < n; t++, w0 += ws, w1 += ws, r += ldm) {
                c0 = Math.fma(w[w0], m[r], c0);
                c1 = Math.fma(w[w1], m[r], c1);
            }
            out[oo0 + d] = c0 * alpha;
            out[oo1 + d] = c1 * alpha;
        }
    }

    /**
     * Softmax over s[o, o+len) in place and zeros over [o+len, o+T) (len ≥ 1; −∞ entries become ≈ 0, which the
     * caller then sets to exact zeros). The sum is taken in a fixed lane order, so the result does not depend
     * on threads.
     */
    static void softmaxRow(float[] s, int o, int len, int T) {
        float m = Float.NEGATIVE_INFINITY;
        int j = 0;
        if (len >= L) {
            FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int up = S.loopBound(len); j < up; j += L) mv = mv.max(FloatVector.fromArray(S, s, o + j));
            m = mv.reduceLanes(VectorOperators.MAX);
        }
        for (; j < len; j++) m = Math.max(m, s[o + j]);
        double sum = expSum(s, o, len, T, m);
        float inv = (float) (1.0 / sum);
        j = 0;
        for (int up = S.loopBound(len); j < up; j += L) FloatVector.fromArray(S, s, o + j).mul(inv).intoArray(s, o + j);
        for (; j < len; j++) s[o + j] *= inv;
        java.util.Arrays.fill(s, o + len, o + T, 0f);
    }

    /**
     * s[o + j] = e^(s[o + j] − m) over the row, returning the sum (lanes added in a fixed order). Whole vectors,
     * the partial last one included when the row has room up to T (the padded layouts: T is a whole number of
     * vectors), its lanes past len blended to exact zeros; scalar Math.exp calls for that tail took a third of
     * the softmax time (a causal row's length is rarely a multiple of the lane count).
     *
     * <p>One exp call site in one loop, and only arrays and numbers crossing the method's boundary: a separate
     * masked step's exp, and VectorMath.sumLanes after it, were calls that C2 left un-inlined once the caller
     * reached its node-count inlining cutoff, so their vectors were boxed once per row (about a fifth of the
     * bytes a training step allocated).
     */
    static double expSum(float[] s, int o, int len, int T, float m) {
        int full = S.loopBound(len), vectors = full < len && full + L <= T ? full + L : full;
        int j = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; j < vectors; j += L) {
            FloatVector e = exp(FloatVector.fromArray(S, s, o + j).sub(m));
            if (j + L > len) e = e.blend(0f, S.indexInRange(j, len).not());
            e.intoArray(s, o + j);
            acc = acc.add(e);
        }
        // The lanes in lane order (VectorMath.sumLanes' loop, written here: as a call it was left out of C2's
        // inlining whenever the caller had used up its node budget, and acc was boxed to make the call).
        float lanes = 0f;
        for (int l = 0; l < L; l++) lanes += acc.lane(l);
        double sum = lanes;
        for (j = Math.min(j, len); j < len; j++) {
            float e = (float) Math.exp(s[o + j] - m);
            s[o + j] = e;
            sum += e;
        }
        return sum;
    }

    /**
     * Softmax backward along one row, in place: dp[o + j] = p[po + j]·(dp[o + j] − Σ_k dp[o + k]·p[po + k])
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
        float r = VectorMath.sumLanes(acc);
        for (; j < n; j++) r += a[ao + j] * b[bo + j];
        return r;
    }
}
