package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Node;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * An adapter's delta added into one block of a layer's output: {@code z = y; z[.., start:start+s] += d} along
 * {@code axis} (the last axis for activations y [.., out], d [.., s]; axis 0 for a weight W [out, in] and a ΔW
 * [s, in]). Backward: dy = g, dd = g[.., start:start+s] (a copy of that block).
 */
final class SliceAdd extends Node {
    private int axis, start, size;

    static Variable apply(Variable y, Variable d, int axis, int start) {
        int[] ys = y.shape(), ds = d.shape();
        int ax = axis < 0 ? axis + ys.length : axis;
        if (ax < 0 || ax >= ys.length || ds.length != ys.length)
            throw new IllegalArgumentException("SliceAdd: axis " + axis + " of " + Arrays.toString(ys) + " with a delta " + Arrays.toString(ds));
        int s = ds[ax];
        for (int i = 0; i < ys.length; i++)
            if (i != ax && ys[i] != ds[i] || i == ax && (start < 0 || start + s > ys[i]))
                throw new IllegalArgumentException("SliceAdd: delta " + Arrays.toString(ds) + " does not fit " + Arrays.toString(ys) + " at offset "
                        + start + " of axis " + ax);
        SliceAdd f = new SliceAdd();
        f.axis = ax;
        f.start = start;
        f.size = s;
        Tensor z = y.data().copy();
        z.narrow(ax, start, s).addInPlace(d.data()); // the block is a view of z: the delta lands in z
        return record(f, z, y, d);
    }

    @Override
    protected Tensor[] backward(Tensor g) {
        return new Tensor[] {needsGrad(0) ? g : null, needsGrad(1) ? g.narrow(axis, start, size).copy() : null};
    }

    @Override
    public String name() {
        return "SliceAdd[axis " + axis + ", " + start + ":" + (start + size) + "]";
    }
}
