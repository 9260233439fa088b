package dev.vectorgrad.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row-major single-precision GEMM on raw arrays: {@code C = alpha·op(A)·op(B) + beta·C}.
 *
 * <p>GotoBLAS/BLIS structure. For every NC-wide column block of C and every KC-deep slice of K, B is
 * packed into NR-wide panels (shared by all threads), then each task packs an MC×KC block of A into
 * MR-tall panels and sweeps the MR×NR register-tiled microkernel over its part of C. Transposed
 * operands are absorbed by the packing routines; the microkernel only ever sees packed data.
 *
 * <p>Determinism: the K slices, the microkernel and its FMA order depend only on the shape, never on
 * the thread count; tasks split C into disjoint MR×NR-aligned tiles. So results are bit-identical for
 * every {@link Parallel#threads()}.
 */
public final class Gemm {
    private Gemm() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /**
     * Microkernel shape, MR rows × NR = 3 vectors (3×24 on AVX2): 9 accumulators. C2's local scheduler hoists
     * every load of the loop body to its top, so accumulators + B vectors + broadcasts must fit the 16 ymm
     * registers all at once: 9 + 3 + 3 = 15. The textbook 6×16 (12 + 2 + 6 = 20) spills an accumulator
     * through the stack every iteration and runs at 40% of peak (4×16, 8 + 2 + 4, also fits; measured).
     */
    static final int KERNEL = Integer.getInteger("vectorgrad.gemm.kernel", 0);
    static final int MR = KERNEL == 1 ? 4 : 3;
    static final int NR = KERNEL == 1 ? 2 * L : 3 * L;
    /** K slice: a KC×NR B micro-panel (16 KiB on AVX2) stays in L1 while A micro-panels stream past it. */
    static final int KC = 256;
    /** A block MC×KC (144 KiB at KC=256) lives in L2. Multiple of MR. */
    static final int MC = 144;
    /** B block KC×NC (up to 4 MiB) lives in L3. Multiple of NR. */
    static final int NC = 4080 / NR * NR;
    /** Below this many multiply-adds one thread is faster than waking the pool. */
    static final long PARALLEL_MIN_FMAS = 200_000;

    private static final ThreadLocal<float[][]> PACK_A = ThreadLocal.withInitial(() -> new float[1][0]);
    private static final ThreadLocal<float[][]> PACK_B = ThreadLocal.withInitial(() -> new float[1][0]);

    /** C = alpha·op(A)·op(B) + beta·C, row-major; op(X) = X or Xᵀ. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        sgemmBatched(1, transA, transB, m, n, k, alpha, a, aOff, lda, 0, b, bOff, ldb, 0, beta, c, cOff, ldc, 0);
    }

    /**
     * The same for {@code batch} independent problems whose operands start strideA/strideB/strideC apart
     * (stride 0 = shared operand; C regions of different entries must not overlap).
     */
    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                                    float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb, long strideB,
                                    float beta, float[] c, int cOff, int ldc, long strideC) {
        if (batch < 0 || m < 0 || n < 0 || k < 0)
            throw new IllegalArgumentException("sgemm: negative size: batch=" + batch + " m=" + m + " n=" + n + " k=" + k);
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        checkOperand("A", a, aOff, lda, aRows, aCols, batch, strideA, transA);
        checkOperand("B", b, bOff, ldb, bRows, bCols, batch, strideB, transB);
        checkOperand("C", c, cOff, ldc, m, n, batch, strideC, false);
        if (batch > 1 && strideC == 0 && m > 0 && n > 0)
            throw new IllegalArgumentException("sgemm: strideC=0 with batch=" + batch + " would make the outputs overlap");
        if (batch == 0 || m == 0 || n == 0) return;
        long fmas = (long) m * n * k;
        if (batch == 1 || fmas >= PARALLEL_MIN_FMAS) {
            // Big problems: one after another, each spread over the pool.
            for (int e = 0; e < batch; e++)
                gemm(transA, transB, m, n, k, alpha, a, aOff + (int) (e * strideA), lda,
                        b, bOff + (int) (e * strideB), ldb, beta, c, cOff + (int) (e * strideC), ldc, true);
        } else {
            // Small problems: whole entries per task, each single-threaded.
            int tasks = (int) Math.min(batch, Math.max(1, Math.min(Parallel.threads() * 4L, fmas * batch / PARALLEL_MIN_FMAS)));
            Parallel.forRange(tasks, t -> {
                int e0 = Parallel.chunkStart(batch, tasks, t), e1 = Parallel.chunkStart(batch, tasks, t + 1);
                for (int e = e0; e < e1; e++)
                    gemm(transA, transB, m, n, k, alpha, a, aOff + (int) (e * strideA), lda,
                            b, bOff + (int) (e * strideB), ldb, beta, c, cOff + (int) (e * strideC), ldc, false);
            });
        }
    }

    private static void checkOperand(String name, float[] x, int off, int ld, int rows, int cols,
                                     int batch, long stride, boolean trans) {
        String what = name + (trans ? "ᵀ" : "") + " (" + rows + "×" + cols + " stored)";
        if (ld < Math.max(1, cols))
            throw new IllegalArgumentException("sgemm: ld" + name.toLowerCase() + "=" + ld + " < " + Math.max(1, cols) + " for " + what);
        if (off < 0) throw new IllegalArgumentException("sgemm: negative offset " + name + "=" + off);
        if (stride < 0) throw new IllegalArgumentException("sgemm: negative stride" + name + "=" + stride);
        if (batch == 0 || rows == 0 || cols == 0) return;
        if (x == null) throw new IllegalArgumentException("sgemm: " + name + " is null but " + what + " is needed");
        long end = off + (long) (batch - 1) * stride + (long) (rows - 1) * ld + cols;
        if (end > x.length)
            throw new IllegalArgumentException("sgemm: " + name + " has " + x.length + " elements but " + what
                    + " at offset " + off + " with ld=" + ld + (batch > 1 ? ", batch=" + batch + ", stride=" + stride : "")
                    + " needs " + end);
    }

    /** One problem, arguments already checked. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc, boolean mayParallel) {
        if (k == 0 || alpha == 0f) {
            scale(m, n, beta, c, cOff, ldc);
            return;
        }
        if (beta != 0f && beta != 1f) scale(m, n, beta, c, cOff, ldc);
        int threads = mayParallel && (long) m * n * k >= PARALLEL_MIN_FMAS ? Parallel.threads() : 1;
        int ncMax = Math.min(n, NC);
        int kcMax = Math.min(k, KC);
        float[][] pbHolder = PACK_B.get();
        int need = kcMax * roundUp(ncMax, NR);
        if (pbHolder[0].length < need) pbHolder[0] = new float[need];
        float[] pb = pbHolder[0];
        int mPanels = (m + MR - 1) / MR;
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            int nPanels = (nc + NR - 1) / NR;
            // Task grid over C: about MC rows per task, a multiple of the thread count so the pool's
            // threads end together; columns are split too when there are fewer row chunks than threads.
            int tm = 1, tn = 1;
            if (threads > 1) {
                tm = Math.min(mPanels, roundUp((m + MC - 1) / MC, threads));
                if (tm < threads) tn = Math.min(nPanels, (threads + tm - 1) / tm);
            }
            final int tasksM = tm, tasksN = tn;
            for (int pc = 0; pc < k; pc += KC) {
                final int kc = Math.min(KC, k - pc);
                // beta was applied up front, so every K slice but an overwriting first one accumulates.
                final boolean acc = pc > 0 || beta != 0f;
                final int pcF = pc, jcF = jc, ncF = nc;
                if (threads > 1 && nPanels > 1) {
                    int pt = Math.min(threads, nPanels);
                    Parallel.forRange(pt, t -> packB(transB, b, bOff, ldb, pcF, kc, jcF, ncF,
                            Parallel.chunkStart(nPanels, pt, t), Parallel.chunkStart(nPanels, pt, t + 1), pb));
                } else {
                    packB(transB, b, bOff, ldb, pc, kc, jc, nc, 0, nPanels, pb);
                }
                if (threads > 1 && tasksM * tasksN > 1) {
                    Parallel.forRange(tasksM * tasksN, t -> {
                        int ti = t / tasksN, tj = t % tasksN;
                        block(transA, a, aOff, lda, pcF, kc, alpha, acc, c, cOff, ldc, m, jcF, ncF, pb,
                                Parallel.chunkStart(mPanels, tasksM, ti), Parallel.chunkStart(mPanels, tasksM, ti + 1),
                                Parallel.chunkStart(nPanels, tasksN, tj), Parallel.chunkStart(nPanels, tasksN, tj + 1));
                    });
                } else {
                    block(transA, a, aOff, lda, pc, kc, alpha, acc, c, cOff, ldc, m, jc, nc, pb, 0, mPanels, 0, nPanels);
                }
            }
        }
    }

    /** One task: C rows of micro-panels [mp0, mp1) × columns of B panels [np0, np1) for the current K slice. */
    private static void block(boolean transA, float[] a, int aOff, int lda, int pc, int kc, float alpha, boolean accumulate,
                              float[] c, int cOff, int ldc, int m, int jc, int nc, float[] pb,
                              int mp0, int mp1, int np0, int np1) {
        if (mp0 >= mp1 || np0 >= np1) return;
        float[][] paHolder = PACK_A.get();
        int need = MC * kc;
        if (paHolder[0].length < need) paHolder[0] = new float[MC * KC];
        float[] pa = paHolder[0];
        float[] tile = null;
        for (int mp = mp0; mp < mp1; mp += MC / MR) {
            int mpEnd = Math.min(mp1, mp + MC / MR);
            int i0 = mp * MR, i1 = Math.min(m, mpEnd * MR);
            packA(transA, a, aOff, lda, pc, kc, i0, i1, alpha, pa);
            for (int np = np0; np < np1; np++) {
                int j = jc + np * NR;
                int nr = Math.min(NR, jc + nc - j);
                int pbOff = np * NR * kc;
                for (int i = i0; i < i1; i += MR) {
                    int mr = Math.min(MR, i1 - i);
                    int paOff = (i - i0) * kc;
                    if (mr == MR && nr == NR) {
                        kernel(kc, pa, paOff, pb, pbOff, accumulate, c, cOff + i * ldc + j, ldc);
                    } else {
                        // Edge tile: full kernel into a scratch tile, then copy the valid part.
                        if (tile == null) tile = new float[MR * NR];
                        kernel(kc, pa, paOff, pb, pbOff, false, tile, 0, NR);
                        for (int r = 0; r < mr; r++) {
                            int ci = cOff + (i + r) * ldc + j;
                            for (int q = 0; q < nr; q++) {
                                float v = tile[r * NR + q];
                                c[ci + q] = accumulate ? c[ci + q] + v : v;
                            }
                        }
                    }
                }
            }
        }
    }

    static void kernel(int kc, float[] pa, int ia, float[] pb, int ib, boolean accumulate, float[] c, int ic, int ldc) {
        if (KERNEL == 1) kernel4x2(kc, pa, ia, pb, ib, accumulate, c, ic, ldc);
        else kernel3x3(kc, pa, ia, pb, ib, accumulate, c, ic, ldc);
    }

    /**
     * The 3×24 microkernel: C[3×24] (+)= Ap·Bp over kc steps (alpha is folded into Ap by packA); Ap holds
     * 3 floats per k, Bp 24. Straight-line, accumulators in locals, no calls: C2 keeps everything in ymm
     * registers and intrinsifies every Vector API call (a fatter kernel once crossed C2's inlining node
     * budget, the intrinsics after the cut-off became real calls that box a vector each: 5x slower).
     */
    static void kernel3x3(int kc, float[] pa, int ia, float[] pb, int ib, boolean accumulate, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z;
        for (int p = 0; p < kc; p++) {
            int ob = ib + p * (3 * L), oa = ia + p * 3;
            FloatVector b0 = FloatVector.fromArray(S, pb, ob);
            FloatVector b1 = FloatVector.fromArray(S, pb, ob + L);
            FloatVector b2 = FloatVector.fromArray(S, pb, ob + 2 * L);
            FloatVector x = FloatVector.broadcast(S, pa[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(S, pa[oa + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(S, pa[oa + 2]);
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

    /** The 4×16 alternative (8 + 2 + 4 registers), selectable with -Dvectorgrad.gemm.kernel=1 for measurements. */
    static void kernel4x2(int kc, float[] pa, int ia, float[] pb, int ib, boolean accumulate, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        for (int p = 0; p < kc; p++) {
            int ob = ib + p * (2 * L), oa = ia + p * 4;
            FloatVector b0 = FloatVector.fromArray(S, pb, ob);
            FloatVector b1 = FloatVector.fromArray(S, pb, ob + L);
            FloatVector x = FloatVector.broadcast(S, pa[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa[oa + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa[oa + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa[oa + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
        }
        int o0 = ic, o1 = ic + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
        if (accumulate) {
            c00 = c00.add(FloatVector.fromArray(S, c, o0)); c01 = c01.add(FloatVector.fromArray(S, c, o0 + L));
            c10 = c10.add(FloatVector.fromArray(S, c, o1)); c11 = c11.add(FloatVector.fromArray(S, c, o1 + L));
            c20 = c20.add(FloatVector.fromArray(S, c, o2)); c21 = c21.add(FloatVector.fromArray(S, c, o2 + L));
            c30 = c30.add(FloatVector.fromArray(S, c, o3)); c31 = c31.add(FloatVector.fromArray(S, c, o3 + L));
        }
        c00.intoArray(c, o0); c01.intoArray(c, o0 + L);
        c10.intoArray(c, o1); c11.intoArray(c, o1 + L);
        c20.intoArray(c, o2); c21.intoArray(c, o2 + L);
        c30.intoArray(c, o3); c31.intoArray(c, o3 + L);
    }

    /** Packs rows [i0, i1) × K slice [pc, pc+kc) of op(A) into MR-tall panels: pa[panel][p][r], zero-padded. */
    static void packA(boolean transA, float[] a, int aOff, int lda, int pc, int kc, int i0, int i1, float alpha, float[] pa) {
        int dst = 0;
        for (int i = i0; i < i1; i += MR) {
            int mr = Math.min(MR, i1 - i);
            if (!transA) {
                // A[i+r][pc+p] at aOff + (i+r)*lda + pc + p: each row is contiguous in p, stride MR in pa.
                for (int r = 0; r < mr; r++) {
                    int src = aOff + (i + r) * lda + pc;
                    for (int p = 0; p < kc; p++) pa[dst + p * MR + r] = alpha * a[src + p];
                }
            } else {
                // Aᵀ stored k×m: for each p the MR values are contiguous.
                for (int p = 0; p < kc; p++) {
                    int src = aOff + (pc + p) * lda + i;
                    for (int r = 0; r < mr; r++) pa[dst + p * MR + r] = alpha * a[src + r];
                }
            }
            if (mr < MR)
                for (int p = 0; p < kc; p++)
                    for (int r = mr; r < MR; r++) pa[dst + p * MR + r] = 0f;
            dst += MR * kc;
        }
    }

    /** Packs B panels [np0, np1) of the block starting at column jc (width nc), K slice [pc, pc+kc): pb[panel][p][q]. */
    static void packB(boolean transB, float[] b, int bOff, int ldb, int pc, int kc, int jc, int nc,
                      int np0, int np1, float[] pb) {
        for (int np = np0; np < np1; np++) {
            int j = jc + np * NR;
            int nr = Math.min(NR, jc + nc - j);
            int dst = np * NR * kc;
            if (!transB) {
                if (nr == NR) {
                    // B[pc+p][j..j+NR) is contiguous: NR/L vector copies per k.
                    for (int p = 0; p < kc; p++) {
                        int src = bOff + (pc + p) * ldb + j, d = dst + p * NR;
                        for (int v = 0; v < NR; v += L) FloatVector.fromArray(S, b, src + v).intoArray(pb, d + v);
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        int src = bOff + (pc + p) * ldb + j;
                        int d = dst + p * NR;
                        for (int q = 0; q < nr; q++) pb[d + q] = b[src + q];
                        for (int q = nr; q < NR; q++) pb[d + q] = 0f;
                    }
                }
            } else {
                // Bᵀ stored n×k: column j+q of op(B) is row j+q of the array, contiguous in p.
                for (int q = 0; q < nr; q++) {
                    int src = bOff + (j + q) * ldb + pc;
                    for (int p = 0; p < kc; p++) pb[dst + p * NR + q] = b[src + p];
                }
                for (int q = nr; q < NR; q++)
                    for (int p = 0; p < kc; p++) pb[dst + p * NR + q] = 0f;
            }
        }
    }

    /** C = beta·C over m×n (beta = 0 writes zeros without reading). */
    private static void scale(int m, int n, float beta, float[] c, int cOff, int ldc) {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++) {
            int o = cOff + i * ldc;
            for (int j = 0; j < n; j++) c[o + j] = beta == 0f ? 0f : beta * c[o + j];
        }
    }

    static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }
}
