package dev.vectorgrad.tensor;

import java.util.Arrays;

/** Row gathers: embedding lookup. */
final class Gather {
    private Gather() {}

    static Tensor embedding(Tensor table, IntTensor ids) {
        if (table.shape.length != 2)
            throw new IllegalArgumentException("embedding: table must be 2-D [vocab, dim], got shape " + Arrays.toString(table.shape));
        int vocab = table.shape[0], dim = table.shape[1];
        int[] id = ids.storage();
        for (int i = 0; i < id.length; i++) {
            if (id[i] < 0 || id[i] >= vocab)
                throw new IllegalArgumentException("embedding: id " + id[i] + " (position " + i + ") is out of range for a table of "
                        + vocab + " rows (shape " + Arrays.toString(table.shape) + ")");
        }
        Tensor t = table.contiguous();
        int[] ish = ids.shape();
        int[] os = Arrays.copyOf(ish, ish.length + 1);
        os[ish.length] = dim;
        float[] out = StepArena.floats(Shapes.numel(os));
        int n = id.length;
        int per = Math.max(1, Unary.GRAIN / Math.max(dim, 1));
        int tasks = (long) n * dim < Unary.PAR_MIN ? 1 : (n + per - 1) / per;
        int chunk = tasks == 1 ? n : per;
        Parallel.forRange(tasks, k -> {
            for (int i = k * chunk, e = Math.min(n, i + chunk); i < e; i++)
                System.arraycopy(t.data, t.offset + id[i] * dim, out, i * dim, dim);
        });
        return new Tensor(out, 0, os, Shapes.contiguousStrides(os));
    }
}
