package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * A differentiable tensor: a tensor-core {@link Tensor} plus what reverse-mode autodiff needs — whether it
 * requires a gradient, its accumulated {@link #grad()}, and the {@link Node} that produced it (null for a
 * leaf). As PyTorch's pre-0.4 {@code Variable} wrapped a {@code Tensor}.
 *
 * <p>Operations record a node when grad mode is on ({@link Grad}) and any input requires grad; the result
 * then requires grad too. {@link #backward()} accumulates gradients into the {@code .grad} of every leaf that
 * requires grad (adding to what is there, until {@link #zeroGrad()}), then frees the graph unless asked to
 * retain it. Variables are never modified in place by operations, so a view's data may be shared safely.
 */
public final class Variable {
    private final Tensor data;
    private boolean requiresGrad;
    Tensor grad;
    private Node gradFn;
    private AccumulateGrad accumulator;
    private boolean retainsGrad;
    private String name;

    /** A leaf that does not require grad (an input, a constant). */
    public Variable(Tensor data) {
        this(data, false);
    }

    /** A leaf; {@code requiresGrad} makes it a trainable parameter whose {@code .grad} backward fills. */
    public Variable(Tensor data, boolean requiresGrad) {
        if (data == null) throw new NullPointerException("Variable: data is null");
        this.data = data;
        this.requiresGrad = requiresGrad;
    }

    static Variable produced(Tensor data, Node fn) {
        Variable v = new Variable(data, true);
        v.gradFn = fn;
        return v;
    }

    /** A leaf without grad over {@code data}. */
    public static Variable of(Tensor data) {
        return new Variable(data, false);
    }

    /** A leaf that requires grad (a parameter) over {@code data}. */
    public static Variable param(Tensor data) {
        return new Variable(data, true);
    }

    /** A rank-0 leaf without grad. */
    public static Variable scalar(float value) {
        return new Variable(Tensor.scalar(value));
    }

    // ------------------------------------------------------------------ autograd state

    /** The values (shared, not a copy). */
    public Tensor data() {
        return data;
    }

    /** The accumulated gradient, or null when none has reached it yet (or after {@link #zeroGrad()}). */
    public Tensor grad() {
        return grad;
    }

    /** Replaces the gradient (null clears it); a non-null value is copied into a contiguous tensor of this shape. */
    public void setGrad(Tensor g) {
        if (g != null && !g.sameShape(data))
            throw new IllegalArgumentException("setGrad: gradient shape " + Arrays.toString(g.shape()) + " differs from "
                    + Arrays.toString(data.shape()));
        grad = g == null ? null : g.copy();
    }

    /** Clears the gradient (PyTorch's {@code set_to_none=True}). */
    public void zeroGrad() {
        grad = null;
    }

    /** The node that produced this variable, or null for a leaf. */
    public Node gradFn() {
        return gradFn;
    }

    /** True for variables not produced by a recorded op (inputs, parameters, detached results). */
    public boolean isLeaf() {
        return gradFn == null;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Sets whether this leaf requires grad (freezing / unfreezing a parameter); returns this. */
    public Variable requiresGrad(boolean on) {
        if (gradFn != null)
            throw new IllegalStateException("requiresGrad: can only be changed on a leaf; use detach() on a computed variable");
        requiresGrad = on;
        return this;
    }

    /** Asks a non-leaf variable to keep its gradient in {@link #grad()} during backward; returns this. */
    public Variable retainGrad() {
        if (gradFn == null) return this;
        retainsGrad = true;
        gradFn.retained = this;
        return this;
    }

    void accumulateGrad(Tensor g) {
        if (grad == null) grad = g.copy();
        else grad.addInPlace(g);
    }

    /** A leaf sharing this variable's data that does not require grad (cuts the graph). */
    public Variable detach() {
        return new Variable(data, false);
    }

    /** The edge that the consumers of this variable point at: its node, or its leaf accumulator. */
    Node gradEdge() {
        if (gradFn != null) return gradFn;
        if (accumulator == null) accumulator = new AccumulateGrad(this);
        return accumulator;
    }

    /** Backward from a one-element output (the gradient of the output is 1). */
    public void backward() {
        Engine.backward(this, null, false);
    }

    /** Backward with the given gradient of this output (same shape). */
    public void backward(Tensor gradOutput) {
        Engine.backward(this, gradOutput, false);
    }

    /** Backward; with {@code retainGraph} the saved tensors are kept so that backward can run again. */
    public void backward(Tensor gradOutput, boolean retainGraph) {
        Engine.backward(this, gradOutput, retainGraph);
    }

    /** A name for printing (optional). */
    public Variable name(String n) {
        this.name = n;
        return this;
    }

    public String name() {
        return name;
    }

    // ------------------------------------------------------------------ shape

    public int[] shape() { return data.shape(); }
    public int size(int axis) { return data.size(axis); }
    public int rank() { return data.rank(); }
    public int dim() { return data.rank(); }
    public int numel() { return data.numel(); }
    /** The only element of a one-element variable. */
    public float item() { return data.item(); }

    @Override
    public String toString() {
        return "Variable" + (name == null ? "" : " " + name) + Arrays.toString(data.shape())
                + (gradFn != null ? " grad_fn=" + gradFn.name() : requiresGrad ? " requires_grad" : "")
                + (data.numel() <= 8 ? " " + Arrays.toString(data.toArray()) : "");
    }

    // ------------------------------------------------------------------ unary

    public Variable neg() { return Elementwise.Neg.apply(this); }
    public Variable abs() { return Elementwise.Abs.apply(this); }
    public Variable exp() { return Elementwise.Exp.apply(this); }
    public Variable log() { return Elementwise.Log.apply(this); }
    public Variable sqrt() { return Elementwise.Sqrt.apply(this); }
    public Variable rsqrt() { return Elementwise.Rsqrt.apply(this); }
    public Variable tanh() { return Elementwise.Tanh.apply(this); }
    public Variable sigmoid() { return Elementwise.Sigmoid.apply(this); }
    public Variable relu() { return Elementwise.Relu.apply(this); }
    /** Exact GELU (PyTorch's default). */
    public Variable gelu() { return Elementwise.Gelu.apply(this); }
    /** Tanh-approximated GELU ({@code approximate='tanh'}). */
    public Variable geluTanh() { return Elementwise.GeluTanh.apply(this); }
    public Variable square() { return Elementwise.Square.apply(this); }
    public Variable pow(float p) { return Elementwise.Pow.apply(this, p); }
    public Variable add(float s) { return Elementwise.AddScalar.apply(this, s); }
    public Variable sub(float s) { return Elementwise.AddScalar.apply(this, -s); }
    public Variable mul(float s) { return Elementwise.MulScalar.apply(this, s); }
    public Variable div(float s) { return Elementwise.MulScalar.apply(this, 1f / s); }
    public Variable clamp(float lo, float hi) { return Elementwise.Clamp.apply(this, lo, hi); }

    // ------------------------------------------------------------------ binary (broadcasting)

    public Variable add(Variable o) { return Elementwise.Add.apply(this, o); }
    public Variable sub(Variable o) { return Elementwise.Sub.apply(this, o); }
    public Variable mul(Variable o) { return Elementwise.Mul.apply(this, o); }
    public Variable div(Variable o) { return Elementwise.Div.apply(this, o); }
    public Variable maximum(Variable o) { return Elementwise.MaxMin.apply(this, o, true); }
    public Variable minimum(Variable o) { return Elementwise.MaxMin.apply(this, o, false); }
    public Variable add(Tensor o) { return add(of(o)); }
    public Variable sub(Tensor o) { return sub(of(o)); }
    public Variable mul(Tensor o) { return mul(of(o)); }
    public Variable div(Tensor o) { return div(of(o)); }

    /** Comparisons are not differentiable: 0/1 results that do not require grad. */
    public Variable eq(Variable o) { return of(data.eq(o.data)); }
    public Variable ne(Variable o) { return of(data.ne(o.data)); }
    public Variable lt(Variable o) { return of(data.lt(o.data)); }
    public Variable le(Variable o) { return of(data.le(o.data)); }
    public Variable gt(Variable o) { return of(data.gt(o.data)); }
    public Variable ge(Variable o) { return of(data.ge(o.data)); }

    /** {@code cond != 0 ? a : b}, broadcasting; the gradient flows to the selected side. */
    public static Variable where(Tensor cond, Variable a, Variable b) { return Elementwise.Where.apply(cond, a, b); }
    /** This with {@code value} wherever {@code mask != 0} (no gradient flows there). */
    public Variable maskedFill(Tensor mask, float value) { return Elementwise.MaskedFill.apply(this, mask, value); }

    // ------------------------------------------------------------------ reductions

    public Variable sum() { return Reductions.SumAll.apply(this, false); }
    public Variable mean() { return Reductions.SumAll.apply(this, true); }
    public Variable sum(int axis, boolean keepDim) { return Reductions.SumAxis.apply(this, axis, keepDim, false); }
    public Variable mean(int axis, boolean keepDim) { return Reductions.SumAxis.apply(this, axis, keepDim, true); }
    public Variable max(int axis, boolean keepDim) { return Reductions.MaxAxis.apply(this, axis, keepDim, true); }
    public Variable min(int axis, boolean keepDim) { return Reductions.MaxAxis.apply(this, axis, keepDim, false); }
    public IntTensor argmax(int axis, boolean keepDim) { return data.argmax(axis, keepDim); }
    public Variable var(int axis, boolean keepDim, int correction) { return Reductions.Var.apply(this, axis, keepDim, correction); }
    public Variable var(int axis, boolean keepDim) { return var(axis, keepDim, 1); }

    // ------------------------------------------------------------------ normalisation, products

    public Variable softmax(int axis) { return Norms.Softmax.apply(this, axis); }
    public Variable logSoftmax(int axis) { return Norms.LogSoftmax.apply(this, axis); }
    /** Layer norm over the last axis; weight/bias may be null. */
    public Variable layerNorm(Variable weight, Variable bias, float eps) { return Norms.LayerNorm.apply(this, weight, bias, eps); }
    /** {@code torch.matmul}: 1-D, 2-D and batched (broadcast batch axes); transposed views are not copied. */
    public Variable matmul(Variable o) { return MatrixProducts.matmul(this, o); }

    // ------------------------------------------------------------------ views and joins

    public Variable reshape(int... shape) { return Views.Reshape.apply(this, shape); }
    public Variable view(int... shape) { return Views.Reshape.apply(this, shape); }
    public Variable flatten() { return reshape(numel()); }
    public Variable transpose(int a, int b) { return Views.Transpose.apply(this, a, b); }
    public Variable t() {
        if (rank() != 2) throw new IllegalArgumentException("t: expects a 2-D variable, got shape " + Arrays.toString(shape()));
        return transpose(0, 1);
    }
    public Variable permute(int... order) { return Views.Permute.apply(this, order); }
    public Variable narrow(int axis, int start, int length) { return Views.Narrow.apply(this, axis, start, length); }
    /** [start, end) along axis; negative bounds count from the end. */
    public Variable slice(int axis, int start, int end) {
        int a = dev.vectorgrad.tensor.Shapes.axis("slice", axis, shape());
        int n = shape()[a];
        int s = start < 0 ? start + n : start, e = end < 0 ? end + n : end;
        data.slice(axis, start, end); // validates
        return narrow(a, s, e - s);
    }
    public Variable select(int axis, int index) { return Views.Select.apply(this, axis, index); }
    public Variable expand(int... shape) { return Views.Expand.apply(this, shape); }
    public Variable unsqueeze(int axis) { return reshape(data.unsqueeze(axis).shape()); }
    public Variable squeeze(int axis) { return reshape(data.squeeze(axis).shape()); }
    /** A dense copy when the layout is not already dense (gradient passes through). */
    public Variable contiguous() { return data.isContiguous() ? this : Views.Contiguous.apply(this); }

    /** Pieces of the given sizes along {@code axis} (views). */
    public Variable[] split(int axis, int... sizes) {
        int a = dev.vectorgrad.tensor.Shapes.axis("split", axis, shape());
        int total = 0;
        for (int s : sizes) total += s;
        if (total != shape()[a])
            throw new IllegalArgumentException("split: sizes " + Arrays.toString(sizes) + " add up to " + total + ", not axis " + a
                    + " of size " + shape()[a]);
        Variable[] out = new Variable[sizes.length];
        int off = 0;
        for (int i = 0; i < sizes.length; i++) {
            out[i] = narrow(a, off, sizes[i]);
            off += sizes[i];
        }
        return out;
    }

    /** Pieces of {@code chunk} along {@code axis}, the last may be smaller (as {@code torch.split}). */
    public Variable[] split(int axis, int chunk) {
        int a = dev.vectorgrad.tensor.Shapes.axis("split", axis, shape());
        int n = shape()[a];
        if (chunk <= 0) throw new IllegalArgumentException("split: chunk size must be positive, got " + chunk);
        int pieces = Math.max(1, (n + chunk - 1) / chunk);
        int[] sizes = new int[pieces];
        for (int i = 0; i < pieces; i++) sizes[i] = Math.min(chunk, n - i * chunk);
        return split(a, sizes);
    }

    public static Variable concat(int axis, Variable... xs) { return Views.Concat.apply(axis, xs); }

    public static Variable stack(int axis, Variable... xs) {
        Variable[] u = new Variable[xs.length];
        for (int i = 0; i < xs.length; i++) u[i] = xs[i].unsqueeze(axis);
        return concat(axis, u);
    }
}
