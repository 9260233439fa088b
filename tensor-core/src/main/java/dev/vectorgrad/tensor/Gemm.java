package dev.vectorgrad.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row-major single-precision GEMM on raw arrays: {@code C = alpha·op(A)·op(B) + beta·C}, op(X) = X or Xᵀ.
 *
 * <p>GotoBLAS/BLIS structure, arranged for what C2 makes of the Vector API. For every NC-wide column block
 * of C, all of K × NC of op(B) is packed into NR-wide panels, shared by the tasks, which pack it together at
 * the start of the parallel section (when all of op(B) fits one buffer, every block's tasks share a single
 * section); each task then owns a block of C rows and, per MC-row chunk and KC-deep slice of K, sweeps the
 * MR×NR register-tiled microkernel over it: B panel (in L1) outer, A micro-panel inner. A block's last panel,
 * when it holds only one or two vectors of columns, gets a narrower kernel; a few columns past C's last full
 * vector take the unpacked path instead ({@link #narrowColumns}). op(A) is read in place when it is row-major
 * and alpha = 1 (the kernel takes rows at stride lda) unless lda is a multiple of 1024 floats (rows that far
 * apart evict one another from L2, so they are copied), otherwise packed; Aᵀ is read in place too where its
 * copy would not pay ({@link #inPlaceAt}); a transposed operand is never materialised. Matrix-vector-like
 * shapes take an unpacked path ({@link #isSmall}).
 *
 * <p>Determinism: the path, the K slices and every element's FMA order depend only on the shape, never on
 * the thread count; tasks own disjoint C tiles. Results are bit-identical for every
 * {@link Parallel#threads()} (and across JIT tiers: no reduction whose order C2 may change).
 */
public final class Gemm {
    private Gemm() {}

    /**
     * The vector species of every kernel: the CPU's preferred one, or {@code -Dvectorgrad.gemm.bits=256|512}
     * (tests run the other width's kernels this way: exact, but slow where the CPU lacks it).
     */
    static final VectorSpecies<Float> S = species(Integer.getInteger("vectorgrad.gemm.bits", 0));
    static final int L = S.length();

    private static VectorSpecies<Float> species(int bits) {
        return switch (bits) {
            case 0 -> FloatVector.SPECIES_PREFERRED;
            case 128 -> FloatVector.SPECIES_128;
            case 256 -> FloatVector.SPECIES_256;
            case 512 -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException("vectorgrad.gemm.bits=" + bits + ": expected 128, 256 or 512");
        };
    }

    /**
     * Microkernel shapes, MR rows × NV vectors of columns (NR = NV·L). C2's local scheduler hoists every load
     * of the loop body to its top, so accumulators + B vectors + broadcasts (MR·NV + NV + MR) must fit the
     * register file all at once, or an accumulator spills through the stack every iteration (the textbook 6×16
     * on AVX2's 16 ymm, 12 + 2 + 6 = 20, ran at 40% of peak). 3×3 (15 registers) was tuned on AVX2; the
     * others, 19–27 registers, are for AVX-512's 32 zmm, where 9 accumulators are too few independent FMA
     * chains to cover two FMA ports' latency at 16 lanes.
     */
    enum Kernel {
        K3x3(3, 3), K4x2(4, 2), K4x3(4, 3), K6x2(6, 2), K8x2(8, 2), K6x3(6, 3), K4x4(4, 4);

        final int mr, nv;

        Kernel(int mr, int nv) {
            this.mr = mr;
            this.nv = nv;
        }

        /** Vector registers the loop body needs at once. */
        int registers() {
            return mr * nv + nv + mr;
        }

        /** "4x3": rows × vectors. */
        String label() {
            return mr + "x" + nv;
        }

        static Kernel of(String label) {
            for (Kernel k : values()) if (k.label().equals(label)) return k;
            throw new IllegalArgumentException("unknown GEMM kernel '" + label + "': expected one of "
                    + java.util.Arrays.stream(values()).map(Kernel::label).toList());
        }
    }

    /**
     * A blocking plan: the kernel, the K slice (a KC×NR B panel stays in L1 while A micro-panels stream past it),
     * the rows per chunk (MC×KC of A and the chunk's C block stay in L2; a multiple of MR) and the columns per C
     * block (a multiple of NR). Results are bit-identical across thread counts for one plan; another plan may
     * change the last bits.
     */
    record Plan(Kernel kernel, int kc, int mc, int nc) {
        Plan {
            if (kc < 1 || mc < 1 || nc < 1)
                throw new IllegalArgumentException("GEMM plan " + kernel.label() + "," + kc + "," + mc + "," + nc + ": sizes must be positive");
            mc = roundUp(mc, kernel.mr);
            nc = roundUp(nc, kernel.nv * L);
        }

        int mr() {
            return kernel.mr;
        }

        int nr() {
            return kernel.nv * L;
        }

        /** "kernel,kc,mc,nc", the format of VECTORGRAD_GEMM and the tuning file. */
        @Override
        public String toString() {
            return kernel.label() + "," + kc + "," + mc + "," + nc;
        }

        /** Parses "kernel,kc,mc,nc" (e.g. "4x3,256,144,432"); {@code what} names the source in errors. */
        static Plan parse(String s, String what) {
            String[] f = s.trim().split(",");
            if (f.length != 4) throw new IllegalArgumentException(what + "='" + s + "': expected kernel,kc,mc,nc (e.g. 3x3,256,144,432)");
            try {
                return new Plan(Kernel.of(f[0].trim()), Integer.parseInt(f[1].trim()), Integer.parseInt(f[2].trim()), Integer.parseInt(f[3].trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + "='" + s + "': kc, mc, nc must be integers", e);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(what + "='" + s + "': " + e.getMessage(), e);
            }
        }
    }

    /**
     * The built-in plan for this vector width (tests, CI, and where no tuning can be stored). 256-bit: 3×3, tuned
     * on Zen 3 (87–97% of OpenBLAS). 512-bit: 4×3, which a Xeon with two 512-bit FMA ports needs (3×3 reached
     * 116–120 GFLOP/s on one thread there, a 4×3 sketch about 140); on a Zen 4 EPYC (one 512-bit FMA per cycle)
     * 3×3, 4×2 and 4×3 measured alike (bench/RESULTS.md).
     */
    static Plan builtinPlan() {
        return L >= 16 ? new Plan(Kernel.K4x3, 256, 144, 432) : new Plan(Kernel.K3x3, 256, 144, 432);
    }

    /**
     * The plan in use (GemmTuning decides it once: override, tuning file, tuning, or the built-in table). Not a
     * holder class's static initialiser: a malformed {@code VECTORGRAD_GEMM} would surface there as an
     * ExceptionInInitializerError and then as NoClassDefFoundError on every later GEMM; here every GEMM until the
     * variable is fixed throws the same IllegalArgumentException naming it.
     */
    static Plan plan() {
        Plan p = plan;
        if (p == null) {
            synchronized (Gemm.class) {
                p = plan;
                if (p == null) plan = p = GemmTuning.choose();
            }
        }
        return p;
    }

    private static volatile Plan plan;

    /** Cap on the packed B block (K × NC floats), 16 MiB. */
    static final int B_BLOCK_FLOATS = 4 << 20;
    /** Problems up to this many multiply-adds skip packing (see isSmall). */
    static final long SMALL_FMAS = Long.getLong("vectorgrad.gemm.small", 0);
    /** Below this many multiply-adds one thread is faster than waking the pool. */
    static final long PARALLEL_MIN_FMAS = 200_000;
    /**
     * Row tasks per thread (each thread runs its own contiguous share first, then takes what is left of the others',
     * see {@link Parallel}). Instrumented in a baby-GPT step (138 parallel sections), the
     * caller waited 4.7 ms per step for the last task with 4, 3.4 ms with 8 and with 16.
     */
    static final int TASKS_PER_THREAD = Integer.getInteger("vectorgrad.gemm.tasksPerThread", 8);

    private static final ThreadLocal<float[][]> PACK_B = ThreadLocal.withInitial(() -> new float[1][0]);

    /** C = alpha·op(A)·op(B) + beta·C, row-major; op(X) = X or Xᵀ. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        sgemmBatched(plan(), 1, transA, transB, m, n, k, alpha, a, aOff, lda, 0, b, bOff, ldb, 0, beta, c, cOff, ldc, 0);
    }

    /**
     * The same for {@code batch} independent problems whose operands start strideA/strideB/strideC apart
     * (stride 0 = shared operand; C regions of different entries must not overlap).
     */
    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                                    float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb, long strideB,
                                    float beta, float[] c, int cOff, int ldc, long strideC) {
        sgemmBatched(plan(), batch, transA, transB, m, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB, beta, c, cOff, ldc, strideC);
    }

    /** sgemmBatched with the given plan (tests and the tuner run every candidate through this). */
    static void sgemmBatched(Plan pl, int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
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
                gemm(pl, transA, transB, m, n, k, alpha, a, aOff + (int) (e * strideA), lda,
                        b, bOff + (int) (e * strideB), ldb, beta, c, cOff + (int) (e * strideC), ldc, true);
        } else {
            // Small problems: whole entries per task, each single-threaded.
            int tasks = (int) Math.min(batch, Math.max(1, Math.min(Parallel.threads() * 4L, fmas * batch / PARALLEL_MIN_FMAS)));
            Parallel.forRange(tasks, t -> {
                int e0 = Parallel.chunkStart(batch, tasks, t), e1 = Parallel.chunkStart(batch, tasks, t + 1);
                for (int e = e0; e < e1; e++)
                    gemm(pl, transA, transB, m, n, k, alpha, a, aOff + (int) (e * strideA), lda,
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
    static void gemm(Plan pl, boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc, boolean mayParallel) {
        if (k == 0 || alpha == 0f) {
            scale(m, n, beta, c, cOff, ldc);
            return;
        }
        if (isSmall(pl, m, n, k)) {
            small(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, mayParallel);
            return;
        }
        int rem = narrowColumns(n);
        if (rem > 0) {
            // The last few columns (n = 65: one) through the unpacked path, the rest packed. In the one-section
            // parallel path each row task does its rows of them after its tiles (their bits do not depend on how
            // the rows are split), instead of the caller alone after the join.
            int n0 = n - rem, bn = bOff + (transB ? n0 * ldb : n0), cn = cOff + n0, form = smallForm(transA, transB, m, rem);
            RowRange tail = (r0, r1) -> smallPart(form, transA, transB, m, rem, k, alpha, a, aOff, lda, b, bn, ldb, beta, c, cn, ldc, r0, r1);
            if (!packed(pl, transA, transB, m, n0, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, mayParallel, tail))
                small(transA, transB, m, rem, k, alpha, a, aOff, lda, b, bn, ldb, beta, c, cn, ldc, mayParallel);
            return;
        }
        packed(pl, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, mayParallel, null);
    }

    /** Rows [r0, r1) of something (the narrow columns of C). */
    private interface RowRange {
        void rows(int r0, int r1);
    }

    /**
     * The packed path; when {@code tail} is given and the problem runs in one parallel section, each row task
     * also calls it for its rows, and this returns true (otherwise false: the caller does the tail).
     */
    private static boolean packed(Plan pl, boolean transA, boolean transB, int m, int n, int k, float alpha,
                                  float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                  float beta, float[] c, int cOff, int ldc, boolean mayParallel, RowRange tail) {
        if (mayParallel && splitsK(pl, transA, k, n)) {
            splitK(pl, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return false; // the narrow columns, if any, are the caller's
        }
        // beta is applied up front; the first K slice then overwrites (beta = 0) or accumulates.
        if (beta != 0f && beta != 1f) scale(m, n, beta, c, cOff, ldc);
        boolean overwrite = beta == 0f;
        int threads = mayParallel && (long) m * n * k >= PARALLEL_MIN_FMAS ? Parallel.threads() : 1;
        int mPanels = (m + pl.mr() - 1) / pl.mr();
        // B block: all of K × up to NC columns, packed once and shared by every task. NC shrinks for
        // very deep K so the block stays a few MiB.
        int ncMax = Math.max(pl.nr(), Math.min(pl.nc(), (B_BLOCK_FLOATS / k) / pl.nr() * pl.nr()));
        int ncPadMax = roundUp(Math.min(n, ncMax), pl.nr());
        int tmAll = rowTasks(pl, m, mPanels, threads);
        if (threads > 1 && tmAll >= threads && (long) k * roundUp(n, pl.nr()) <= B_BLOCK_FLOATS) {
            allBlocksInOneSection(pl, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, overwrite, c, cOff, ldc,
                    threads, mPanels, ncMax, tmAll, tail);
            return tail != null;
        }
        float[][] pbHolder = PACK_B.get();
        if (pbHolder[0].length < (long) k * ncPadMax) pbHolder[0] = new float[Math.toIntExact((long) k * ncPadMax)];
        float[] pb = pbHolder[0];
        for (int jc = 0; jc < n; jc += ncMax) {
            int nc = Math.min(ncMax, n - jc);
            int nPanels = (nc + pl.nr() - 1) / pl.nr();
            // Task grid over C: at most MC rows and at least 8 micro-panels per task, and about TASKS_PER_THREAD (8)
            // tasks per thread, so a thread that the OS (or another process on a busy machine) delays leaves the
            // rest of its share to the others instead of stalling the join.
            // Columns are split too when there are fewer row chunks than threads.
            // Row tasks come in multiples of the thread count so that, undisturbed, all end together.
            int tm = 1, tn = 1;
            if (threads > 1) {
                tm = tmAll;
                if (tm < threads) tn = Math.min(nPanels, (threads + tm - 1) / tm);
            }
            final int tasksM = tm, tasksN = tn, jcF = jc;
            if (tasksM * tasksN > 1) {
                // Few row tasks (columns split too) or a B too big for one buffer: one section per block.
                SharedPacking packing = new SharedPacking(pl, jc, nc, 0, threads);
                Parallel.forRange(tasksM * tasksN, t -> {
                    packing.help(transB, b, bOff, ldb, k, pb);
                    int ti = t / tasksN, tj = t % tasksN;
                    block(pl, transA, a, aOff, lda, k, alpha, overwrite, c, cOff, ldc, m, jcF, nc, pb, 0,
                            Parallel.chunkStart(mPanels, tasksM, ti), Parallel.chunkStart(mPanels, tasksM, ti + 1),
                            Parallel.chunkStart(nPanels, tasksN, tj), Parallel.chunkStart(nPanels, tasksN, tj + 1));
                });
            } else {
                packB(pl, transB, b, bOff, ldb, k, jc, nc, 0, nPanels, pb, 0);
                block(pl, transA, a, aOff, lda, k, alpha, overwrite, c, cOff, ldc, m, jc, nc, pb, 0, 0, mPanels, 0, nPanels);
            }
        }
        return false;
    }

    /**
     * Aᵀ·B with a deep K, e.g. a weight gradient Xᵀ·dY summed over a batch's tokens (K): split K in two halves
     * instead of C's rows. With a row split, each thread read half of X and of dY from the other core, since
     * the kernels before it leave each thread its own band of tokens; with the K split, each half is the
     * tokens one thread wrote, and only the second half's partial sum (m×n, small beside X and dY) crosses
     * to be added. The halves and their order depend on the shape only (the first half goes into C, the
     * second into a scratch that is then added), so results are bit-identical for any thread count.
     * Measured against the row split, alternated in one JVM, idle 2-core AVX-512 EPYC, 2 threads, GFLOP/s:
     * (768×128)ᵀ·(768×384) 164 → 163, (768×512)ᵀ·(768×128) 142 → 154, (768×128)ᵀ·(768×512) 103 → 164 (the
     * cores on two CCDs by the end), and with the built-in plan on one CCD 169 → 181, 98 → 103, 144 → 156;
     * one thread within 2% (the added pass).
     */
    static boolean splitsK(Plan pl, boolean transA, int k, int n) {
        // Both halves' B panels share one buffer, capped like the all-blocks path's (a wide n, e.g. a vocabulary,
        // takes the row split instead of a buffer of hundreds of MB).
        return transA && k >= 2 * pl.kc() && (long) k * roundUp(n, pl.nr()) <= B_BLOCK_FLOATS;
    }

    private static final ThreadLocal<float[][]> SPLIT_K = ThreadLocal.withInitial(() -> new float[1][0]);

    private static void splitK(Plan pl, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                               float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        if (beta != 0f && beta != 1f) scale(m, n, beta, c, cOff, ldc);
        int threads = Parallel.threads();
        int[] kh = {k / 2, k - k / 2}, ah = {aOff, aOff + k / 2 * lda}, bh = {bOff, bOff + (transB ? k / 2 : k / 2 * ldb)};
        float[][] partHolder = SPLIT_K.get();
        if (partHolder[0].length < m * n) partHolder[0] = new float[m * n];
        float[] part = partHolder[0];
        // Each half is the usual all-blocks section (B packed once per column block by the tasks that use it,
        // tasks row-chunk major); the first half's tasks come first, so thread 0's share is the first half.
        int mPanels = (m + pl.mr() - 1) / pl.mr(), tm = rowTasks(pl, m, mPanels, threads);
        int ncMax = Math.max(pl.nr(), Math.min(pl.nc(), (B_BLOCK_FLOATS / kh[1]) / pl.nr() * pl.nr()));
        int blocks = (n + ncMax - 1) / ncMax, perHalf = tm * blocks;
        float[][] pbHolder = PACK_B.get();
        int need = 2 * kh[1] * roundUp(n, pl.nr());
        if (pbHolder[0].length < need) pbHolder[0] = new float[need];
        float[] pb = pbHolder[0];
        SharedPacking[] packing = new SharedPacking[2 * blocks];
        for (int h = 0; h < 2; h++)
            for (int q = 0; q < blocks; q++)
                packing[h * blocks + q] = new SharedPacking(pl, q * ncMax, Math.min(ncMax, n - q * ncMax),
                        h * kh[1] * roundUp(n, pl.nr()) + kh[h] * q * ncMax, threads);
        Parallel.forRange(2 * perHalf, t -> {
            int h = t / perHalf, r = t % perHalf, ti = r / blocks;
            SharedPacking pk = packing[h * blocks + r % blocks];
            pk.help(transB, b, bh[h], ldb, kh[h], pb);
            block(pl, true, a, ah[h], lda, kh[h], alpha, h == 1 || beta == 0f, h == 0 ? c : part, h == 0 ? cOff : 0,
                    h == 0 ? ldc : n, m, pk.jc, pk.nc, pb, pk.pbOff,
                    Parallel.chunkStart(mPanels, tm, ti), Parallel.chunkStart(mPanels, tm, ti + 1), 0, pk.panels);
        });
        // C += the second half, by bands of rows (Axpy with alpha 1: fma(x, 1, y) is exactly x + y).
        int tasks = Math.min(m, 2 * threads);
        Parallel.forRange(tasks, t -> {
            for (int i = Parallel.chunkStart(m, tasks, t), end = Parallel.chunkStart(m, tasks, t + 1); i < end; i++)
                Axpy.range(1f, part, i * n, c, cOff + i * ldc, n);
        });
    }

    /** Row tasks for a C block: at most MC rows and at least 8 micro-panels each, about TASKS_PER_THREAD per thread. */
    private static int rowTasks(Plan pl, int m, int mPanels, int threads) {
        if (threads <= 1) return 1;
        int few = Math.min(TASKS_PER_THREAD * threads, mPanels / 8);
        return Math.min(mPanels, Math.max(roundUp((m + pl.mc() - 1) / pl.mc(), threads), few - few % threads));
    }

    /**
     * The usual parallel path: every column block in one parallel section. Each block's B panels get their own
     * region of one buffer (block j at k·jc), packed by the block's tasks themselves ({@link SharedPacking}), so no
     * thread sits idle while the caller packs alone; the tasks are (row task, block) pairs in row order, so each
     * thread's share is a band of C's rows over every block, and a thread that finishes block j goes on to block
     * j + 1 instead of waiting at a join for the slowest task of block j (1024³ on two threads had three such
     * joins per call). Same kernels, slices and FMA order as the block-by-block path.
     */
    private static void allBlocksInOneSection(Plan pl, boolean transA, boolean transB, int m, int n, int k, float alpha,
                                              float[] a, int aOff, int lda, float[] b, int bOff, int ldb, boolean overwrite,
                                              float[] c, int cOff, int ldc, int threads, int mPanels, int ncMax, int tm,
                                              RowRange tail) {
        int blocks = (n + ncMax - 1) / ncMax;
        float[][] pbHolder = PACK_B.get();
        int need = k * roundUp(n, pl.nr());
        if (pbHolder[0].length < need) pbHolder[0] = new float[need];
        float[] pb = pbHolder[0];
        SharedPacking[] packing = new SharedPacking[blocks];
        for (int j = 0; j < blocks; j++) packing[j] = new SharedPacking(pl, j * ncMax, Math.min(ncMax, n - j * ncMax), k * j * ncMax, threads);
        Parallel.forRange(blocks * tm, t -> {
            // Row-chunk major: each thread's share of the tasks (Parallel hands out contiguous shares) is a band of
            // C's rows across all blocks, the rows the next kernel's share reads on the same thread.
            SharedPacking pk = packing[t % blocks];
            int ti = t / blocks;
            pk.help(transB, b, bOff, ldb, k, pb);
            int mp0 = Parallel.chunkStart(mPanels, tm, ti), mp1 = Parallel.chunkStart(mPanels, tm, ti + 1);
            block(pl, transA, a, aOff, lda, k, alpha, overwrite, c, cOff, ldc, m, pk.jc, pk.nc, pb, pk.pbOff, mp0, mp1, 0, pk.panels);
            if (tail != null && t % blocks == blocks - 1) tail.rows(Math.min(m, mp0 * pl.mr()), Math.min(m, mp1 * pl.mr()));
        });
    }

    /**
     * One column block's B panels (columns [jc, jc + nc), packed at pbOff), packed by the tasks that use them, in
     * runs of adjacent panels (2 per thread: adjacent panels share B's cache lines). Every task calls
     * {@link #help} first: it packs runs nobody has claimed yet, then waits for the runs others are packing. A
     * task claims every remaining run before it waits, so it never waits on an unclaimed run; a packing that
     * throws still counts as done, so nobody waits forever, and {@link Parallel#forRange} rethrows its exception.
     */
    private static final class SharedPacking {
        final Plan pl;
        final int jc, nc, pbOff, panels, runs;
        private final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();

        SharedPacking(Plan pl, int jc, int nc, int pbOff, int threads) {
            this.pl = pl;
            this.jc = jc;
            this.nc = nc;
            this.pbOff = pbOff;
            this.panels = (nc + pl.nr() - 1) / pl.nr();
            this.runs = Math.min(panels, 2 * threads);
        }

        void help(boolean transB, float[] b, int bOff, int ldb, int k, float[] pb) {
            for (int q; (q = claim()) >= 0; ) {
                try {
                    packB(pl, transB, b, bOff, ldb, k, jc, nc,
                            Parallel.chunkStart(panels, runs, q), Parallel.chunkStart(panels, runs, q + 1), pb, pbOff);
                } finally {
                    done.incrementAndGet();
                }
            }
            // Spin until every run is packed; yield now and then in case the packer is waiting for this CPU.
            for (int spins = 1; done.get() < runs; spins++) {
                if ((spins & 1023) == 0) Thread.yield();
                else Thread.onSpinWait();
            }
        }

        /** An unclaimed run, now the caller's to pack, or -1 when all are claimed. */
        private int claim() {
            int q = next.get() < runs ? next.getAndIncrement() : runs;
            return q < runs ? q : -1;
        }
    }

    /**
     * Shapes the packed path serves badly: matrix-vector-like products (fewer rows than a micro-panel,
     * or so few columns that a B panel would be mostly padding), and problems too small to repay
     * packing B. Depends on the shape only, so the path (and the rounding) is the same for any thread count.
     */
    static boolean isSmall(Plan pl, int m, int n, int k) {
        return m < pl.mr() || n <= 4 || (long) m * n * k <= SMALL_FMAS;
    }

    /**
     * Switches for tests and in-JVM before/after timings ({@code -Dvectorgrad.gemm.noNarrow=true},
     * {@code -Dvectorgrad.gemm.noInPlaceAt=true}): false turns {@link #narrowColumns} off, or the in-place
     * Aᵀ of {@link #inPlaceAt}.
     */
    static boolean narrow = !Boolean.getBoolean("vectorgrad.gemm.noNarrow"), inPlaceAtOn = !Boolean.getBoolean("vectorgrad.gemm.noInPlaceAt");

    /**
     * Columns past C's last full vector that {@link #gemm} sends through the unpacked path ({@link #small}:
     * dot products, or axpys along m when A is stored transposed) instead of the packed one, which computes
     * a right-edge panel of n mod L columns as whole vectors: at n = 65 and 16 lanes that was a quarter more
     * FMAs, plus an edge kernel slower than the full one (768×128·128×65 went from 63 to 102 GFLOP/s on one
     * thread of an AVX-512 EPYC, Aᵀ·B 128×768·768×65 from 43 to 72). n mod L when it is at most L/4 and a full
     * vector comes before it, else 0. Shape only, so the path is the same for any thread count.
     */
    static int narrowColumns(int n) {
        int r = n % L;
        return narrow && n > L && r <= L / 4 ? r : 0;
    }

    /**
     * The unpacked path, straight from the operands, in one of three vectorized forms:
     * <ul>
     * <li>rows (op(B) row-major): each C row is a running sum of scaled B rows, vectorized along n;
     * <li>columns (Aᵀ stored, many rows): each C column is a running sum of scaled rows of the stored
     *     Aᵀ, vectorized along m;
     * <li>dots (otherwise): each C element is a dot product of two contiguous k-runs (an op(A) row or
     *     op(B) column that is strided in memory is gathered into a scratch run first).
     * </ul>
     * Rows of B are streamed four at a time so the hardware prefetcher sees a few long sequential runs.
     * The vectorized dimension's output is split among tasks when the problem is big enough.
     */
    static void small(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc, boolean mayParallel) {
        int form = smallForm(transA, transB, m, n);
        int len = form == 0 ? n : m;  // the dimension split among tasks
        int parts = mayParallel && (long) m * n * k >= 4 * PARALLEL_MIN_FMAS ? Math.min(Parallel.threads(), (len + 4 * L - 1) / (4 * L)) : 1;
        if (parts <= 1) {
            smallPart(form, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, 0, len);
        } else {
            int units = (len + L - 1) / L;  // split at vector boundaries
            Parallel.forRange(parts, t -> smallPart(form, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc,
                    Math.min(len, Parallel.chunkStart(units, parts, t) * L), Math.min(len, Parallel.chunkStart(units, parts, t + 1) * L)));
        }
    }

    /** The unpacked path's form for the shape: 0 rows, 1 columns, 2 dots (see {@link #small}). */
    private static int smallForm(boolean transA, boolean transB, int m, int n) {
        return !transB && n >= L ? 0 : transA && m >= L ? 1 : 2;
    }

    /** One task of the unpacked path: C columns [r0, r1) for the rows form, C rows [r0, r1) otherwise. */
    private static void smallPart(int form, boolean transA, boolean transB, int m, int n, int k, float alpha,
                                  float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                  float beta, float[] c, int cOff, int ldc, int r0, int r1) {
        Scratch sc = SCRATCH.get();
        if (form == 0) {
            // C[i][r0..r1) = Σ_p op(A)[i][p]·B[p][r0..r1): B rows contiguous.
            float[] y = sc.run(r1 - r0);
            int as = transA ? lda : 1;
            for (int i = 0; i < m; i++) {
                int ai = aOff + (transA ? i : i * lda);
                axpyRuns(k, a, ai, as, b, bOff + r0, ldb, y, r1 - r0);
                writeRun(y, r1 - r0, alpha, beta, c, cOff + i * ldc + r0, 1);
            }
        } else if (form == 1) {
            // C[r0..r1)[j] = Σ_p op(B)[p][j]·Aᵀ[p][r0..r1): rows of the stored Aᵀ contiguous.
            float[] y = sc.run(r1 - r0);
            int bs = transB ? 1 : ldb;
            for (int j = 0; j < n; j++) {
                int bj = bOff + (transB ? j * ldb : j);
                axpyRuns(k, b, bj, bs, a, aOff + r0, lda, y, r1 - r0);
                writeRun(y, r1 - r0, alpha, beta, c, cOff + r0 * ldc + j, ldc);
            }
        } else {
            // Dot products; strided runs gathered first (op(B) columns once, op(A) rows as they come).
            float[] bt = b;
            int bt0 = bOff, bts = ldb;
            if (!transB) {
                bt = sc.gathered(n * k);
                for (int j = 0; j < n; j++)
                    for (int p = 0, src = bOff + j; p < k; p++, src += ldb) bt[j * k + p] = b[src];
                bt0 = 0;
                bts = k;
            }
            // op(A) rows: in place, or gathered four at a time when A is stored transposed.
            float[] x = transA ? sc.run(4 * k) : a;
            float[] d = sc.quad;
            for (int i = r0; i < r1; i += 4) {
                int rows = Math.min(4, r1 - i);
                int xi = aOff + i * lda, xs = lda;
                if (transA) {
                    for (int r = 0; r < rows; r++)
                        for (int p = 0, src = aOff + i + r; p < k; p++, src += lda) x[r * k + p] = a[src];
                    xi = 0;
                    xs = k;
                }
                if (rows == 4) {
                    // Four rows: each B column run is shared by them.
                    for (int j = 0; j < n; j++) {
                        dot4(k, bt, bt0 + j * bts, x, xi, xi + xs, xi + 2 * xs, xi + 3 * xs, d);
                        for (int q = 0; q < 4; q++) {
                            int ci = cOff + (i + q) * ldc + j;
                            c[ci] = beta == 0f ? alpha * d[q] : alpha * d[q] + beta * c[ci];
                        }
                    }
                } else {
                    // Fewer rows: each A row run is shared by four B columns.
                    for (int r = 0; r < rows; r++) {
                        int ci = cOff + (i + r) * ldc, xr = xi + r * xs, j = 0;
                        for (; j + 4 <= n; j += 4) {
                            int bj = bt0 + j * bts;
                            dot4(k, x, xr, bt, bj, bj + bts, bj + 2 * bts, bj + 3 * bts, d);
                            for (int q = 0; q < 4; q++) c[ci + j + q] = beta == 0f ? alpha * d[q] : alpha * d[q] + beta * c[ci + j + q];
                        }
                        for (; j < n; j++) {
                            float v = dot(k, x, xr, bt, bt0 + j * bts, d);
                            c[ci + j] = beta == 0f ? alpha * v : alpha * v + beta * c[ci + j];
                        }
                    }
                }
            }
        }
    }

    /** d[q] = Σ_p s[si + p]·o[oq + p] for the four runs oq, p in [0, k): one shared run, eight sums in flight. */
    private static void dot4(int k, float[] s, int si, float[] o, int o0, int o1, int o2, int o3, float[] d) {
        FloatVector z = FloatVector.zero(S);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
        int p = 0;
        for (; p + 2 * L <= k; p += 2 * L) {
            FloatVector x = FloatVector.fromArray(S, s, si + p), y = FloatVector.fromArray(S, s, si + p + L);
            a0 = x.fma(FloatVector.fromArray(S, o, o0 + p), a0);
            a1 = x.fma(FloatVector.fromArray(S, o, o1 + p), a1);
            a2 = x.fma(FloatVector.fromArray(S, o, o2 + p), a2);
            a3 = x.fma(FloatVector.fromArray(S, o, o3 + p), a3);
            b0 = y.fma(FloatVector.fromArray(S, o, o0 + p + L), b0);
            b1 = y.fma(FloatVector.fromArray(S, o, o1 + p + L), b1);
            b2 = y.fma(FloatVector.fromArray(S, o, o2 + p + L), b2);
            b3 = y.fma(FloatVector.fromArray(S, o, o3 + p + L), b3);
        }
        float d0 = sumLanes(a0.add(b0), d), d1 = sumLanes(a1.add(b1), d);
        float d2 = sumLanes(a2.add(b2), d), d3 = sumLanes(a3.add(b3), d);
        for (; p < k; p++) {
            float x = s[si + p];
            d0 = Math.fma(x, o[o0 + p], d0);
            d1 = Math.fma(x, o[o1 + p], d1);
            d2 = Math.fma(x, o[o2 + p], d2);
            d3 = Math.fma(x, o[o3 + p], d3);
        }
        d[0] = d0;
        d[1] = d1;
        d[2] = d2;
        d[3] = d3;
    }

    /** y[0..len) = Σ_p x[xi + p·xs]·M[mi + p·ldm + (0..len)]: rows of M streamed four at a time. */
    private static void axpyRuns(int k, float[] x, int xi, int xs, float[] mat, int mi, int ldm, float[] y, int len) {
        java.util.Arrays.fill(y, 0, len, 0f);
        int vEnd = len - len % L;
        int p = 0;
        for (; p + 4 <= k; p += 4, xi += 4 * xs, mi += 4 * ldm) {
            float x0 = x[xi], x1 = x[xi + xs], x2 = x[xi + 2 * xs], x3 = x[xi + 3 * xs];
            FloatVector v0 = FloatVector.broadcast(S, x0), v1 = FloatVector.broadcast(S, x1);
            FloatVector v2 = FloatVector.broadcast(S, x2), v3 = FloatVector.broadcast(S, x3);
            int m1 = mi + ldm, m2 = m1 + ldm, m3 = m2 + ldm;
            for (int j = 0; j < vEnd; j += L) {
                FloatVector acc = FloatVector.fromArray(S, y, j);
                acc = v0.fma(FloatVector.fromArray(S, mat, mi + j), acc);
                acc = v1.fma(FloatVector.fromArray(S, mat, m1 + j), acc);
                acc = v2.fma(FloatVector.fromArray(S, mat, m2 + j), acc);
                acc = v3.fma(FloatVector.fromArray(S, mat, m3 + j), acc);
                acc.intoArray(y, j);
            }
            for (int j = vEnd; j < len; j++)
                y[j] = Math.fma(x3, mat[m3 + j], Math.fma(x2, mat[m2 + j], Math.fma(x1, mat[m1 + j], Math.fma(x0, mat[mi + j], y[j]))));
        }
        for (; p < k; p++, xi += xs, mi += ldm) {
            float x0 = x[xi];
            FloatVector v0 = FloatVector.broadcast(S, x0);
            for (int j = 0; j < vEnd; j += L)
                v0.fma(FloatVector.fromArray(S, mat, mi + j), FloatVector.fromArray(S, y, j)).intoArray(y, j);
            for (int j = vEnd; j < len; j++) y[j] = Math.fma(x0, mat[mi + j], y[j]);
        }
    }

    /** c[ci + q·cs] = alpha·y[q] (+ beta·c[...]) for q in [0, len). */
    private static void writeRun(float[] y, int len, float alpha, float beta, float[] c, int ci, int cs) {
        if (cs == 1) {
            int q = 0;
            for (; q + L <= len; q += L) {
                FloatVector v = FloatVector.fromArray(S, y, q).mul(alpha);
                if (beta != 0f) v = v.add(FloatVector.fromArray(S, c, ci + q).mul(beta));
                v.intoArray(c, ci + q);
            }
            for (; q < len; q++) c[ci + q] = beta == 0f ? alpha * y[q] : alpha * y[q] + beta * c[ci + q];
        } else {
            for (int q = 0; q < len; q++, ci += cs) c[ci] = beta == 0f ? alpha * y[q] : alpha * y[q] + beta * c[ci];
        }
    }

    /** Σ_p x[xi + p]·y[yi + p], p in [0, k). */
    private static float dot(int k, float[] x, int xi, float[] y, int yi, float[] lanes) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        int p = 0;
        for (; p + 2 * L <= k; p += 2 * L) {
            s0 = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, y, yi + p), s0);
            s1 = FloatVector.fromArray(S, x, xi + p + L).fma(FloatVector.fromArray(S, y, yi + p + L), s1);
        }
        float s = sumLanes(s0.add(s1), lanes);
        for (; p < k; p++) s = Math.fma(x[xi + p], y[yi + p], s);
        return s;
    }

    /**
     * The lanes of v summed in lane order. Not reduceLanes(ADD): its order is unspecified, and C2's tree
     * reduction rounds differently from the interpreter's loop, so results changed with JIT state.
     */
    private static float sumLanes(FloatVector v, float[] tmp) {
        v.intoArray(tmp, 0);
        float s = tmp[0];
        for (int l = 1; l < L; l++) s += tmp[l];
        return s;
    }

    /** Per-thread scratch: packed A rows, one zero-padded edge micro-panel, one edge C tile. */
    private static final class Scratch {
        float[] pa = new float[0];
        private float[] run = new float[0], gathered = new float[0];
        final float[] quad = new float[Math.max(4, L)];

        float[] run(int len) {
            if (run.length < len) run = new float[len];
            return run;
        }

        float[] gathered(int len) {
            if (gathered.length < len) gathered = new float[len];
            return gathered;
        }

        private float[] edgeA = new float[0], tile = new float[0];

        float[] edgeA(int len) {
            if (edgeA.length < len) edgeA = new float[len];
            return edgeA;
        }

        float[] tile(int len) {
            if (tile.length < len) tile = new float[len];
            return tile;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Whether the kernels read Aᵀ in place (step p of row r at a[r + p·lda]) instead of packAt's interleaved
     * copy: when the copy would serve few B panels (a block of at most 4), or, at 16 lanes, A's rows are short
     * (lda ≤ 512). Same FMAs in the same order either way, so the bits do not change; only the time, measured
     * on one thread of an AVX-512 EPYC (GFLOP/s packed → in place): Aᵀ·B 128×768·768×64 70 → 97 (the packing
     * was a third of the time), 512×768·768×128 90 → 106, 512³ 98 → 108; but 1000³ 92 → 86 (each packed
     * micro-panel serves 14 panels, an in-place one strides 1000 floats per step), and at 8 lanes
     * (-XX:UseAVX=2, 4×2) 512×768·768×128 80 → 71 while 128×768·768×65 gained 68 → 78.
     * A 3×3 plan uses {@link GemmInPlaceKernels} for its full tiles and two-vector edges (-XX:UseAVX=2,
     * 128×768·768×65: 62 → 72).
     * Not for alpha ≠ 1 (packAt scales) or a row stride of a multiple of 4 KiB (see {@link #block}).
     */
    static boolean inPlaceAt(Plan pl, boolean transA, float alpha, int lda, int nc) {
        return inPlaceAtOn && transA && alpha == 1f && lda % 1024 != 0
                && (nc <= 4 * pl.nr() || L >= 16 && lda <= 512);
    }

    /**
     * One task: the C block of micro-panel rows [mp0, mp1) × B panels [np0, np1), over all of K.
     * Loop order per MC-row chunk: K slice → B panel (stays in L1) → A micro-panel. The K loop sits
     * outside the panel loops so the chunk's C block (MC × NC, in L2) is revisited while still cached:
     * with K outermost, every C tile came from memory on every slice (tiles are ldc apart, so the
     * hardware prefetcher cannot follow), which cost 15-20% at 2048³.
     */
    private static void block(Plan pl, boolean transA, float[] a, int aOff, int lda, int k, float alpha, boolean overwrite,
                              float[] c, int cOff, int ldc, int m, int jc, int nc, float[] pb, int pbOff,
                              int mp0, int mp1, int np0, int np1) {
        if (mp0 >= mp1 || np0 >= np1) return;
        Scratch sc = SCRATCH.get();
        // How the kernel gets A: row-major unscaled A is read in place (rows at stride lda); row-major
        // scaled A is copied times alpha into rows of pa (stride kc); Aᵀ is packed into interleaved
        // micro-panels (packAt), or read in place where that copy would not pay (inPlaceAt). A row stride
        // that is a multiple of 4 KiB is copied too: the chunk's rows would then share a sixteenth (or less)
        // of L2's sets and evict one another
        // between the B panels that reuse them (2048³ on one thread, median GFLOP/s in three in-JVM
        // alternations: 66.7 → 70.0, 70.8 → 72.1, 67.8 → 70.0; two threads unchanged).
        boolean direct = !transA && alpha == 1f && lda % 1024 != 0;
        boolean directT = inPlaceAt(pl, transA, alpha, lda, nc);
        int paNeed = (pl.mc() / pl.mr()) * panelStrideT(pl, Math.min(k, pl.kc()));
        if (!direct && sc.pa.length < paNeed) sc.pa = new float[(pl.mc() / pl.mr()) * panelStrideT(pl, pl.kc())];
        int ncPad = roundUp(nc, pl.nr());
        for (int mp = mp0; mp < mp1; mp += pl.mc() / pl.mr()) {
            int i0 = mp * pl.mr(), i1 = Math.min(m, Math.min(mp1, mp + pl.mc() / pl.mr()) * pl.mr());
            for (int pc = 0; pc < k; pc += pl.kc()) {
                int kc = Math.min(pl.kc(), k - pc);
                boolean accumulate = pc > 0 || !overwrite;
                float[] ar;
                int arOff, ald;
                int edge = i0 + (i1 - i0) / pl.mr() * pl.mr();  // first row of a partial micro-panel, if any
                if (direct) {
                    ar = a;
                    arOff = aOff + i0 * lda + pc;
                    ald = lda;
                } else if (directT) {
                    // Aᵀ in place; only a partial bottom micro-panel is packed (over zero rows), into panel 0.
                    if (edge < i1) packAt(pl, a, aOff, lda, pc, kc, edge, i1, alpha, sc.pa);
                    ar = a;
                    arOff = aOff + pc * lda;
                    ald = lda;
                } else {
                    if (transA) packAt(pl, a, aOff, lda, pc, kc, i0, i1, alpha, sc.pa);
                    else packA(a, aOff, lda, pc, kc, i0, i1, alpha, sc.pa);
                    ar = sc.pa;
                    arOff = 0;
                    ald = kc;
                }
                if (edge < i1 && !transA) {
                    // Bottom edge: its missing rows would be read past A's extent; copy it over zero rows.
                    float[] e = sc.edgeA(pl.mr() * pl.kc());
                    java.util.Arrays.fill(e, 0, pl.mr() * kc, 0f);
                    for (int r = 0; r < i1 - edge; r++) System.arraycopy(ar, arOff + (edge - i0 + r) * ald, e, r * kc, kc);
                }
                int pbSlice = pbOff + pc * ncPad;
                for (int np = np0; np < np1; np++) {
                    int j = jc + np * pl.nr();
                    int nr = Math.min(pl.nr(), jc + nc - j);
                    int pbPanel = pbSlice + np * pl.nr() * kc;
                    for (int i = i0; i < i1; i += pl.mr()) {
                        int mr = Math.min(pl.mr(), i1 - i);
                        float[] ai = ar;
                        int aiOff = transA ? (i - i0) / pl.mr() * panelStrideT(pl, kc) : arOff + (i - i0) * ald, aiLd = ald;
                        if (mr < pl.mr() && !transA) {
                            ai = sc.edgeA(pl.mr() * pl.kc());
                            aiOff = 0;
                            aiLd = kc;
                        }
                        // A's step p, row r sits at ai[aiOff + r·rs + p·ps] (in place or interleaved).
                        int rs = transA ? 1 : aiLd, ps = transA ? pl.mr() : 1;
                        if (directT) {  // in place: rows 1 apart, steps lda apart; the bottom edge packed
                            ai = mr == pl.mr() ? a : sc.pa;
                            aiOff = mr == pl.mr() ? arOff + i : 0;
                            ps = mr == pl.mr() ? lda : pl.mr();
                        }
                        int ci = cOff + i * ldc + j, nrs = pl.nr();
                        float[] t = sc.tile(pl.mr() * nrs);
                        if (pl.kernel() != Kernel.K3x3) {
                            if (mr == pl.mr() && nr == nrs) {
                                wide(pl.kernel(), kc, ai, aiOff, rs, ps, pb, pbPanel, accumulate, c, ci, ldc);
                                continue;
                            }
                            // Edge tile into the scratch tile: the full kernel (bottom edge, over zero rows) or
                            // row × vector pieces (right edge), then the valid part into C.
                            if (nr == nrs) wide(pl.kernel(), kc, ai, aiOff, rs, ps, pb, pbPanel, false, t, 0, nrs);
                            else for (int r = 0; r < mr; r++)
                                for (int v = 0; v < nr; v += L) edge1x1(kc, ai, aiOff + r * rs, ps, pb, pbPanel + v, nrs, t, r * nrs + v);
                        } else if (mr == pl.mr() && nr == nrs) {
                            if (directT && mr == pl.mr()) GemmInPlaceKernels.kernel3x3t(kc, ai, aiOff, ps, pb, pbPanel, accumulate, c, ci, ldc);
                            else if (transA) kernel3x3i(kc, ai, aiOff, pb, pbPanel, accumulate, c, ci, ldc);
                            else kernel3x3(kc, ai, aiOff, aiLd, pb, pbPanel, accumulate, c, ci, ldc);
                            continue;
                        } else if (mr == pl.mr() && nr == 2 * L) {
                            if (directT) {
                                // Aᵀ in place: groups of four 3-row micro-panels as three 4-row tiles (kernel4x2e).
                                int q = (i - i0) / pl.mr(), g = i0 + (q & ~3) * pl.mr();
                                if (g + 4 * pl.mr() <= edge) {
                                    if ((q & 3) == 0)
                                        for (int r = 0; r < 3; r++)
                                            GemmInPlaceKernels.kernel4x2e(kc, ai, aiOff + 4 * r, ps, pb, pbPanel, accumulate, c, ci + 4 * r * ldc, ldc);
                                    continue;
                                }
                            }
                            kernel3x2(kc, ai, aiOff, rs, ps, pb, pbPanel, accumulate, c, ci, ldc);
                            continue;
                        } else if (mr == pl.mr() && nr == L) {
                            kernel3x1(kc, ai, aiOff, rs, ps, pb, pbPanel, accumulate, c, ci, ldc);
                            continue;
                        } else {
                            // 3×3 edge tile: a kernel as wide as needed into the scratch tile.
                            if (nr > 2 * L) {
                                if (directT && mr == pl.mr()) GemmInPlaceKernels.kernel3x3t(kc, ai, aiOff, ps, pb, pbPanel, false, t, 0, nrs);
                                else if (transA) kernel3x3i(kc, ai, aiOff, pb, pbPanel, false, t, 0, nrs);
                                else kernel3x3(kc, ai, aiOff, aiLd, pb, pbPanel, false, t, 0, nrs);
                            } else if (nr > L) {
                                kernel3x2(kc, ai, aiOff, rs, ps, pb, pbPanel, false, t, 0, nrs);
                            } else {
                                kernel3x1(kc, ai, aiOff, rs, ps, pb, pbPanel, false, t, 0, nrs);
                            }
                        }
                        for (int r = 0; r < mr; r++) {
                            int cr = ci + r * ldc;
                            for (int q = 0; q < nr; q++) c[cr + q] = accumulate ? c[cr + q] + t[r * nrs + q] : t[r * nrs + q];
                        }
                    }
                }
            }
        }
    }

    /**
     * The 3×24 microkernel: C[3×24] (+)= A[3×kc]·Bp over kc steps. A's rows start at ia, ia+lda, ia+2·lda
     * (in place, or packed with lda = kc); Bp holds 24 floats per k. Straight-line, accumulators in locals,
     * no calls: C2 keeps everything in ymm registers and intrinsifies every Vector API call (a fatter
     * kernel once crossed C2's inlining node budget; the intrinsics after the cut-off became real calls
     * that box a vector each: 5x slower).
     */
    static void kernel3x3(int kc, float[] a, int ia, int lda, float[] pb, int ib, boolean accumulate, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z;
        int ia1 = ia + lda, ia2 = ia1 + lda;
        for (int p = 0; p < kc; p++) {
            int ob = ib + p * (3 * L);
            FloatVector b0 = FloatVector.fromArray(S, pb, ob);
            FloatVector b1 = FloatVector.fromArray(S, pb, ob + L);
            FloatVector b2 = FloatVector.fromArray(S, pb, ob + 2 * L);
            FloatVector x = FloatVector.broadcast(S, a[ia + p]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(S, a[ia1 + p]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(S, a[ia2 + p]);
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
     * The right-edge kernels, 3×16 and 3×8: for a block's last B panel when only two or one of its three
     * vectors hold columns (n = 1024 leaves 16, n = 128 and 512 leave 8), where the 3×24 kernel would spend
     * 1.5 or 3 times the FMAs. (With 6 accumulator chains, 3×16 waits on the FMA latency, so it saves less
     * than its FMA count says.) A's step p of row r is a[ia + r·rs + p·ps], which covers both the in-place
     * (rs = lda, ps = 1) and the interleaved (rs = 1, ps = MR) layouts; Bp rows are still NR floats apart.
     */
    static void kernel3x2(int kc, float[] a, int ia, int rs, int ps, float[] pb, int ib, boolean accumulate, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        for (int p = 0, oa = ia; p < kc; p++, oa += ps) {
            int ob = ib + p * (3 * L);
            FloatVector b0 = FloatVector.fromArray(S, pb, ob);
            FloatVector b1 = FloatVector.fromArray(S, pb, ob + L);
            FloatVector x = FloatVector.broadcast(S, a[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[oa + rs]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[oa + 2 * rs]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
        }
        int o0 = ic, o1 = ic + ldc, o2 = o1 + ldc;
        if (accumulate) {
            c00 = c00.add(FloatVector.fromArray(S, c, o0)); c01 = c01.add(FloatVector.fromArray(S, c, o0 + L));
            c10 = c10.add(FloatVector.fromArray(S, c, o1)); c11 = c11.add(FloatVector.fromArray(S, c, o1 + L));
            c20 = c20.add(FloatVector.fromArray(S, c, o2)); c21 = c21.add(FloatVector.fromArray(S, c, o2 + L));
        }
        c00.intoArray(c, o0); c01.intoArray(c, o0 + L);
        c10.intoArray(c, o1); c11.intoArray(c, o1 + L);
        c20.intoArray(c, o2); c21.intoArray(c, o2 + L);
    }

    /**
     * The 3×8 right-edge kernel; see {@link #kernel3x2}. Three accumulators alone would wait on the FMA latency
     * (one FMA per chain every 4 cycles: no faster than the 3×24 kernel), so each row sums even and odd steps
     * in separate chains and adds the two at the end: six chains, twice the speed.
     */
    static void kernel3x1(int kc, float[] a, int ia, int rs, int ps, float[] pb, int ib, boolean accumulate, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector e0 = z, e1 = z, e2 = z, d0 = z, d1 = z, d2 = z;
        int p = 0, oa = ia;
        for (; p + 1 < kc; p += 2, oa += 2 * ps) {
            int ob = ib + p * (3 * L);
            FloatVector b0 = FloatVector.fromArray(S, pb, ob), b1 = FloatVector.fromArray(S, pb, ob + (3 * L));
            e0 = FloatVector.broadcast(S, a[oa]).fma(b0, e0);
            e1 = FloatVector.broadcast(S, a[oa + rs]).fma(b0, e1);
            e2 = FloatVector.broadcast(S, a[oa + 2 * rs]).fma(b0, e2);
            d0 = FloatVector.broadcast(S, a[oa + ps]).fma(b1, d0);
            d1 = FloatVector.broadcast(S, a[oa + ps + rs]).fma(b1, d1);
            d2 = FloatVector.broadcast(S, a[oa + ps + 2 * rs]).fma(b1, d2);
        }
        if (p < kc) {
            FloatVector b0 = FloatVector.fromArray(S, pb, ib + p * (3 * L));
            e0 = FloatVector.broadcast(S, a[oa]).fma(b0, e0);
            e1 = FloatVector.broadcast(S, a[oa + rs]).fma(b0, e1);
            e2 = FloatVector.broadcast(S, a[oa + 2 * rs]).fma(b0, e2);
        }
        FloatVector c00 = e0.add(d0), c10 = e1.add(d1), c20 = e2.add(d2);
        int o0 = ic, o1 = ic + ldc, o2 = o1 + ldc;
        if (accumulate) {
            c00 = c00.add(FloatVector.fromArray(S, c, o0));
            c10 = c10.add(FloatVector.fromArray(S, c, o1));
            c20 = c20.add(FloatVector.fromArray(S, c, o2));
        }
        c00.intoArray(c, o0);
        c10.intoArray(c, o1);
        c20.intoArray(c, o2);
    }

    /** kernel3x3 for interleaved A micro-panels (packAt): the MR values of step p at ia + MR·p. */
    static void kernel3x3i(int kc, float[] pa, int ia, float[] pb, int ib, boolean accumulate, float[] c, int ic, int ldc) {
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

    /**
     * The wide kernels, C[MR×NV·L] (+)= A[MR×kc]·Bp: per step, NV vectors of the packed B panel and one broadcast
     * per A row feed MR·NV independent FMA chains held in locals. A's step p of row r is a[ia + r·rs + p·ps]:
     * in place (rs = lda, ps = 1) or interleaved (rs = 1, ps = MR). Straight-line, no calls in the loop, so C2
     * keeps every vector in a register and intrinsifies every Vector API call. 4×3: 12 + 3 + 4 = 19 registers.
     */
    static void kernel4x3(int kc, float[] a, int ia, int rs, int ps, float[] pb, int ib, boolean acc, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z;
        FloatVector c10 = z, c11 = z, c12 = z;
        FloatVector c20 = z, c21 = z, c22 = z;
        FloatVector c30 = z, c31 = z, c32 = z;
        for (int p = 0, oa = ia, ob = ib; p < kc; p++, oa += ps, ob += 3 * L) {
            FloatVector b0 = FloatVector.fromArray(S, pb, ob), b1 = FloatVector.fromArray(S, pb, ob + L), b2 = FloatVector.fromArray(S, pb, ob + 2 * L);
            FloatVector x = FloatVector.broadcast(S, a[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(S, a[oa + rs]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(S, a[oa + 2 * rs]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22);
            x = FloatVector.broadcast(S, a[oa + 3 * rs]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32);
        }
        put(c00, c, ic, acc); put(c01, c, ic + L, acc); put(c02, c, ic + 2 * L, acc);
        put(c10, c, ic + ldc, acc); put(c11, c, ic + ldc + L, acc); put(c12, c, ic + ldc + 2 * L, acc);
        put(c20, c, ic + 2 * ldc, acc); put(c21, c, ic + 2 * ldc + L, acc); put(c22, c, ic + 2 * ldc + 2 * L, acc);
        put(c30, c, ic + 3 * ldc, acc); put(c31, c, ic + 3 * ldc + L, acc); put(c32, c, ic + 3 * ldc + 2 * L, acc);
    }

    /** The 4×2-vector kernel (8 accumulators + 2 B vectors + 4 broadcasts = 14 registers); see {@link #kernel4x3}. */
    static void kernel4x2(int kc, float[] a, int ia, int rs, int ps, float[] pb, int ib, boolean acc, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z;
        FloatVector c10 = z, c11 = z;
        FloatVector c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z;
        for (int p = 0, oa = ia, ob = ib; p < kc; p++, oa += ps, ob += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, pb, ob), b1 = FloatVector.fromArray(S, pb, ob + L);
            FloatVector x = FloatVector.broadcast(S, a[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[oa + rs]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[oa + 2 * rs]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[oa + 3 * rs]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
        }
        put(c00, c, ic, acc); put(c01, c, ic + L, acc);
        put(c10, c, ic + ldc, acc); put(c11, c, ic + ldc + L, acc);
        put(c20, c, ic + 2 * ldc, acc); put(c21, c, ic + 2 * ldc + L, acc);
        put(c30, c, ic + 3 * ldc, acc); put(c31, c, ic + 3 * ldc + L, acc);
    }

    /** The 6×2-vector kernel (12 accumulators + 2 B vectors + 6 broadcasts = 20 registers); see {@link #kernel4x3}. */
    static void kernel6x2(int kc, float[] a, int ia, int rs, int ps, float[] pb, int ib, boolean acc, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z;
        FloatVector c10 = z, c11 = z;
        FloatVector c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z;
        FloatVector c50 = z, c51 = z;
        for (int p = 0, oa = ia, ob = ib; p < kc; p++, oa += ps, ob += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, pb, ob), b1 = FloatVector.fromArray(S, pb, ob + L);
            FloatVector x = FloatVector.broadcast(S, a[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[oa + rs]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[oa + 2 * rs]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[oa + 3 * rs]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[oa + 4 * rs]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[oa + 5 * rs]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        put(c00, c, ic, acc); put(c01, c, ic + L, acc);
        put(c10, c, ic + ldc, acc); put(c11, c, ic + ldc + L, acc);
        put(c20, c, ic + 2 * ldc, acc); put(c21, c, ic + 2 * ldc + L, acc);
        put(c30, c, ic + 3 * ldc, acc); put(c31, c, ic + 3 * ldc + L, acc);
        put(c40, c, ic + 4 * ldc, acc); put(c41, c, ic + 4 * ldc + L, acc);
        put(c50, c, ic + 5 * ldc, acc); put(c51, c, ic + 5 * ldc + L, acc);
    }

    /** The 8×2-vector kernel (16 accumulators + 2 B vectors + 8 broadcasts = 26 registers); see {@link #kernel4x3}. */
    static void kernel8x2(int kc, float[] a, int ia, int rs, int ps, float[] pb, int ib, boolean acc, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z;
        FloatVector c10 = z, c11 = z;
        FloatVector c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z;
        FloatVector c50 = z, c51 = z;
        FloatVector c60 = z, c61 = z;
        FloatVector c70 = z, c71 = z;
        for (int p = 0, oa = ia, ob = ib; p < kc; p++, oa += ps, ob += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, pb, ob), b1 = FloatVector.fromArray(S, pb, ob + L);
            FloatVector x = FloatVector.broadcast(S, a[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[oa + rs]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[oa + 2 * rs]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[oa + 3 * rs]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[oa + 4 * rs]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[oa + 5 * rs]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[oa + 6 * rs]);
            c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[oa + 7 * rs]);
            c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        put(c00, c, ic, acc); put(c01, c, ic + L, acc);
        put(c10, c, ic + ldc, acc); put(c11, c, ic + ldc + L, acc);
        put(c20, c, ic + 2 * ldc, acc); put(c21, c, ic + 2 * ldc + L, acc);
        put(c30, c, ic + 3 * ldc, acc); put(c31, c, ic + 3 * ldc + L, acc);
        put(c40, c, ic + 4 * ldc, acc); put(c41, c, ic + 4 * ldc + L, acc);
        put(c50, c, ic + 5 * ldc, acc); put(c51, c, ic + 5 * ldc + L, acc);
        put(c60, c, ic + 6 * ldc, acc); put(c61, c, ic + 6 * ldc + L, acc);
        put(c70, c, ic + 7 * ldc, acc); put(c71, c, ic + 7 * ldc + L, acc);
    }

    /** The 6×3-vector kernel (18 accumulators + 3 B vectors + 6 broadcasts = 27 registers); see {@link #kernel4x3}. */
    static void kernel6x3(int kc, float[] a, int ia, int rs, int ps, float[] pb, int ib, boolean acc, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z;
        FloatVector c10 = z, c11 = z, c12 = z;
        FloatVector c20 = z, c21 = z, c22 = z;
        FloatVector c30 = z, c31 = z, c32 = z;
        FloatVector c40 = z, c41 = z, c42 = z;
        FloatVector c50 = z, c51 = z, c52 = z;
        for (int p = 0, oa = ia, ob = ib; p < kc; p++, oa += ps, ob += 3 * L) {
            FloatVector b0 = FloatVector.fromArray(S, pb, ob), b1 = FloatVector.fromArray(S, pb, ob + L), b2 = FloatVector.fromArray(S, pb, ob + 2 * L);
            FloatVector x = FloatVector.broadcast(S, a[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(S, a[oa + rs]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(S, a[oa + 2 * rs]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22);
            x = FloatVector.broadcast(S, a[oa + 3 * rs]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32);
            x = FloatVector.broadcast(S, a[oa + 4 * rs]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41); c42 = x.fma(b2, c42);
            x = FloatVector.broadcast(S, a[oa + 5 * rs]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51); c52 = x.fma(b2, c52);
        }
        put(c00, c, ic, acc); put(c01, c, ic + L, acc); put(c02, c, ic + 2 * L, acc);
        put(c10, c, ic + ldc, acc); put(c11, c, ic + ldc + L, acc); put(c12, c, ic + ldc + 2 * L, acc);
        put(c20, c, ic + 2 * ldc, acc); put(c21, c, ic + 2 * ldc + L, acc); put(c22, c, ic + 2 * ldc + 2 * L, acc);
        put(c30, c, ic + 3 * ldc, acc); put(c31, c, ic + 3 * ldc + L, acc); put(c32, c, ic + 3 * ldc + 2 * L, acc);
        put(c40, c, ic + 4 * ldc, acc); put(c41, c, ic + 4 * ldc + L, acc); put(c42, c, ic + 4 * ldc + 2 * L, acc);
        put(c50, c, ic + 5 * ldc, acc); put(c51, c, ic + 5 * ldc + L, acc); put(c52, c, ic + 5 * ldc + 2 * L, acc);
    }

    /** The 4×4-vector kernel (16 accumulators + 4 B vectors + 4 broadcasts = 24 registers); see {@link #kernel4x3}. */
    static void kernel4x4(int kc, float[] a, int ia, int rs, int ps, float[] pb, int ib, boolean acc, float[] c, int ic, int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c03 = z;
        FloatVector c10 = z, c11 = z, c12 = z, c13 = z;
        FloatVector c20 = z, c21 = z, c22 = z, c23 = z;
        FloatVector c30 = z, c31 = z, c32 = z, c33 = z;
        for (int p = 0, oa = ia, ob = ib; p < kc; p++, oa += ps, ob += 4 * L) {
            FloatVector b0 = FloatVector.fromArray(S, pb, ob), b1 = FloatVector.fromArray(S, pb, ob + L), b2 = FloatVector.fromArray(S, pb, ob + 2 * L), b3 = FloatVector.fromArray(S, pb, ob + 3 * L);
            FloatVector x = FloatVector.broadcast(S, a[oa]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01); c02 = x.fma(b2, c02); c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, a[oa + rs]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11); c12 = x.fma(b2, c12); c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, a[oa + 2 * rs]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21); c22 = x.fma(b2, c22); c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, a[oa + 3 * rs]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31); c32 = x.fma(b2, c32); c33 = x.fma(b3, c33);
        }
        put(c00, c, ic, acc); put(c01, c, ic + L, acc); put(c02, c, ic + 2 * L, acc); put(c03, c, ic + 3 * L, acc);
        put(c10, c, ic + ldc, acc); put(c11, c, ic + ldc + L, acc); put(c12, c, ic + ldc + 2 * L, acc); put(c13, c, ic + ldc + 3 * L, acc);
        put(c20, c, ic + 2 * ldc, acc); put(c21, c, ic + 2 * ldc + L, acc); put(c22, c, ic + 2 * ldc + 2 * L, acc); put(c23, c, ic + 2 * ldc + 3 * L, acc);
        put(c30, c, ic + 3 * ldc, acc); put(c31, c, ic + 3 * ldc + L, acc); put(c32, c, ic + 3 * ldc + 2 * L, acc); put(c33, c, ic + 3 * ldc + 3 * L, acc);
    }

    /** v (+ C) into C at o. */
    private static void put(FloatVector v, float[] c, int o, boolean acc) {
        (acc ? v.add(FloatVector.fromArray(S, c, o)) : v).intoArray(c, o);
    }

    /** The full tile of a wide kernel (every kernel but 3×3, which has its own layouts and edge kernels). */
    static void wide(Kernel kn, int kc, float[] a, int ia, int rs, int ps, float[] pb, int ib, boolean acc, float[] c, int ic, int ldc) {
        switch (kn) {
            case K4x2 -> kernel4x2(kc, a, ia, rs, ps, pb, ib, acc, c, ic, ldc);
            case K4x3 -> kernel4x3(kc, a, ia, rs, ps, pb, ib, acc, c, ic, ldc);
            case K6x2 -> kernel6x2(kc, a, ia, rs, ps, pb, ib, acc, c, ic, ldc);
            case K8x2 -> kernel8x2(kc, a, ia, rs, ps, pb, ib, acc, c, ic, ldc);
            case K6x3 -> kernel6x3(kc, a, ia, rs, ps, pb, ib, acc, c, ic, ldc);
            case K4x4 -> kernel4x4(kc, a, ia, rs, ps, pb, ib, acc, c, ic, ldc);
            case K3x3 -> throw new IllegalStateException("3x3 has its own dispatch");
        }
    }

    /**
     * One row × one vector of a wide kernel's right-edge panel (B rows nr floats apart), into t at it: four
     * chains (steps p mod 4) summed at the end, so the FMA latency is half hidden. Edge panels are a few percent
     * of the work, so one short kernel serves every shape.
     */
    static void edge1x1(int kc, float[] a, int ia, int ps, float[] pb, int ib, int nr, float[] t, int it) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int p = 0, oa = ia, ob = ib;
        for (; p + 4 <= kc; p += 4, oa += 4 * ps, ob += 4 * nr) {
            s0 = FloatVector.broadcast(S, a[oa]).fma(FloatVector.fromArray(S, pb, ob), s0);
            s1 = FloatVector.broadcast(S, a[oa + ps]).fma(FloatVector.fromArray(S, pb, ob + nr), s1);
            s2 = FloatVector.broadcast(S, a[oa + 2 * ps]).fma(FloatVector.fromArray(S, pb, ob + 2 * nr), s2);
            s3 = FloatVector.broadcast(S, a[oa + 3 * ps]).fma(FloatVector.fromArray(S, pb, ob + 3 * nr), s3);
        }
        for (; p < kc; p++, oa += ps, ob += nr) s0 = FloatVector.broadcast(S, a[oa]).fma(FloatVector.fromArray(S, pb, ob), s0);
        s0.add(s1).add(s2.add(s3)).intoArray(t, it);
    }

    /** Copies rows [i0, i1) × K slice [pc, pc+kc) of alpha·A (row-major) into pa, row after row (stride kc). */
    static void packA(float[] a, int aOff, int lda, int pc, int kc, int i0, int i1, float alpha, float[] pa) {
        for (int i = i0; i < i1; i++) {
            int src = aOff + i * lda + pc, dst = (i - i0) * kc;
            if (alpha == 1f) System.arraycopy(a, src, pa, dst, kc);
            else for (int p = 0; p < kc; p++) pa[dst + p] = alpha * a[src + p];
        }
    }

    /** Floats between consecutive interleaved A micro-panels (MR·kc + L: room for packAt's overhang). */
    static int panelStrideT(Plan pl, int kc) {
        return pl.mr() * kc + L;
    }

    /**
     * Packs rows [i0, i1) × K slice [pc, pc+kc) of alpha·op(A), with A stored transposed (k×m), into
     * interleaved micro-panels pa[panel][p][r] (MR values per k, panel stride panelStrideT): the MR
     * values of a step are adjacent in the source too. Each step is one full vector load and store;
     * only the first MR lanes matter, the rest are overwritten by the next step or land in the gap
     * after the panel. (Scalar copies of MR floats cost up to half of the multiply time at n = 65.)
     */
    static void packAt(Plan pl, float[] a, int aOff, int lda, int pc, int kc, int i0, int i1, float alpha, float[] pa) {
        FloatVector va = FloatVector.broadcast(S, alpha);
        int ps = panelStrideT(pl, kc);
        int full = i0 + (i1 - i0) / pl.mr() * pl.mr();
        // Full panels whose vector load stays inside the array (it reads L - MR floats past the panel).
        int safe = Math.max(i0, Math.min(full, a.length - (aOff + (pc + kc - 1) * lda) - L + 1));
        for (int p = 0; p < kc; p++) {
            int src = aOff + (pc + p) * lda, dst = p * pl.mr();
            int i = i0;
            for (; pl.mr() <= L && i < safe && i + pl.mr() <= full; i += pl.mr(), dst += ps)
                FloatVector.fromArray(S, a, src + i).mul(va).intoArray(pa, dst);
            for (; i < i1; i += pl.mr(), dst += ps)
                for (int r = 0; r < pl.mr(); r++) pa[dst + r] = i + r < i1 ? alpha * a[src + i + r] : 0f;
        }
    }

    /**
     * Packs B panels [np0, np1) of the column block starting at jc (width nc), for every K slice:
     * slice pc starts at pc·ncPad, panel np of a slice at np·NR·kc, laid out [p][q] (NR floats per k),
     * zero-padded past the block's last column.
     */
    static void packB(Plan pl, boolean transB, float[] b, int bOff, int ldb, int k, int jc, int nc, int np0, int np1, float[] pb, int pbOff) {
        int ncPad = roundUp(nc, pl.nr());
        for (int pc = 0; pc < k; pc += pl.kc()) {
            int kc = Math.min(pl.kc(), k - pc);
            for (int np = np0; np < np1; np++) {
                int j = jc + np * pl.nr();
                int nr = Math.min(pl.nr(), jc + nc - j);
                int dst = pbOff + pc * ncPad + np * pl.nr() * kc;
                if (!transB) {
                    if (nr == pl.nr()) {
                        // B[pc+p][j..j+NR) is contiguous: NR/L vector copies per k.
                        for (int p = 0; p < kc; p++) {
                            int src = bOff + (pc + p) * ldb + j, d = dst + p * pl.nr();
                            for (int v = 0; v < pl.nr(); v += L) FloatVector.fromArray(S, b, src + v).intoArray(pb, d + v);
                        }
                    } else {
                        for (int p = 0; p < kc; p++) {
                            int src = bOff + (pc + p) * ldb + j;
                            int d = dst + p * pl.nr();
                            for (int q = 0; q < nr; q++) pb[d + q] = b[src + q];
                            for (int q = nr; q < pl.nr(); q++) pb[d + q] = 0f;
                        }
                    }
                } else {
                    // Bᵀ stored n×k: column j+q of op(B) is row j+q of the array, contiguous in p.
                    for (int q = 0; q < nr; q++) {
                        int src = bOff + (j + q) * ldb + pc;
                        for (int p = 0; p < kc; p++) pb[dst + p * pl.nr() + q] = b[src + p];
                    }
                    for (int q = nr; q < pl.nr(); q++)
                        for (int p = 0; p < kc; p++) pb[dst + p * pl.nr() + q] = 0f;
                }
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
