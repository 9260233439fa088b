package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.Gemm;
import dev.vectorgrad.tensor.GemmOperand;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Shapes;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Matrix products through {@link Gemm}: plain, batched (NumPy-broadcast batch axes) and fused linear
 * (x·Wᵀ + b). Each operand reaches the GEMM as a {@link GemmOperand}, so transposed views (e.g. {@code w.t()},
 * {@code k.transpose(-2, -1)}) are transpose flags, never copies; the backward products dA = dC·Bᵀ and
 * dB = Aᵀ·dC reuse the saved operands with the flags flipped, and accumulate straight into a leaf's
 * {@code .grad} (beta = 1) where they can.
 */
final class MatrixProducts {
    private MatrixProducts() {}

    static Variable matmul(Variable a, Variable b) {
        int ra = a.rank(), rb = b.rank();
        if (ra == 0 || rb == 0)
            throw new IllegalArgumentException("matmul: both arguments need at least one axis, got shapes "
                    + Arrays.toString(a.shape()) + " and " + Arrays.toString(b.shape()));
        if (ra == 1 && rb == 1) {
            check(a.shape()[0], b.shape()[0], a, b);
            return a.mul(b).sum();
        }
        if (ra == 1) {
            Variable y = matmul(a.reshape(1, a.shape()[0]), b);
            int[] s = y.shape();
            int[] t = new int[s.length - 1];
            System.arraycopy(s, 0, t, 0, s.length - 2);
            t[t.length - 1] = s[s.length - 1];
            return y.reshape(t);
        }
        if (rb == 1) {
            Variable y = matmul(a, b.reshape(b.shape()[0], 1));
            int[] s = y.shape();
            return y.reshape(Arrays.copyOf(s, s.length - 1));
        }
        if (rb == 2) return Folded.apply(a, b);
        return Batched.apply(a, b);
    }

    private static void check(int ka, int kb, Variable a, Variable b) {
        if (ka != kb)
            throw new IllegalArgumentException("matmul: inner sizes differ: " + Arrays.toString(a.shape()) + " @ "
                    + Arrays.toString(b.shape()) + " (" + ka + " vs " + kb + ")");
    }

    /** [..., m, k] @ [k, n]: the leading axes of A fold into M, so it is one GEMM (and dB one GEMM). */
    static final class Folded extends Node {
        GemmOperand a, b;
        int[] aShape;
        int bigM, k, n;

        static Variable apply(Variable av, Variable bv) {
            int[] as = av.shape(), bs = bv.shape();
            int k = as[as.length - 1];
            check(k, bs[0], av, bv);
            int n = bs[1];
            int bigM = foldedRows(as);
            Folded f = new Folded();
            f.a = folded(av.data(), bigM);
            f.b = GemmOperand.of(bv.data());
            f.aShape = as;
            f.bigM = bigM;
            f.k = k;
            f.n = n;
            float[] c = StepArena.floats(bigM * n);
            Gemm.sgemm(f.a.trans(), f.b.trans(), bigM, n, k, 1f, f.a.data(), f.a.offset(), f.a.ld(), f.b.data(), f.b.offset(), f.b.ld(), 0f, c, 0, Math.max(n, 1));
            int[] os = as.clone();
            os[os.length - 1] = n;
            return record(f, Tensor.wrap(c, os), av, bv);
        }

        @Override protected Tensor[] backward(Tensor g) {
            Tensor gc = g.contiguous();
            float[] dc = gc.storage();
            int dco = gc.offset();
            Tensor da = null, db = null;
            if (needsGrad(0)) {
                Tensor leaf = aShape.length == 2 ? leafGrad(0) : null;
                float[] out = leaf != null ? leaf.storage() : new float[bigM * k];
                Gemm.sgemm(false, !b.trans(), bigM, k, n, 1f, dc, dco, Math.max(n, 1), b.data(), b.offset(), b.ld(),
                        leaf != null ? 1f : 0f, out, 0, Math.max(k, 1));
                if (leaf == null) da = Tensor.wrap(out, aShape);
            }
            if (needsGrad(1)) {
                Tensor leaf = leafGrad(1);
                float[] out = leaf != null ? leaf.storage() : new float[k * n];
                Gemm.sgemm(!a.trans(), false, k, n, bigM, 1f, a.data(), a.offset(), a.ld(), dc, dco, Math.max(n, 1),
                        leaf != null ? 1f : 0f, out, 0, Math.max(n, 1));
                if (leaf == null) db = Tensor.wrap(out, k, n);
            }
            return new Tensor[] {da, db};
        }

        @Override protected void release() { a = b = null; }
        @Override public String name() { return "Matmul"; }
    }

    /** [..., m, k] @ [..., k, n] with broadcast batch axes: one batched GEMM forward, two backward. */
    static final class Batched extends Node {
        GemmOperand a, b;
        int[] aShape, bShape, batch;
        int nb, m, k, n;

        static Variable apply(Variable av, Variable bv) {
            int[] as = av.shape(), bs = bv.shape();
            int m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
            check(k, bs[bs.length - 2], av, bv);
            int[] batch = Shapes.broadcast("matmul", Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
            int nb = Shapes.numel(batch);
            Batched f = new Batched();
            f.a = GemmOperand.of(av.data(), batch);
            f.b = GemmOperand.of(bv.data(), batch);
            f.aShape = as;
            f.bShape = bs;
            f.batch = batch;
            f.nb = nb;
            f.m = m;
            f.k = k;
            f.n = n;
            float[] c = StepArena.floats(nb * m * n);
            Gemm.sgemmBatched(nb, f.a.trans(), f.b.trans(), m, n, k, 1f, f.a.data(), f.a.offset(), f.a.ld(), f.a.batchStride(),
                    f.b.data(), f.b.offset(), f.b.ld(), f.b.batchStride(), 0f, c, 0, Math.max(n, 1), (long) m * n);
            return record(f, Tensor.wrap(c, concat(batch, m, n)), av, bv);
        }

        @Override protected Tensor[] backward(Tensor g) {
            Tensor gc = g.contiguous();
            float[] dc = gc.storage();
            int dco = gc.offset();
            Tensor da = null, db = null;
            if (needsGrad(0)) {
                float[] out = StepArena.floats(nb * m * k);
                Gemm.sgemmBatched(nb, false, !b.trans(), m, k, n, 1f, dc, dco, Math.max(n, 1), (long) m * n,
                        b.data(), b.offset(), b.ld(), b.batchStride(), 0f, out, 0, Math.max(k, 1), (long) m * k);
                da = Elementwise.reduceTo(Tensor.wrap(out, concat(batch, m, k)), aShape);
            }
            if (needsGrad(1)) {
                float[] out = StepArena.floats(nb * k * n);
                Gemm.sgemmBatched(nb, !a.trans(), false, k, n, m, 1f, a.data(), a.offset(), a.ld(), a.batchStride(),
                        dc, dco, Math.max(n, 1), (long) m * n, 0f, out, 0, Math.max(n, 1), (long) k * n);
                db = Elementwise.reduceTo(Tensor.wrap(out, concat(batch, k, n)), bShape);
            }
            return new Tensor[] {da, db};
        }

        @Override protected void release() { a = b = null; }
        @Override public String name() { return "BatchedMatmul"; }
    }

    /** Rows of a [..., k] tensor with its leading axes folded into one: numel / k (their product when k = 0). */
    static int foldedRows(int[] shape) {
        int k = shape[shape.length - 1];
        return k == 0 ? Shapes.numel(Arrays.copyOf(shape, shape.length - 1)) : Shapes.numel(shape) / k;
    }

    /** x [..., k] as the [rows, k] matrix its leading axes fold into (a view where the layout allows). */
    static GemmOperand folded(Tensor x, int rows) {
        return GemmOperand.of(x.rank() == 2 ? x : x.reshape(rows, x.size(-1)));
    }

    static int[] concat(int[] batch, int x, int y) {
        int[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = x;
        s[batch.length + 1] = y;
        return s;
    }

    /** y = x·Wᵀ + b for x [..., in], W [out, in], b [out] (nullable): PyTorch's {@code F.linear}, fused. */
    static final class Linear extends Node {
        GemmOperand x, w;
        int[] xShape;
        int rows, in, out;

        static Variable apply(Variable xv, Variable wv, Variable bv) {
            int[] xs = xv.shape(), ws = wv.shape();
            if (ws.length != 2 || xs.length == 0 || xs[xs.length - 1] != ws[1])
                throw new IllegalArgumentException("linear: input " + Arrays.toString(xs) + " and weight " + Arrays.toString(ws)
                        + " do not match (weight must be [out, in] with in = the input's last size)");
            int in = ws[1], out = ws[0];
            if (bv != null && (bv.rank() != 1 || bv.shape()[0] != out))
                throw new IllegalArgumentException("linear: bias " + Arrays.toString(bv.shape()) + " must be [" + out + "]");
            int rows = foldedRows(xs);
            Linear f = new Linear();
            f.x = folded(xv.data(), rows);
            f.w = GemmOperand.of(wv.data());
            f.xShape = xs;
            f.rows = rows;
            f.in = in;
            f.out = out;
            float[] y = StepArena.floats(rows * out);
            float beta = 0f;
            if (bv != null) {
                Tensor b = bv.data().contiguous();
                float[] bd = b.storage();
                int bo = b.offset();
                for (int r = 0; r < rows; r++) System.arraycopy(bd, bo, y, r * out, out);
                beta = 1f;
            }
            Gemm.sgemm(f.x.trans(), !f.w.trans(), rows, out, in, 1f, f.x.data(), f.x.offset(), f.x.ld(), f.w.data(), f.w.offset(), f.w.ld(),
                    beta, y, 0, Math.max(out, 1));
            int[] ys = xs.clone();
            ys[ys.length - 1] = out;
            return bv == null ? record(f, Tensor.wrap(y, ys), xv, wv) : record(f, Tensor.wrap(y, ys), xv, wv, bv);
        }

        @Override protected Tensor[] backward(Tensor g) {
            Tensor gc = g.contiguous();
            float[] dy = gc.storage();
            int dyo = gc.offset();
            int ldy = Math.max(out, 1);
            Tensor[] res = new Tensor[next.length];
            if (needsGrad(0)) { // dX = dY·W
                float[] dx = StepArena.floats(rows * in);
                Gemm.sgemm(false, w.trans(), rows, in, out, 1f, dy, dyo, ldy, w.data(), w.offset(), w.ld(), 0f, dx, 0, Math.max(in, 1));
                res[0] = Tensor.wrap(dx, xShape);
            }
            if (needsGrad(1)) { // dW = dYᵀ·X
                Tensor leaf = leafGrad(1);
                float[] dw = leaf != null ? leaf.storage() : new float[out * in];
                Gemm.sgemm(true, x.trans(), out, in, rows, 1f, dy, dyo, ldy, x.data(), x.offset(), x.ld(),
                        leaf != null ? 1f : 0f, dw, 0, Math.max(in, 1));
                if (leaf == null) res[1] = Tensor.wrap(dw, out, in);
            }
            if (next.length > 2 && needsGrad(2)) { // db = column sums of dY
                Tensor leaf = leafGrad(2);
                float[] db = leaf != null ? leaf.storage() : new float[out];
                columnSums(dy, dyo, rows, out, db);
                if (leaf == null) res[2] = Tensor.wrap(db, out);
            }
            return res;
        }

        @Override protected void release() { x = w = null; }
    }

    /** acc[j] += Σ_r m[r, j], rows summed in order (columns split across the pool in fixed blocks). */
    static void columnSums(float[] m, int off, int rows, int cols, float[] acc) {
        boolean small = (long) rows * cols < Kernels.PAR_MIN;
        int block = small ? Math.max(cols, 1) : 256;
        int tasks = (cols + block - 1) / block;
        Parallel.forRange(tasks, t -> {
            int c0 = t * block, c1 = Math.min(cols, c0 + block);
            for (int r = 0; r < rows; r++) {
                int base = off + r * cols;
                int j = c0;
                for (int up = c0 + Kernels.S.loopBound(c1 - c0); j < up; j += Kernels.L)
                    FloatVector.fromArray(Kernels.S, acc, j).add(FloatVector.fromArray(Kernels.S, m, base + j)).intoArray(acc, j);
                for (; j < c1; j++) acc[j] += m[base + j];
            }
        });
    }
}
