package dev.vectorgrad.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** concat, stack and split. */
final class Join {
    private Join() {}

    static Tensor concat(int axis, Tensor... ts) {
        if (ts == null || ts.length == 0) throw new IllegalArgumentException("concat: needs at least one tensor");
        int[] first = ts[0].shape;
        int a = Shapes.axis("concat", axis, first);
        int total = 0;
        for (Tensor t : ts) {
            boolean ok = t.shape.length == first.length;
            for (int k = 0; ok && k < first.length; k++) ok = k == a || t.shape[k] == first[k];
            if (!ok)
                throw new IllegalArgumentException("concat: shapes " + shapes(ts) + " differ outside axis " + a);
            total += t.shape[a];
        }
        int[] os = first.clone();
        os[a] = total;
        float[] out = new float[Shapes.numel(os)];
        int outer = Reduce.prod(first, 0, a), inner = Reduce.prod(first, a + 1, first.length);
        int at = 0;
        for (Tensor t : ts) {
            int block = t.shape[a] * inner;
            if (block > 0 && outer > 0) {
                Tensor c = t.contiguous();
                for (int o = 0; o < outer; o++)
                    System.arraycopy(c.data, c.offset + o * block, out, (o * total + at) * inner, block);
            }
            at += t.shape[a];
        }
        return new Tensor(out, 0, os, Shapes.contiguousStrides(os));
    }

    static Tensor stack(int axis, Tensor... ts) {
        if (ts == null || ts.length == 0) throw new IllegalArgumentException("stack: needs at least one tensor");
        int r = ts[0].shape.length + 1;
        int a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r)
            throw new IllegalArgumentException("stack: axis " + axis + " is out of range for stacking shape " + Arrays.toString(ts[0].shape));
        Tensor[] u = new Tensor[ts.length];
        for (int i = 0; i < ts.length; i++) {
            if (!Arrays.equals(ts[i].shape, ts[0].shape))
                throw new IllegalArgumentException("stack: all shapes must be equal, got " + shapes(ts));
            u[i] = ts[i].unsqueeze(a);
        }
        return concat(a, u);
    }

    static Tensor[] split(Tensor x, int axis, int[] sizes) {
        int a = Shapes.axis("split", axis, x.shape);
        long sum = 0;
        for (int s : sizes) {
            if (s < 0) throw new IllegalArgumentException("split: negative size in " + Arrays.toString(sizes));
            sum += s;
        }
        if (sum != x.shape[a])
            throw new IllegalArgumentException("split: sizes " + Arrays.toString(sizes) + " add up to " + sum + " but axis " + a
                    + " of shape " + Arrays.toString(x.shape) + " has " + x.shape[a]);
        Tensor[] out = new Tensor[sizes.length];
        int at = 0;
        for (int i = 0; i < sizes.length; i++) {
            out[i] = x.narrow(a, at, sizes[i]);
            at += sizes[i];
        }
        return out;
    }

    static Tensor[] splitChunks(Tensor x, int axis, int chunk) {
        int a = Shapes.axis("split", axis, x.shape);
        if (chunk <= 0)
            throw new IllegalArgumentException("split: chunk size must be positive, got " + chunk + " for shape " + Arrays.toString(x.shape));
        List<Integer> sizes = new ArrayList<>();
        for (int at = 0; at < x.shape[a]; at += chunk) sizes.add(Math.min(chunk, x.shape[a] - at));
        if (sizes.isEmpty()) sizes.add(0);
        return split(x, a, sizes.stream().mapToInt(Integer::intValue).toArray());
    }

    private static String shapes(Tensor[] ts) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ts.length; i++) sb.append(i == 0 ? "" : ", ").append(Arrays.toString(ts[i].shape));
        return sb.toString();
    }
}
