package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/** Embedding lookup: a gather forward, a scatter-add backward (repeated ids add up). */
final class Indexing {
    private Indexing() {}

    static final class Embedding extends Node {
        IntTensor ids;
        int vocab, dim;

        static Variable apply(Variable table, IntTensor ids) {
            int[] ts = table.shape();
            if (ts.length != 2)
                throw new IllegalArgumentException("embedding: table must be [vocab, dim], got " + Arrays.toString(ts));
            Embedding n = new Embedding();
            n.ids = ids;
            n.vocab = ts[0];
            n.dim = ts[1];
            return record(n, Tensor.embedding(table.data(), ids), table);
        }

        @Override protected Tensor[] backward(Tensor gIn) {
            Tensor g = gIn.contiguous();
            float[] gd = g.storage();
            int go = g.offset();
            Tensor leaf = leafGrad(0);
            Tensor dt = leaf != null ? leaf : Tensor.zeros(vocab, dim);
            float[] out = dt.storage();
            int[] ix = ids.storage();
            int n = ids.numel(), d = dim;
            for (int i = 0; i < n; i++) {
                int row = ix[i] * d, src = go + i * d, j = 0;
                for (int up = Kernels.S.loopBound(d); j < up; j += Kernels.L)
                    FloatVector.fromArray(Kernels.S, out, row + j).add(FloatVector.fromArray(Kernels.S, gd, src + j)).intoArray(out, row + j);
                for (; j < d; j++) out[row + j] += gd[src + j];
            }
            return new Tensor[] {leaf != null ? null : dt};
        }

        @Override protected void release() { ids = null; }
    }
}
