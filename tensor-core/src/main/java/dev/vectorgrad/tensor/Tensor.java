package dev.vectorgrad.tensor;

import java.util.Arrays;

/**
 * A float32 n-dimensional array: a shape, and row-major storage addressed through an offset and strides.
 *
 * <p>{@link #reshape}, {@link #transpose}, {@link #permute}, {@link #narrow}, {@link #select},
 * {@link #expand}, {@link #unsqueeze} and {@link #squeeze} return views that share storage with this
 * tensor (an expanded axis has stride 0); {@link #contiguous()} copies only when the layout is not already
 * dense row-major. Operations never modify their inputs, except those whose name ends in {@code InPlace}
 * or starts with {@code set}/{@code fill}/{@code copyFrom}.
 *
 * <p>A tensor of rank 0 is a scalar and holds one element.
 */
public final class Tensor {
    final float[] data;
    final int offset;
    final int[] shape;
    final int[] strides;

    Tensor(float[] data, int offset, int[] shape, int[] strides) {
        this.data = data;
        this.offset = offset;
        this.shape = shape;
        this.strides = strides;
    }

    // ---------------------------------------------------------------- factories

    /** A new tensor of zeros. */
    public static Tensor zeros(int... shape) {
        int[] s = Shapes.checked("zeros", shape);
        return new Tensor(new float[Shapes.numel(s)], 0, s, Shapes.contiguousStrides(s));
    }

    /** A new tensor of ones. */
    public static Tensor ones(int... shape) {
        return full(1f, shape);
    }

    /** A new tensor with every element {@code value}. */
    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        Arrays.fill(t.data, value);
        return t;
    }

    /** A new tensor of the same shape as {@code like}, filled with zeros. */
    public static Tensor zerosLike(Tensor like) {
        return zeros(like.shape);
    }

    /** A rank-0 tensor holding {@code value}. */
    public static Tensor scalar(float value) {
        return new Tensor(new float[] {value}, 0, new int[0], new int[0]);
    }

    /** A new tensor holding a copy of {@code values} in row-major order. */
    public static Tensor of(float[] values, int... shape) {
        return wrap(values.clone(), shape);
    }

    /** A 1-D tensor holding a copy of {@code values}. */
    public static Tensor vector(float... values) {
        return wrap(values.clone(), values.length);
    }

    /** A 2-D tensor holding a copy of the rows (all of equal length). */
    public static Tensor matrix(float[][] rows) {
        int r = rows.length, c = r == 0 ? 0 : rows[0].length;
        float[] d = new float[r * c];
        for (int i = 0; i < r; i++) {
            if (rows[i].length != c)
                throw new IllegalArgumentException("matrix: row " + i + " has " + rows[i].length + " values, row 0 has " + c);
            System.arraycopy(rows[i], 0, d, i * c, c);
        }
        return wrap(d, r, c);
    }

    /** A tensor over {@code values} without copying: later writes to the array show in the tensor. */
    public static Tensor wrap(float[] values, int... shape) {
        int[] s = Shapes.checked("wrap", shape);
        if (Shapes.numel(s) != values.length)
            throw new IllegalArgumentException("wrap: shape " + Arrays.toString(s) + " holds " + Shapes.numel(s)
                    + " elements but the array has " + values.length);
        return new Tensor(values, 0, s, Shapes.contiguousStrides(s));
    }

    /** 0, 1, ..., n-1 as a 1-D tensor. */
    public static Tensor arange(int n) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = i;
        return wrap(d, n);
    }

    // ---------------------------------------------------------------- shape and storage

    /** The shape (a copy). */
    public int[] shape() {
        return shape.clone();
    }

    /** The strides in elements (a copy); 0 on an expanded axis. */
    public int[] strides() {
        return strides.clone();
    }

    /** Index of the first element in {@link #storage()}. */
    public int offset() {
        return offset;
    }

    /**
     * The backing array, shared with every view of it. For kernels and optimisers that work on raw storage:
     * element {@code (i0, i1, ...)} is at {@code offset() + Σ ik·strides()[k]}.
     */
    public float[] storage() {
        return data;
    }

    /** Number of axes. */
    public int rank() {
        return shape.length;
    }

    /** Same as {@link #rank()}, PyTorch's name. */
    public int dim() {
        return shape.length;
    }

    /** Size of {@code axis}; negative axes count from the end. */
    public int size(int axis) {
        return shape[Shapes.axis("size", axis, shape)];
    }

    /** Number of elements. */
    public int numel() {
        return Shapes.numel(shape);
    }

    /** True when the elements are dense in row-major order (offset may be non-zero). */
    public boolean isContiguous() {
        return Shapes.isContiguous(shape, strides);
    }

    /** True when the shape equals {@code other}'s. */
    public boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    /** This tensor if it is contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        return isContiguous() ? this : copy();
    }

    /** A new contiguous tensor with the same values. */
    public Tensor copy() {
        float[] d = new float[numel()];
        copyInto(d, 0);
        return new Tensor(d, 0, shape.clone(), Shapes.contiguousStrides(shape));
    }

    /** The values in row-major order, as a new array. */
    public float[] toArray() {
        float[] d = new float[numel()];
        copyInto(d, 0);
        return d;
    }

    /** Writes the values in row-major order into {@code dst} starting at {@code dstOff}. */
    void copyInto(float[] dst, int dstOff) {
        int n = numel();
        if (n == 0) return;
        if (isContiguous()) {
            System.arraycopy(data, offset, dst, dstOff, n);
            return;
        }
        int r = shape.length;
        int inner = shape[r - 1], innerStride = strides[r - 1];
        int[] idx = new int[r];
        int rows = n / inner;
        for (int row = 0; row < rows; row++) {
            int src = offset;
            for (int k = 0; k < r - 1; k++) src += idx[k] * strides[k];
            int o = dstOff + row * inner;
            if (innerStride == 1) {
                System.arraycopy(data, src, dst, o, inner);
            } else {
                for (int j = 0; j < inner; j++) dst[o + j] = data[src + j * innerStride];
            }
            for (int k = r - 2; k >= 0; k--) {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
    }

    /** Storage index of the element at {@code index}. */
    int indexOf(int... index) {
        if (index.length != shape.length)
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has " + index.length
                    + " coordinates but the tensor has shape " + Arrays.toString(shape));
        int p = offset;
        for (int k = 0; k < index.length; k++) {
            int i = index[k];
            if (i < 0) i += shape[k];
            if (i < 0 || i >= shape[k])
                throw new IllegalArgumentException("index " + Arrays.toString(index) + " is out of bounds for shape "
                        + Arrays.toString(shape) + " at axis " + k);
            p += i * strides[k];
        }
        return p;
    }

    /** The element at {@code index} (negative coordinates count from the end). */
    public float get(int... index) {
        return data[indexOf(index)];
    }

    /** Writes one element (visible in every view that shares this storage). */
    public void set(float value, int... index) {
        data[indexOf(index)] = value;
    }

    /** The only element of a one-element tensor. */
    public float item() {
        if (numel() != 1)
            throw new IllegalArgumentException("item: tensor of shape " + Arrays.toString(shape) + " has " + numel() + " elements, not 1");
        return data[offset];
    }

    // ---------------------------------------------------------------- in-place helpers

    /** Sets every element to {@code value}; returns this. */
    public Tensor fill(float value) {
        if (isContiguous()) {
            Arrays.fill(data, offset, offset + numel(), value);
        } else {
            Tensor c = copy();
            Arrays.fill(c.data, value);
            copyFrom(c);
        }
        return this;
    }

    /** Copies {@code src}'s values (same shape, or broadcastable to this shape) into this tensor; returns this. */
    public Tensor copyFrom(Tensor src) {
        Tensor s = src.sameShape(this) ? src : src.expand(shape);
        if (isContiguous()) {
            s.copyInto(data, offset);
            return this;
        }
        float[] vals = s.toArray();
        int n = vals.length;
        int r = shape.length;
        int[] idx = new int[r];
        for (int e = 0; e < n; e++) {
            int p = offset;
            for (int k = 0; k < r; k++) p += idx[k] * strides[k];
            data[p] = vals[e];
            for (int k = r - 1; k >= 0; k--) {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
        return this;
    }

    // ---------------------------------------------------------------- views

    /**
     * The same elements under a new shape (one entry may be -1 and is inferred). A view when the layout
     * allows it (always for contiguous tensors), otherwise a copy, as {@code torch.reshape}.
     */
    public Tensor reshape(int... newShape) {
        int[] s = Shapes.inferReshape(shape, newShape);
        if (isContiguous()) return new Tensor(data, offset, s, Shapes.contiguousStrides(s));
        int[] st = Shapes.viewStrides(shape, strides, s);
        if (st != null) return new Tensor(data, offset, s, st);
        Tensor c = copy();
        return new Tensor(c.data, 0, s, Shapes.contiguousStrides(s));
    }

    /** Same as {@link #reshape}, PyTorch's {@code view} (which never copies) is the common case. */
    public Tensor view(int... newShape) {
        int[] s = Shapes.inferReshape(shape, newShape);
        int[] st = isContiguous() ? Shapes.contiguousStrides(s) : Shapes.viewStrides(shape, strides, s);
        if (st == null)
            throw new IllegalArgumentException("view: shape " + Arrays.toString(shape) + " with strides " + Arrays.toString(strides)
                    + " cannot be viewed as " + Arrays.toString(s) + " without a copy; use reshape");
        return new Tensor(data, offset, s, st);
    }

    /** A 1-D view (or copy) of all elements. */
    public Tensor flatten() {
        return reshape(numel());
    }

    /** Swaps two axes (a view). */
    public Tensor transpose(int axis0, int axis1) {
        int a = Shapes.axis("transpose", axis0, shape), b = Shapes.axis("transpose", axis1, shape);
        int[] s = shape.clone(), st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return new Tensor(data, offset, s, st);
    }

    /** The transpose of a 2-D tensor (a view). */
    public Tensor t() {
        if (shape.length != 2)
            throw new IllegalArgumentException("t: expects a 2-D tensor, got shape " + Arrays.toString(shape));
        return transpose(0, 1);
    }

    /** Reorders the axes: result axis {@code i} is this tensor's axis {@code order[i]} (a view). */
    public Tensor permute(int... order) {
        if (order.length != shape.length)
            throw new IllegalArgumentException("permute: order " + Arrays.toString(order) + " does not match shape " + Arrays.toString(shape));
        int[] s = new int[order.length], st = new int[order.length];
        boolean[] used = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            int a = Shapes.axis("permute", order[i], shape);
            if (used[a])
                throw new IllegalArgumentException("permute: axis " + a + " repeated in " + Arrays.toString(order));
            used[a] = true;
            s[i] = shape[a];
            st[i] = strides[a];
        }
        return new Tensor(data, offset, s, st);
    }

    /** Elements {@code [start, start + length)} along {@code axis} (a view), as {@code torch.narrow}. */
    public Tensor narrow(int axis, int start, int length) {
        int a = Shapes.axis("narrow", axis, shape);
        if (start < 0 || length < 0 || start + length > shape[a])
            throw new IllegalArgumentException("narrow: [" + start + ", " + (start + length) + ") is outside axis " + a
                    + " of size " + shape[a] + " (shape " + Arrays.toString(shape) + ")");
        int[] s = shape.clone();
        s[a] = length;
        return new Tensor(data, offset + (length == 0 ? 0 : start * strides[a]), s, strides.clone());
    }

    /** Elements {@code [start, end)} along {@code axis} (a view); negative bounds count from the end. */
    public Tensor slice(int axis, int start, int end) {
        int a = Shapes.axis("slice", axis, shape);
        int n = shape[a];
        int s0 = start < 0 ? start + n : start, e0 = end < 0 ? end + n : end;
        if (s0 < 0 || e0 > n || s0 > e0)
            throw new IllegalArgumentException("slice: [" + start + ", " + end + ") is not a range of axis " + a
                    + " of size " + n + " (shape " + Arrays.toString(shape) + ")");
        return narrow(a, s0, e0 - s0);
    }

    /** The sub-tensor at {@code index} along {@code axis}, with that axis removed (a view). */
    public Tensor select(int axis, int index) {
        int a = Shapes.axis("select", axis, shape);
        int i = index < 0 ? index + shape[a] : index;
        if (i < 0 || i >= shape[a])
            throw new IllegalArgumentException("select: index " + index + " is out of bounds for axis " + a
                    + " of size " + shape[a] + " (shape " + Arrays.toString(shape) + ")");
        int[] s = new int[shape.length - 1], st = new int[shape.length - 1];
        for (int k = 0, j = 0; k < shape.length; k++) {
            if (k == a) continue;
            s[j] = shape[k];
            st[j++] = strides[k];
        }
        return new Tensor(data, offset + i * strides[a], s, st);
    }

    /**
     * Broadcasts to {@code newShape} (NumPy rules: new leading axes, and axes of size 1 stretched) without
     * copying: stretched axes get stride 0. A -1 keeps the existing size.
     */
    public Tensor expand(int... newShape) {
        int r = newShape.length;
        if (r < shape.length)
            throw new IllegalArgumentException("expand: cannot expand shape " + Arrays.toString(shape) + " to fewer axes " + Arrays.toString(newShape));
        int[] s = new int[r], st = new int[r];
        for (int i = 0; i < r; i++) {
            int j = i - (r - shape.length);
            int want = newShape[i];
            if (j < 0) {
                if (want < 0)
                    throw new IllegalArgumentException("expand: -1 not allowed for a new leading axis in " + Arrays.toString(newShape));
                s[i] = want;
                st[i] = 0;
            } else if (want == -1 || want == shape[j]) {
                s[i] = shape[j];
                st[i] = strides[j];
            } else if (shape[j] == 1 && want >= 0) {
                s[i] = want;
                st[i] = 0;
            } else {
                throw new IllegalArgumentException("expand: shape " + Arrays.toString(shape) + " cannot be broadcast to "
                        + Arrays.toString(newShape) + " (axis " + i + ")");
            }
        }
        return new Tensor(data, offset, s, st);
    }

    /** Inserts an axis of size 1 at {@code axis} (a view); {@code axis} may be {@code rank()}. */
    public Tensor unsqueeze(int axis) {
        int r = shape.length + 1;
        int a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r)
            throw new IllegalArgumentException("unsqueeze: axis " + axis + " out of range for shape " + Arrays.toString(shape));
        int[] s = new int[r], st = new int[r];
        for (int i = 0, j = 0; i < r; i++) {
            if (i == a) {
                s[i] = 1;
                st[i] = j < shape.length ? strides[j] * shape[j] : 1;
            } else {
                s[i] = shape[j];
                st[i] = strides[j++];
            }
        }
        return new Tensor(data, offset, s, st);
    }

    /** Removes axis {@code axis}, which must have size 1 (a view). */
    public Tensor squeeze(int axis) {
        int a = Shapes.axis("squeeze", axis, shape);
        if (shape[a] != 1)
            throw new IllegalArgumentException("squeeze: axis " + a + " has size " + shape[a] + ", not 1 (shape " + Arrays.toString(shape) + ")");
        return select(a, 0);
    }

    // ---------------------------------------------------------------- element-wise unary ops

    /** -x. */
    public Tensor neg() { return Unary.apply(this, Unary.NEG, 0, 0); }

    /** |x|. */
    public Tensor abs() { return Unary.apply(this, Unary.ABS, 0, 0); }

    /** e^x (vectorised polynomial, about 1 ulp). */
    public Tensor exp() { return Unary.apply(this, Unary.EXP, 0, 0); }

    /** Natural logarithm (about 1 ulp; log 0 = -inf, log of a negative number = NaN). */
    public Tensor log() { return Unary.apply(this, Unary.LOG, 0, 0); }

    /** √x. */
    public Tensor sqrt() { return Unary.apply(this, Unary.SQRT, 0, 0); }

    /** 1/√x. */
    public Tensor rsqrt() { return Unary.apply(this, Unary.RSQRT, 0, 0); }

    /** tanh x. */
    public Tensor tanh() { return Unary.apply(this, Unary.TANH, 0, 0); }

    /** 1/(1 + e^-x). */
    public Tensor sigmoid() { return Unary.apply(this, Unary.SIGMOID, 0, 0); }

    /** max(x, 0) (NaN stays NaN). */
    public Tensor relu() { return Unary.apply(this, Unary.RELU, 0, 0); }

    /** Exact GELU, x·Φ(x) (PyTorch's default {@code approximate='none'}); absolute error about 1e-7. */
    public Tensor gelu() { return Unary.apply(this, Unary.GELU, 0, 0); }

    /** Tanh-approximated GELU, 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), PyTorch's {@code approximate='tanh'}. */
    public Tensor geluTanh() { return Unary.apply(this, Unary.GELU_TANH, 0, 0); }

    /** erf x (absolute error about 1e-7). */
    public Tensor erf() { return Unary.apply(this, Unary.ERF, 0, 0); }

    /** x². */
    public Tensor square() { return Unary.apply(this, Unary.SQUARE, 0, 0); }

    /** x^p (exact vector ops for p in {0, ±1, 2, 3, ±0.5}, {@code Math.pow} otherwise). */
    public Tensor pow(float p) { return Unary.pow(this, p); }

    /** x + s. */
    public Tensor add(float s) { return Unary.apply(this, Unary.ADD_S, s, 0); }

    /** x·s. */
    public Tensor mul(float s) { return Unary.apply(this, Unary.MUL_S, s, 0); }

    /** min(max(x, lo), hi), as {@code torch.clamp} (NaN stays NaN). */
    public Tensor clamp(float lo, float hi) { return Unary.apply(this, Unary.CLAMP, lo, hi); }

    // ---------------------------------------------------------------- element-wise binary ops (broadcasting)

    /** this + other, NumPy broadcasting. */
    public Tensor add(Tensor other) { return Binary.apply("add", Binary.ADD, this, other); }

    /** this - other, NumPy broadcasting. */
    public Tensor sub(Tensor other) { return Binary.apply("sub", Binary.SUB, this, other); }

    /** this · other, NumPy broadcasting. */
    public Tensor mul(Tensor other) { return Binary.apply("mul", Binary.MUL, this, other); }

    /** this / other, NumPy broadcasting. */
    public Tensor div(Tensor other) { return Binary.apply("div", Binary.DIV, this, other); }

    /** Element-wise maximum (NaN propagates), NumPy broadcasting. */
    public Tensor maximum(Tensor other) { return Binary.apply("maximum", Binary.MAX, this, other); }

    /** Element-wise minimum (NaN propagates), NumPy broadcasting. */
    public Tensor minimum(Tensor other) { return Binary.apply("minimum", Binary.MIN, this, other); }

    /** 1 where this == other, else 0. */
    public Tensor eq(Tensor other) { return Binary.apply("eq", Binary.EQ, this, other); }

    /** 1 where this != other (NaN != NaN), else 0. */
    public Tensor ne(Tensor other) { return Binary.apply("ne", Binary.NE, this, other); }

    /** 1 where this &lt; other, else 0. */
    public Tensor lt(Tensor other) { return Binary.apply("lt", Binary.LT, this, other); }

    /** 1 where this &lt;= other, else 0. */
    public Tensor le(Tensor other) { return Binary.apply("le", Binary.LE, this, other); }

    /** 1 where this &gt; other, else 0. */
    public Tensor gt(Tensor other) { return Binary.apply("gt", Binary.GT, this, other); }

    /** 1 where this &gt;= other, else 0. */
    public Tensor ge(Tensor other) { return Binary.apply("ge", Binary.GE, this, other); }

    /** {@code cond != 0 ? a : b} element-wise, all three broadcast together. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) { return Binary.where(cond, a, b); }

    /** This tensor with {@code value} wherever {@code mask != 0}; the mask must broadcast to this shape. */
    public Tensor maskedFill(Tensor mask, float value) {
        int[] s = Shapes.broadcast("maskedFill", shape, mask.shape);
        if (!Arrays.equals(s, shape))
            throw new IllegalArgumentException("maskedFill: mask of shape " + Arrays.toString(mask.shape) + " does not broadcast to the tensor's shape "
                    + Arrays.toString(shape));
        return Binary.where(mask, scalar(value), this);
    }

    // ---------------------------------------------------------------- in-place helpers (optimisers, autograd)

    /** this += other (other broadcastable to this shape); returns this. */
    public Tensor addInPlace(Tensor other) {
        int[] s = Shapes.broadcast("addInPlace", shape, other.shape);
        if (!Arrays.equals(s, shape))
            throw new IllegalArgumentException("addInPlace: shape " + Arrays.toString(other.shape) + " does not broadcast to the tensor's shape "
                    + Arrays.toString(shape));
        Tensor o = Binary.at(other, shape);
        if (!isContiguous()) return copyFrom(add(o));
        if (o.data == data && !(o.offset == offset && Arrays.equals(o.strides, strides))) o = o.copy(); // overlapping view
        Binary.into(Binary.ADD, this, o, data, offset, shape);
        return this;
    }

    /** this ·= s; returns this. */
    public Tensor mulInPlace(float s) {
        if (!isContiguous()) return copyFrom(mul(s));
        Unary.run(Unary.MUL_S, data, offset, data, offset, numel(), s, 0);
        return this;
    }

    /** this += alpha·x (same shape); returns this. */
    public Tensor addScaledInPlace(float alpha, Tensor x) {
        if (!sameShape(x))
            throw new IllegalArgumentException("addScaledInPlace: shapes " + Arrays.toString(shape) + " and " + Arrays.toString(x.shape) + " differ");
        if (!isContiguous()) return copyFrom(add(x.mul(alpha)));
        Tensor o = x.isContiguous() && (x.data != data || x.offset == offset) ? x : x.copy();
        Axpy.run(alpha, o.data, o.offset, data, offset, numel());
        return this;
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of all elements (rank 0; double accumulation across blocks). */
    public Tensor sum() { return Reduce.sumAll(this, false); }

    /** Sum along {@code axis}; {@code keepDim} keeps it with size 1. */
    public Tensor sum(int axis, boolean keepDim) { return Reduce.axis("sum", Reduce.SUM, this, axis, keepDim); }

    /** Mean of all elements (rank 0). */
    public Tensor mean() { return Reduce.sumAll(this, true); }

    /** Mean along {@code axis}. */
    public Tensor mean(int axis, boolean keepDim) { return Reduce.axis("mean", Reduce.MEAN, this, axis, keepDim); }

    /** Maximum along {@code axis} (NaN propagates). */
    public Tensor max(int axis, boolean keepDim) { return Reduce.axis("max", Reduce.MAX, this, axis, keepDim); }

    /** Minimum along {@code axis} (NaN propagates). */
    public Tensor min(int axis, boolean keepDim) { return Reduce.axis("min", Reduce.MIN, this, axis, keepDim); }

    /** Index of the first maximum along {@code axis} (a NaN counts as the maximum). */
    public IntTensor argmax(int axis, boolean keepDim) { return Reduce.argmax(this, axis, keepDim); }

    /** Variance along {@code axis}: Σ(x - mean)² / (n - correction), as {@code torch.var}. */
    public Tensor var(int axis, boolean keepDim, int correction) { return Reduce.var(this, axis, keepDim, correction); }

    /** Unbiased variance (correction 1) along {@code axis}. */
    public Tensor var(int axis, boolean keepDim) { return Reduce.var(this, axis, keepDim, 1); }

    /**
     * Sums this tensor down to {@code shape}, a shape that broadcasts to this one: leading axes are summed
     * away, size-1 axes summed with keepDim (the gradient of a broadcasting op). Always a new tensor.
     */
    public Tensor sumToShape(int... shape) { return Reduce.sumToShape(this, shape); }

    // ---------------------------------------------------------------- normalisation

    /** Softmax along {@code axis} (numerically stable). */
    public Tensor softmax(int axis) { return Softmax.apply(this, axis, false); }

    /** Log-softmax along {@code axis} (numerically stable). */
    public Tensor logSoftmax(int axis) { return Softmax.apply(this, axis, true); }

    /**
     * Layer norm over the last axis (biased variance, as PyTorch); {@code weight} and {@code bias} are 1-D of
     * the last axis' size, or null. {@link LayerNormKernel#forward} also returns per-row mean and rstd.
     */
    public Tensor layerNorm(Tensor weight, Tensor bias, float eps) {
        return LayerNormKernel.forward(this, weight, bias, eps, null, null);
    }

    // ---------------------------------------------------------------- gather, join, split

    /**
     * Matrix product with {@code torch.matmul} semantics: 1-D·1-D dot, 2-D·2-D, a 1-D operand promoted to a
     * matrix, and broadcast batch axes for 3-D/4-D. Transposed views are handed to the SGEMM kernel as
     * transpose flags, not copied.
     */
    public Tensor matmul(Tensor other) { return BroadcastMatmul.matmul(this, other); }

    /** Rows of {@code table} ([vocab, dim]) at {@code ids}: shape ids.shape + [dim]. */
    public static Tensor embedding(Tensor table, IntTensor ids) { return Gather.embedding(table, ids); }

    /** Concatenation along {@code axis}; all other sizes must match. */
    public static Tensor concat(int axis, Tensor... ts) { return Join.concat(axis, ts); }

    /** Stacks equal-shaped tensors along a new axis {@code axis} (0..rank). */
    public static Tensor stack(int axis, Tensor... ts) { return Join.stack(axis, ts); }

    /** Views of consecutive pieces of the given sizes along {@code axis} (they must add up to its size). */
    public Tensor[] split(int axis, int... sizes) { return Join.split(this, axis, sizes); }

    /** Views of pieces of {@code chunkSize} along {@code axis} (the last may be smaller), as {@code torch.split}. */
    public Tensor[] split(int axis, int chunkSize) { return Join.splitChunks(this, axis, chunkSize); }

    // ---------------------------------------------------------------- object methods

    /** True when {@code other} has the same shape and bit-identical values (NaNs equal to NaNs). */
    public boolean contentEquals(Tensor other) {
        if (!sameShape(other)) return false;
        float[] a = toArray(), b = other.toArray();
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToIntBits(a[i]) != Float.floatToIntBits(b[i])) return false;
        }
        return true;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(Arrays.toString(shape)).append(' ');
        int n = numel();
        if (n <= 64) {
            format(sb, 0, offset);
        } else {
            float[] v = toArray();
            sb.append("[").append(v[0]).append(", ").append(v[1]).append(", ..., ").append(v[n - 1]).append("]");
        }
        return sb.toString();
    }

    private void format(StringBuilder sb, int axis, int p) {
        if (axis == shape.length) {
            sb.append(data[p]);
            return;
        }
        sb.append('[');
        for (int i = 0; i < shape[axis]; i++) {
            if (i > 0) sb.append(", ");
            format(sb, axis + 1, p + i * strides[axis]);
        }
        sb.append(']');
    }
}
