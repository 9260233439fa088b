package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Shapes;
import dev.vectorgrad.tensor.Tensor;

/** Reductions: forward and backward side by side. The backward of a sum broadcasts the gradient back. */
final class Reductions {
    private Reductions() {}

    /** Shape with {@code axis} set to 1 (the keepDim shape). */
    static int[] keepShape(int[] shape, int axis) {
        int[] s = shape.clone();
        s[axis] = 1;
        return s;
    }

    static final class SumAll extends Node {
        int[] inShape;
        boolean mean;
        static Variable apply(Variable x, boolean mean) {
            SumAll n = new SumAll();
            n.inShape = x.shape();
            n.mean = mean;
            return record(n, mean ? x.data().mean() : x.data().sum(), x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            float v = g.item();
            if (mean) v /= Math.max(1, Shapes.numel(inShape));
            return new Tensor[] {Tensor.scalar(v).expand(inShape)};
        }
    }

    static final class SumAxis extends Node {
        int[] inShape;
        int axis;
        boolean mean;
        static Variable apply(Variable x, int axis, boolean keepDim, boolean mean) {
            SumAxis n = new SumAxis();
            n.inShape = x.shape();
            n.axis = Shapes.axis(mean ? "mean" : "sum", axis, n.inShape);
            n.mean = mean;
            Tensor y = mean ? x.data().mean(axis, keepDim) : x.data().sum(axis, keepDim);
            return record(n, y, x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor gk = g.reshape(keepShape(inShape, axis));
            if (mean) gk = gk.mul(1f / Math.max(1, inShape[axis]));
            return new Tensor[] {gk.expand(inShape)};
        }
    }

    /** max / min along an axis: the gradient goes to the (first) selected element of each slice. */
    static final class MaxAxis extends Node {
        int[] inShape;
        int axis;
        IntTensor idx;
        static Variable apply(Variable x, int axis, boolean keepDim, boolean max) {
            MaxAxis n = new MaxAxis();
            n.inShape = x.shape();
            n.axis = Shapes.axis(max ? "max" : "min", axis, n.inShape);
            Tensor y = max ? x.data().max(axis, keepDim) : x.data().min(axis, keepDim);
            if (needed(x)) n.idx = (max ? x.data() : x.data().neg()).argmax(n.axis, true);
            return record(n, y, x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            int[] ks = keepShape(inShape, axis);
            Tensor gc = g.reshape(ks).contiguous();
            float[] gv = gc.storage();
            int go = gc.offset();
            float[] out = new float[Shapes.numel(inShape)];
            int outer = 1, inner = 1, n = inShape[axis];
            for (int i = 0; i < axis; i++) outer *= inShape[i];
            for (int i = axis + 1; i < inShape.length; i++) inner *= inShape[i];
            int[] ix = idx.storage();
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < inner; j++) {
                    int r = o * inner + j;
                    out[(o * n + ix[r]) * inner + j] = gv[go + r];
                }
            return new Tensor[] {Tensor.wrap(out, inShape)};
        }
        @Override protected void release() { idx = null; }
    }

    /** var along an axis: d/dx = 2(x − mean)/(n − correction). */
    static final class Var extends Node {
        Tensor x;
        int axis, correction;
        static Variable apply(Variable x, int axis, boolean keepDim, int correction) {
            Var n = new Var();
            n.x = x.data();
            n.axis = Shapes.axis("var", axis, x.shape());
            n.correction = correction;
            return record(n, x.data().var(axis, keepDim, correction), x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            int[] s = x.shape();
            Tensor centered = x.sub(x.mean(axis, true));
            float scale = 2f / (s[axis] - correction);
            return new Tensor[] {centered.mul(g.reshape(keepShape(s, axis))).mul(scale)};
        }
        @Override protected void release() { x = null; }
    }
}
