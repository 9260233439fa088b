package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.Shapes;
import dev.vectorgrad.tensor.Tensor;

/**
 * Views and joins. A view's forward shares storage with its input (no copy); its backward maps the gradient
 * back through the inverse view (reshape back, transpose back, scatter into zeros for narrow/select, sum for
 * expand).
 */
final class Views {
    private Views() {}

    static final class Reshape extends Node {
        int[] inShape;
        static Variable apply(Variable x, int... shape) {
            Reshape n = new Reshape();
            n.inShape = x.shape();
            return record(n, x.data().reshape(shape), x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.reshape(inShape)}; }
    }

    static final class Transpose extends Node {
        int a, b;
        static Variable apply(Variable x, int a, int b) {
            Transpose n = new Transpose();
            n.a = a;
            n.b = b;
            return record(n, x.data().transpose(a, b), x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.transpose(a, b)}; }
    }

    static final class Permute extends Node {
        int[] inverse;
        static Variable apply(Variable x, int... order) {
            Permute n = new Permute();
            Tensor y = x.data().permute(order);
            n.inverse = new int[order.length];
            for (int i = 0; i < order.length; i++) n.inverse[Shapes.axis("permute", order[i], x.shape())] = i;
            return record(n, y, x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.permute(inverse)}; }
    }

    static final class Narrow extends Node {
        int[] inShape;
        int axis, start;
        static Variable apply(Variable x, int axis, int start, int length) {
            Narrow n = new Narrow();
            n.inShape = x.shape();
            n.axis = Shapes.axis("narrow", axis, n.inShape);
            n.start = start;
            return record(n, x.data().narrow(axis, start, length), x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor dx = Tensor.zeros(inShape);
            dx.narrow(axis, start, g.shape()[axis]).copyFrom(g);
            return new Tensor[] {dx};
        }
    }

    static final class Select extends Node {
        int[] inShape;
        int axis, index;
        static Variable apply(Variable x, int axis, int index) {
            Select n = new Select();
            n.inShape = x.shape();
            n.axis = Shapes.axis("select", axis, n.inShape);
            n.index = index < 0 ? index + n.inShape[n.axis] : index;
            return record(n, x.data().select(axis, index), x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor dx = Tensor.zeros(inShape);
            dx.select(axis, index).copyFrom(g);
            return new Tensor[] {dx};
        }
    }

    static final class Expand extends Node {
        int[] inShape;
        static Variable apply(Variable x, int... shape) {
            Expand n = new Expand();
            n.inShape = x.shape();
            return record(n, x.data().expand(shape), x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {Elementwise.reduceTo(g, inShape)}; }
    }

    /** Concatenation along an axis: each input's gradient is its slice of the output gradient (a view). */
    static final class Concat extends Node {
        int axis;
        int[] sizes;
        static Variable apply(int axis, Variable... xs) {
            Concat n = new Concat();
            Tensor[] ts = new Tensor[xs.length];
            for (int i = 0; i < xs.length; i++) ts[i] = xs[i].data();
            Tensor y = Tensor.concat(axis, ts);
            n.axis = Shapes.axis("concat", axis, y.shape());
            n.sizes = new int[xs.length];
            for (int i = 0; i < xs.length; i++) n.sizes[i] = ts[i].shape()[n.axis];
            return record(n, y, xs);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor[] out = new Tensor[sizes.length];
            int off = 0;
            for (int i = 0; i < sizes.length; i++) {
                if (needsGrad(i)) out[i] = g.narrow(axis, off, sizes[i]);
                off += sizes[i];
            }
            return out;
        }
    }
}
