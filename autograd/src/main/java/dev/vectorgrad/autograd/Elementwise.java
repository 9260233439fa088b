package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;

/**
 * Element-wise ops: forward (a tensor-core kernel) and backward side by side, one nested node per op.
 * Binary ops broadcast like NumPy, so their backward sums the gradient back to each input's shape.
 */
final class Elementwise {
    private Elementwise() {}

    static final Tensor ZERO = Tensor.scalar(0f);

    /** {@code g} summed down to {@code shape} (the inverse of broadcasting), or {@code g} itself when equal. */
    static Tensor reduceTo(Tensor g, int[] shape) {
        int[] gs = g.shape();
        return java.util.Arrays.equals(gs, shape) ? g : g.sumToShape(shape);
    }

    // ------------------------------------------------------------------ unary

    static final class Neg extends Node {
        static Variable apply(Variable x) {
            return record(new Neg(), x.data().neg(), x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.neg()}; }
    }

    static final class Abs extends Node {
        Tensor x;
        static Variable apply(Variable x) {
            Abs n = new Abs();
            n.x = x.data();
            return record(n, x.data().abs(), x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor sign = x.gt(ZERO).sub(x.lt(ZERO)); // sign(0) = 0, as PyTorch
            return new Tensor[] {g.mul(sign)};
        }
        @Override protected void release() { x = null; }
    }

    static final class Exp extends Node {
        Tensor y;
        static Variable apply(Variable x) {
            Exp n = new Exp();
            n.y = x.data().exp();
            return record(n, n.y, x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.mul(y)}; }
        @Override protected void release() { y = null; }
    }

    static final class Log extends Node {
        Tensor x;
        static Variable apply(Variable x) {
            Log n = new Log();
            n.x = x.data();
            return record(n, x.data().log(), x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.div(x)}; }
        @Override protected void release() { x = null; }
    }

    static final class Sqrt extends Node {
        Tensor y;
        static Variable apply(Variable x) {
            Sqrt n = new Sqrt();
            n.y = x.data().sqrt();
            return record(n, n.y, x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.div(y).mul(0.5f)}; }
        @Override protected void release() { y = null; }
    }

    static final class Rsqrt extends Node {
        Tensor y;
        static Variable apply(Variable x) {
            Rsqrt n = new Rsqrt();
            n.y = x.data().rsqrt();
            return record(n, n.y, x);
        }
        // d/dx x^{-1/2} = -½ x^{-3/2} = -½ y³
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.mul(y.pow(3f)).mul(-0.5f)}; }
        @Override protected void release() { y = null; }
    }

    static final class Tanh extends Node {
        Tensor y;
        static Variable apply(Variable x) {
            Tanh n = new Tanh();
            n.y = x.data().tanh();
            return record(n, n.y, x);
        }
        // 1 - y²
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.mul(y.square().neg().add(1f))}; }
        @Override protected void release() { y = null; }
    }

    static final class Sigmoid extends Node {
        Tensor y;
        static Variable apply(Variable x) {
            Sigmoid n = new Sigmoid();
            n.y = x.data().sigmoid();
            return record(n, n.y, x);
        }
        // y(1 - y)
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.mul(y.mul(y.neg().add(1f)))}; }
        @Override protected void release() { y = null; }
    }

    /** Fused backward kernels want both operands dense. */
    private static Tensor dense(Tensor t) {
        return t.contiguous();
    }

    static final class Relu extends Node {
        Tensor x;
        static Variable apply(Variable x) {
            Relu n = new Relu();
            n.x = x.data();
            return record(n, x.data().relu(), x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor xc = dense(x), gc = dense(g);
            float[] dx = StepArena.floats(xc.numel());
            Kernels.reluBackward(xc.storage(), xc.offset(), gc.storage(), gc.offset(), dx, dx.length);
            return new Tensor[] {Tensor.wrap(dx, xc.shape())};
        }
        @Override protected void release() { x = null; }
    }

    static final class Gelu extends Node {
        Tensor x;
        static Variable apply(Variable x) {
            Gelu n = new Gelu();
            n.x = x.data();
            return record(n, x.data().gelu(), x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor xc = dense(x), gc = dense(g);
            float[] dx = StepArena.floats(xc.numel());
            Kernels.geluBackward(xc.storage(), xc.offset(), gc.storage(), gc.offset(), dx, dx.length);
            return new Tensor[] {Tensor.wrap(dx, xc.shape())};
        }
        @Override protected void release() { x = null; }
    }

    static final class GeluTanh extends Node {
        Tensor x;
        static Variable apply(Variable x) {
            GeluTanh n = new GeluTanh();
            n.x = x.data();
            return record(n, x.data().geluTanh(), x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor xc = dense(x), gc = dense(g);
            float[] dx = StepArena.floats(xc.numel());
            Kernels.geluTanhBackward(xc.storage(), xc.offset(), gc.storage(), gc.offset(), dx, dx.length);
            return new Tensor[] {Tensor.wrap(dx, xc.shape())};
        }
        @Override protected void release() { x = null; }
    }

    static final class Square extends Node {
        Tensor x;
        static Variable apply(Variable x) {
            Square n = new Square();
            n.x = x.data();
            return record(n, x.data().square(), x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.mul(x).mul(2f)}; }
        @Override protected void release() { x = null; }
    }

    static final class Pow extends Node {
        Tensor x;
        float p;
        static Variable apply(Variable x, float p) {
            Pow n = new Pow();
            n.x = x.data();
            n.p = p;
            return record(n, x.data().pow(p), x);
        }
        // p·x^(p-1); p = 0 gives 0 everywhere, as PyTorch
        @Override protected Tensor[] backward(Tensor g) {
            if (p == 0f) return new Tensor[] {Tensor.zeros(g.shape())};
            return new Tensor[] {g.mul(x.pow(p - 1f)).mul(p)};
        }
        @Override protected void release() { x = null; }
    }

    static final class AddScalar extends Node {
        static Variable apply(Variable x, float s) {
            return record(new AddScalar(), x.data().add(s), x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g}; }
    }

    static final class MulScalar extends Node {
        float s;
        static Variable apply(Variable x, float s) {
            MulScalar n = new MulScalar();
            n.s = s;
            return record(n, x.data().mul(s), x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.mul(s)}; }
    }

    static final class Clamp extends Node {
        Tensor x;
        float lo, hi;
        static Variable apply(Variable x, float lo, float hi) {
            Clamp n = new Clamp();
            n.x = x.data();
            n.lo = lo;
            n.hi = hi;
            return record(n, x.data().clamp(lo, hi), x);
        }
        // gradient passes where lo <= x <= hi (PyTorch's clamp backward)
        @Override protected Tensor[] backward(Tensor g) {
            Tensor pass = x.ge(Tensor.scalar(lo)).mul(x.le(Tensor.scalar(hi)));
            return new Tensor[] {g.mul(pass)};
        }
        @Override protected void release() { x = null; }
    }

    // ------------------------------------------------------------------ binary, broadcasting

    static final class Add extends Node {
        int[] aShape, bShape;
        static Variable apply(Variable a, Variable b) {
            Add n = new Add();
            n.aShape = a.shape();
            n.bShape = b.shape();
            return record(n, a.data().add(b.data()), a, b);
        }
        @Override protected Tensor[] backward(Tensor g) {
            return new Tensor[] {needsGrad(0) ? reduceTo(g, aShape) : null, needsGrad(1) ? reduceTo(g, bShape) : null};
        }
    }

    static final class Sub extends Node {
        int[] aShape, bShape;
        static Variable apply(Variable a, Variable b) {
            Sub n = new Sub();
            n.aShape = a.shape();
            n.bShape = b.shape();
            return record(n, a.data().sub(b.data()), a, b);
        }
        @Override protected Tensor[] backward(Tensor g) {
            return new Tensor[] {needsGrad(0) ? reduceTo(g, aShape) : null, needsGrad(1) ? reduceTo(g.neg(), bShape) : null};
        }
    }

    static final class Mul extends Node {
        Tensor a, b;
        static Variable apply(Variable a, Variable b) {
            Mul n = new Mul();
            n.a = a.data();
            n.b = b.data();
            return record(n, a.data().mul(b.data()), a, b);
        }
        @Override protected Tensor[] backward(Tensor g) {
            return new Tensor[] {needsGrad(0) ? reduceTo(g.mul(b), a.shape()) : null,
                                 needsGrad(1) ? reduceTo(g.mul(a), b.shape()) : null};
        }
        @Override protected void release() { a = b = null; }
    }

    static final class Div extends Node {
        Tensor a, b, y;
        static Variable apply(Variable a, Variable b) {
            Div n = new Div();
            n.a = a.data();
            n.b = b.data();
            n.y = a.data().div(b.data());
            return record(n, n.y, a, b);
        }
        // d/da = 1/b, d/db = -a/b² = -y/b
        @Override protected Tensor[] backward(Tensor g) {
            Tensor gb = g.div(b);
            return new Tensor[] {needsGrad(0) ? reduceTo(gb, a.shape()) : null,
                                 needsGrad(1) ? reduceTo(gb.mul(y).neg(), b.shape()) : null};
        }
        @Override protected void release() { a = b = y = null; }
    }

    /** maximum / minimum: the gradient goes to the larger (smaller) input, split in half on ties (as PyTorch). */
    static final class MaxMin extends Node {
        Tensor a, b;
        boolean max;
        static Variable apply(Variable a, Variable b, boolean max) {
            MaxMin n = new MaxMin();
            n.a = a.data();
            n.b = b.data();
            n.max = max;
            return record(n, max ? a.data().maximum(b.data()) : a.data().minimum(b.data()), a, b);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor win = max ? a.gt(b) : a.lt(b);
            Tensor tie = a.eq(b).mul(0.5f);
            Tensor wa = win.add(tie); // weight of a (broadcast shape)
            Tensor ga = needsGrad(0) ? reduceTo(g.mul(wa), a.shape()) : null;
            Tensor gb = needsGrad(1) ? reduceTo(g.mul(wa.neg().add(1f)), b.shape()) : null;
            return new Tensor[] {ga, gb};
        }
        @Override protected void release() { a = b = null; }
    }

    /** where(cond, a, b): the gradient flows to a where cond != 0 and to b elsewhere. */
    static final class Where extends Node {
        Tensor cond;
        int[] aShape, bShape;
        static Variable apply(Tensor cond, Variable a, Variable b) {
            Where n = new Where();
            n.cond = cond;
            n.aShape = a.shape();
            n.bShape = b.shape();
            return record(n, Tensor.where(cond, a.data(), b.data()), a, b);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor ga = needsGrad(0) ? reduceTo(Tensor.where(cond, g, ZERO), aShape) : null;
            Tensor gb = needsGrad(1) ? reduceTo(Tensor.where(cond, ZERO, g), bShape) : null;
            return new Tensor[] {ga, gb};
        }
        @Override protected void release() { cond = null; }
    }

    static final class MaskedFill extends Node {
        Tensor mask;
        static Variable apply(Variable x, Tensor mask, float value) {
            MaskedFill n = new MaskedFill();
            n.mask = mask;
            return record(n, x.data().maskedFill(mask, value), x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.maskedFill(mask, 0f)}; }
        @Override protected void release() { mask = null; }
    }
}
