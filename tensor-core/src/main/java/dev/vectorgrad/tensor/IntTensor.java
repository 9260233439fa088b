package dev.vectorgrad.tensor;

import java.util.Arrays;

/** A dense row-major tensor of ints: token ids, targets, argmax results. Always contiguous. */
public final class IntTensor {
    private final int[] data;
    private final int[] shape;

    private IntTensor(int[] data, int[] shape) {
        this.data = data;
        this.shape = shape;
    }

    /** Wraps {@code values} without copying. */
    public static IntTensor wrap(int[] values, int... shape) {
        int[] s = Shapes.checked("IntTensor.wrap", shape);
        if (Shapes.numel(s) != values.length)
            throw new IllegalArgumentException("IntTensor.wrap: shape " + Arrays.toString(s) + " holds " + Shapes.numel(s)
                    + " elements but the array has " + values.length);
        return new IntTensor(values, s);
    }

    /** A copy of {@code values} under {@code shape}. */
    public static IntTensor of(int[] values, int... shape) {
        return wrap(values.clone(), shape);
    }

    /** A new tensor of zeros. */
    public static IntTensor zeros(int... shape) {
        int[] s = Shapes.checked("IntTensor.zeros", shape);
        return new IntTensor(new int[Shapes.numel(s)], s);
    }

    /** The shape (a copy). */
    public int[] shape() {
        return shape.clone();
    }

    /** Number of axes. */
    public int rank() {
        return shape.length;
    }

    /** Size of {@code axis}; negative axes count from the end. */
    public int size(int axis) {
        return shape[Shapes.axis("IntTensor.size", axis, shape)];
    }

    /** Number of elements. */
    public int numel() {
        return data.length;
    }

    /** The backing array (row-major, shared). */
    public int[] storage() {
        return data;
    }

    /** The element at a row-major {@code index}. */
    public int get(int... index) {
        if (index.length != shape.length)
            throw new IllegalArgumentException("IntTensor.get: index " + Arrays.toString(index) + " for shape " + Arrays.toString(shape));
        int p = 0;
        for (int k = 0; k < index.length; k++) {
            if (index[k] < 0 || index[k] >= shape[k])
                throw new IllegalArgumentException("IntTensor.get: index " + Arrays.toString(index) + " out of bounds for shape " + Arrays.toString(shape));
            p = p * shape[k] + index[k];
        }
        return data[p];
    }

    /** The same ints under another shape (shares storage). */
    public IntTensor reshape(int... newShape) {
        return new IntTensor(data, Shapes.inferReshape(shape, newShape));
    }

    /** The values as floats. */
    public Tensor toFloat() {
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) f[i] = data[i];
        return Tensor.wrap(f, shape);
    }

    @Override
    public String toString() {
        return "IntTensor" + Arrays.toString(shape) + " " + (data.length <= 64 ? Arrays.toString(data) : "[" + data[0] + ", ..., " + data[data.length - 1] + "]");
    }
}
