package dev.vectorgrad.tensor;

/**
 * Iteration layout shared by the element-wise kernels: an output shape and the element strides of k operands
 * (already broadcast to that shape, so a stretched axis has stride 0) are collapsed into as few axes as
 * possible. Size-1 axes are dropped and neighbouring axes merged wherever every operand walks them as one
 * (stride[i] == stride[i+1]·size[i+1]), so e.g. a contiguous [N,C] + a [C] row becomes N rows of C and a
 * transposed operand keeps its own inner stride.
 */
final class Layout {
    /** Collapsed sizes, outermost first; never empty (a scalar becomes one axis of size 1). */
    final int[] dims;
    /** strides[op][axis] for the collapsed axes. */
    final int[][] strides;

    private Layout(int[] dims, int[][] strides) {
        this.dims = dims;
        this.strides = strides;
    }

    static Layout of(int[] shape, int[]... st) {
        int k = st.length, r = shape.length;
        int[] d = new int[Math.max(r, 1)];
        int[][] s = new int[k][Math.max(r, 1)];
        int m = 0; // collapsed axes so far, stored from the end
        for (int i = r - 1; i >= 0; i--) {
            int size = shape[i];
            if (size == 1) continue;
            if (m > 0) {
                int cur = d.length - m;
                boolean merge = true;
                for (int o = 0; o < k && merge; o++) merge = st[o][i] == s[o][cur] * d[cur];
                if (merge) {
                    d[cur] *= size;
                    continue;
                }
            }
            m++;
            int cur = d.length - m;
            d[cur] = size;
            for (int o = 0; o < k; o++) s[o][cur] = st[o][i];
        }
        if (m == 0) {
            int[][] z = new int[k][1];
            return new Layout(new int[] {1}, z);
        }
        int[] dims = java.util.Arrays.copyOfRange(d, d.length - m, d.length);
        int[][] strides = new int[k][];
        for (int o = 0; o < k; o++) strides[o] = java.util.Arrays.copyOfRange(s[o], d.length - m, d.length);
        return new Layout(dims, strides);
    }

    int inner() {
        return dims[dims.length - 1];
    }

    int innerStride(int op) {
        return strides[op][dims.length - 1];
    }

    /** Fills idx (outer axes) for outer row {@code row} and returns operand {@code op}'s offset delta for it. */
    void rowIndex(int row, int[] idx) {
        for (int k = dims.length - 2; k >= 0; k--) {
            idx[k] = row % dims[k];
            row /= dims[k];
        }
    }

    int rowOffset(int op, int[] idx) {
        int p = 0;
        for (int k = 0; k < dims.length - 1; k++) p += idx[k] * strides[op][k];
        return p;
    }
}
