package dev.vectorgrad.tensor;

import java.util.Arrays;

/**
 * A strided (batch of) matrices as {@link Gemm} reads it: row-major storage {@code data} from {@code offset} with
 * leading dimension {@code ld}, {@code trans} when that storage holds the transpose of the logical matrix, and
 * consecutive batch entries {@code batchStride} apart (0 for a broadcast operand).
 *
 * <p>{@link #of(Tensor, int...)} is the one place that turns a tensor view into these arguments: a row-major
 * or transposed view (e.g. {@code w.t()}, {@code k.transpose(-2, -1)}, a narrowed row block) goes to the kernel
 * as it is, the transpose becoming the flag; only a layout the kernel cannot address is copied, and then only
 * once (the operand itself when its broadcast still steps by one batch stride, its broadcast otherwise).
 * {@code data} keeps the storage alive for as long as the operand is held (a backward pass holds it).
 */
public record GemmOperand(float[] data, int offset, int ld, boolean trans, long batchStride) {

    /** {@code x} (rank ≥ 2) as matrices over its last two axes, its leading axes the batch. */
    public static GemmOperand of(Tensor x) {
        requireMatrix(x);
        return of(x, Arrays.copyOf(x.shape, x.rank() - 2));
    }

    /**
     * {@code x}'s last two axes as the matrices, its leading axes broadcast (NumPy rules) to {@code batch}; in
     * place whenever the layout allows. A row or column of length ≤ 1 counts as contiguous whatever its stride
     * (a {@code [1, n]} row of a wide matrix, a {@code [m, 1]} column of a transposed one).
     */
    public static GemmOperand of(Tensor x, int... batch) {
        requireMatrix(x);
        int r = x.rank(), nb = batch.length;
        int rows = x.shape[r - 2], cols = x.shape[r - 1];
        Tensor e = x.expand(matrixShape(batch, rows, cols));
        GemmOperand o = inPlace(e.data, e.offset, e.shape, e.strides, nb);
        if (o != null) return o;
        // Copy the operand before its broadcast when the dense copy, broadcast, still steps by one batch stride
        // (a [m, k] weight against a batch of inputs stays one copy of m·k with batch stride 0).
        int[] dense = Shapes.contiguousStrides(x.shape), denseBatch = new int[nb];
        for (int i = 0, lead = nb - (r - 2); i < nb; i++) {
            int j = i - lead;
            denseBatch[i] = j < 0 || (x.shape[j] == 1 && batch[i] != 1) ? 0 : dense[j];
        }
        if (collapse(e.shape, denseBatch, nb) >= 0) {
            Tensor c = x.copy().expand(e.shape);
            o = inPlace(c.data, c.offset, c.shape, c.strides, nb);
            if (o != null) return o;
        }
        Tensor c = e.copy();
        return new GemmOperand(c.data, 0, Math.max(cols, 1), false, (long) rows * cols);
    }

    /** The operand without a copy, or null when its layout needs one. */
    private static GemmOperand inPlace(float[] data, int offset, int[] shape, int[] strides, int nb) {
        long bs = collapse(shape, strides, nb);
        if (bs < 0) return null;
        int rows = shape[nb], cols = shape[nb + 1];
        int rs = strides[nb], cs = strides[nb + 1];
        if ((cols <= 1 || cs == 1) && (rows <= 1 || (rs >= cols && rs >= 0)))
            return new GemmOperand(data, offset, rows <= 1 ? Math.max(cols, 1) : Math.max(rs, 1), false, bs);
        if ((rows <= 1 || rs == 1) && (cols <= 1 || (cs >= rows && cs >= 0)))
            return new GemmOperand(data, offset, cols <= 1 ? Math.max(rows, 1) : Math.max(cs, 1), true, bs);
        return null;
    }

    /**
     * The one stride that steps through the batch axes [0, nb) flattened (0 when they all broadcast or there are
     * none), or -1 when they do not collapse into one (a negative stride is no use to the kernel either). Size-1
     * axes are skipped.
     */
    static long collapse(int[] shape, int[] strides, int nb) {
        long stride = 0, expect = 0;
        boolean first = true;
        for (int i = nb - 1; i >= 0; i--) {
            if (shape[i] == 1) continue;
            if (first) stride = strides[i];
            else if (strides[i] != expect) return -1;
            first = false;
            expect = (long) strides[i] * shape[i];
        }
        return stride;
    }

    private static void requireMatrix(Tensor x) {
        if (x.rank() < 2)
            throw new IllegalArgumentException("GemmOperand: a matrix operand needs at least 2 axes, got shape " + Arrays.toString(x.shape));
    }

    private static int[] matrixShape(int[] batch, int rows, int cols) {
        int[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = rows;
        s[batch.length + 1] = cols;
        return s;
    }
}
