package dev.vectorgrad.tensor;

import java.util.Arrays;

/** Shape arithmetic shared by the tensor and its kernels: strides, axes, reshape and broadcasting rules. */
public final class Shapes {
    private Shapes() {}

    /** A defensive copy of {@code shape} after checking that no size is negative. */
    static int[] checked(String op, int[] shape) {
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException(op + ": negative size in shape " + Arrays.toString(shape));
        }
        numel(shape); // overflow check
        return shape.clone();
    }

    /** Product of the sizes; fails on int overflow. */
    public static int numel(int[] shape) {
        long n = 1;
        for (int s : shape) {
            n *= s;
            if (n > Integer.MAX_VALUE)
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
        }
        return (int) n;
    }

    /** Row-major strides for {@code shape}. */
    public static int[] contiguousStrides(int[] shape) {
        int[] st = new int[shape.length];
        int s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return st;
    }

    /** True when {@code strides} lay {@code shape} out densely in row-major order (size-1 axes ignored). */
    public static boolean isContiguous(int[] shape, int[] strides) {
        int expect = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 1) continue;
            if (shape[i] == 0) return true;
            if (strides[i] != expect) return false;
            expect *= shape[i];
        }
        return true;
    }

    /** Normalises a possibly negative axis, or throws naming {@code op} and the shape. */
    public static int axis(String op, int axis, int[] shape) {
        int a = axis < 0 ? axis + shape.length : axis;
        if (a < 0 || a >= shape.length)
            throw new IllegalArgumentException(op + ": axis " + axis + " is out of range for shape " + Arrays.toString(shape));
        return a;
    }

    /** Resolves a -1 in {@code target} and checks the element count against {@code shape}. */
    static int[] inferReshape(int[] shape, int[] target) {
        int n = numel(shape);
        int[] s = target.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0)
                    throw new IllegalArgumentException("reshape: more than one -1 in " + Arrays.toString(target));
                infer = i;
            } else if (s[i] < 0) {
                throw new IllegalArgumentException("reshape: negative size in " + Arrays.toString(target));
            } else {
                known *= s[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || n % known != 0)
                throw new IllegalArgumentException("reshape: cannot reshape " + Arrays.toString(shape) + " (" + n
                        + " elements) to " + Arrays.toString(target));
            s[infer] = (int) (n / known);
            known *= s[infer];
        }
        if (known != n)
            throw new IllegalArgumentException("reshape: cannot reshape " + Arrays.toString(shape) + " (" + n
                    + " elements) to " + Arrays.toString(target) + " (" + known + " elements)");
        return s;
    }

    /**
     * Strides that view a tensor of ({@code shape}, {@code strides}) as {@code target} without copying, or
     * null when the layout does not allow it (PyTorch's {@code computeStride}).
     */
    static int[] viewStrides(int[] shape, int[] strides, int[] target) {
        int[] out = new int[target.length];
        if (numel(shape) == 0) return contiguousStrides(target);
        int viewD = target.length - 1;
        int chunkBase = strides.length == 0 ? 1 : strides[strides.length - 1];
        long tensorNumel = 1, viewNumel = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            tensorNumel *= shape[d];
            if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBase)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] == 1)) {
                    out[viewD] = (int) (viewNumel * chunkBase);
                    viewNumel *= target[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0) {
                    chunkBase = strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        if (viewD != -1) {
            // trailing size-1 axes of the target
            while (viewD >= 0) {
                if (target[viewD] != 1) return null;
                out[viewD--] = 1;
            }
        }
        return out;
    }

    /** The NumPy broadcast of two shapes, or an exception naming {@code op} and both shapes. */
    public static int[] broadcast(String op, int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            int y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (x == y || y == 1) out[i] = x;
            else if (x == 1) out[i] = y;
            else
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " cannot be broadcast together (axis " + i + ": " + x + " vs " + y + ")");
        }
        return out;
    }
}
