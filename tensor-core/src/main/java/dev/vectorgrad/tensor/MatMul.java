package dev.vectorgrad.tensor;

import java.util.Arrays;

/**
 * {@code torch.matmul} semantics on top of {@link Gemm}: 1-D·1-D is a dot product, 2-D·2-D a matrix product,
 * a 1-D operand is promoted to a matrix and the added axis removed afterwards, and leading (batch) axes
 * broadcast. Operands whose last two axes are row-major or transposed views go to the kernel as they are
 * (the transpose becomes a kernel flag); only other layouts are copied.
 */
final class MatMul {
    private MatMul() {}

    static Tensor matmul(Tensor a, Tensor b) {
        if (a.rank() == 0 || b.rank() == 0)
            throw new IllegalArgumentException("matmul: both operands need at least 1 axis, got shapes "
                    + Arrays.toString(a.shape) + " and " + Arrays.toString(b.shape));
        boolean aVec = a.rank() == 1, bVec = b.rank() == 1;
        Tensor a2 = aVec ? a.unsqueeze(0) : a;
        Tensor b2 = bVec ? b.unsqueeze(1) : b;
        int m = a2.shape[a2.rank() - 2], k = a2.shape[a2.rank() - 1];
        int kb = b2.shape[b2.rank() - 2], n = b2.shape[b2.rank() - 1];
        if (k != kb)
            throw new IllegalArgumentException("matmul: shapes " + Arrays.toString(a.shape) + " and " + Arrays.toString(b.shape)
                    + " cannot be multiplied (" + k + " columns vs " + kb + " rows)");
        int[] batchA = Arrays.copyOf(a2.shape, a2.rank() - 2), batchB = Arrays.copyOf(b2.shape, b2.rank() - 2);
        int[] batch = Shapes.broadcast("matmul", batchA, batchB);
        int batches = Shapes.numel(batch);
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = Tensor.zeros(outShape);
        if (batches > 0 && m > 0 && n > 0) {
            Operand pa = Operand.of(a2, batch), pb = Operand.of(b2, batch);
            Gemm.sgemmBatched(batches, pa.trans, pb.trans, m, n, k, 1f,
                    pa.t.data, pa.t.offset, pa.ld, pa.batchStride,
                    pb.t.data, pb.t.offset, pb.ld, pb.batchStride,
                    0f, out.data, 0, n, (long) m * n);
        }
        int[] finalShape = outShape;
        if (aVec && bVec) finalShape = new int[0];
        else if (aVec) finalShape = dropAxis(outShape, outShape.length - 2);
        else if (bVec) finalShape = dropAxis(outShape, outShape.length - 1);
        return finalShape == outShape ? out : out.reshape(finalShape);
    }

    private static int[] dropAxis(int[] s, int axis) {
        int[] r = new int[s.length - 1];
        for (int i = 0, j = 0; i < s.length; i++) if (i != axis) r[j++] = s[i];
        return r;
    }

    /** One operand as the kernel sees it: storage, transpose flag, leading dimension, and batch stride. */
    private record Operand(Tensor t, boolean trans, int ld, long batchStride) {
        static Operand of(Tensor x, int[] batch) {
            int r = x.rank();
            Tensor e = x.expand(concat(batch, x.shape[r - 2], x.shape[r - 1]));
            Operand o = tryView(e, batch.length);
            if (o != null) return o;
            // Layout the kernel cannot address with one batch stride: copy (the broadcast stays a stride 0).
            Tensor c = x.contiguous();
            e = c.expand(concat(batch, c.shape[r - 2], c.shape[r - 1]));
            o = tryView(e, batch.length);
            if (o != null) return o;
            return tryView(e.contiguous(), batch.length);
        }

        private static Operand tryView(Tensor e, int nb) {
            int rows = e.shape[nb], cols = e.shape[nb + 1];
            int sr = e.strides[nb], sc = e.strides[nb + 1];
            boolean trans;
            int ld;
            if (sc == 1 || cols == 1) {
                trans = false;
                ld = cols == 1 && sc != 1 ? Math.max(sr, 1) : Math.max(sr, cols);
                if (rows == 1) ld = Math.max(ld, cols);
                if (rows > 1 && sr < cols) return null;
            } else if (sr == 1 || rows == 1) {
                trans = true;
                ld = rows == 1 ? Math.max(sc, rows) : sc;
                if (cols > 1 && sc < rows) return null;
            } else {
                return null;
            }
            // The batch axes must collapse into a single stride (stride 0 for a broadcast operand).
            long stride = 0;
            boolean first = true;
            long expect = -1;
            for (int i = nb - 1; i >= 0; i--) {
                if (e.shape[i] == 1) continue;
                if (first) {
                    stride = e.strides[i];
                    expect = stride * e.shape[i];
                    first = false;
                } else {
                    if (e.strides[i] != expect) return null;
                    expect = (long) e.strides[i] * e.shape[i];
                }
            }
            return new Operand(e, trans, ld, stride);
        }

        private static int[] concat(int[] batch, int r, int c) {
            int[] s = Arrays.copyOf(batch, batch.length + 2);
            s[batch.length] = r;
            s[batch.length + 1] = c;
            return s;
        }
    }
}
