package dev.vectorgrad.tensor;

import java.util.Arrays;

/**
 * {@code torch.matmul} semantics on top of {@link Gemm}: 1-D·1-D is a dot product, 2-D·2-D a matrix product,
 * a 1-D operand is promoted to a matrix and the added axis removed afterwards, and leading (batch) axes
 * broadcast. Each operand reaches the kernel through {@link GemmOperand}: row-major and transposed views as
 * they are (the transpose becomes a kernel flag), only other layouts copied.
 */
final class BroadcastMatmul {
    private BroadcastMatmul() {}

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
            GemmOperand pa = GemmOperand.of(a2, batch), pb = GemmOperand.of(b2, batch);
            Gemm.sgemmBatched(batches, pa.trans(), pb.trans(), m, n, k, 1f,
                    pa.data(), pa.offset(), pa.ld(), pa.batchStride(),
                    pb.data(), pb.offset(), pb.ld(), pb.batchStride(),
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
}
