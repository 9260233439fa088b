package dev.vectorgrad.tensor;

import java.util.Random;
import java.util.function.Consumer;

/** Naive reference helpers for the op tests: plain loops over multi-indices, double arithmetic. */
final class Ref {
    private Ref() {}

    static Tensor rand(long seed, int... shape) {
        Random r = new Random(seed);
        int n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return Tensor.wrap(v, shape);
    }

    static Tensor uniform(long seed, float lo, float hi, int... shape) {
        Random r = new Random(seed);
        int n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.nextFloat();
        return Tensor.wrap(v, shape);
    }

    static int numel(int[] shape) {
        int n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    /** Calls {@code f} with every multi-index of {@code shape} in row-major order (the array is reused). */
    static void forEach(int[] shape, Consumer<int[]> f) {
        int n = numel(shape);
        int[] idx = new int[shape.length];
        for (int e = 0; e < n; e++) {
            f.accept(idx);
            for (int k = shape.length - 1; k >= 0; k--) {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
    }

    /** The element of {@code t} that output index {@code idx} (of a broadcast shape) reads. */
    static float bget(Tensor t, int[] idx) {
        int[] s = t.shape, st = t.strides;
        int p = t.offset;
        for (int k = 0; k < s.length; k++) {
            int o = idx[k + idx.length - s.length];
            p += (s[k] == 1 ? 0 : o) * st[k];
        }
        return t.data[p];
    }

    /** Broadcast shape computed by hand (right-aligned, size 1 stretches). */
    static int[] bshape(int[]... shapes) {
        int r = 0;
        for (int[] s : shapes) r = Math.max(r, s.length);
        int[] out = new int[r];
        java.util.Arrays.fill(out, 1);
        for (int[] s : shapes) {
            for (int k = 0; k < s.length; k++) {
                int o = k + r - s.length;
                if (s[k] != 1) out[o] = s[k];
            }
        }
        return out;
    }

    interface F2 {
        double apply(double a, double b);
    }

    static float[] binary(Tensor a, Tensor b, F2 f) {
        int[] shape = bshape(a.shape(), b.shape());
        float[] out = new float[numel(shape)];
        int[] pos = {0};
        forEach(shape, idx -> out[pos[0]++] = (float) f.apply(bget(a, idx), bget(b, idx)));
        return out;
    }

    static double erf(double x) {
        double z = Math.abs(x);
        double r;
        if (z < 2.5) {
            double term = z, sum = z;
            for (int n = 1; n < 200; n++) {
                term *= -z * z / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17) break;
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            r = 1 - erfcCf(z);
        }
        return x < 0 ? -r : r;
    }

    /** erfc(z) for z >= 2.5 by its continued fraction. */
    static double erfcCf(double z) {
        double k = z;
        for (int j = 80; j >= 1; j--) k = z + (j / 2.0) / k;
        return Math.exp(-z * z) / (Math.sqrt(Math.PI) * k);
    }

    /** Φ(x) accurately in both tails. */
    static double phi(double x) {
        double u = x / Math.sqrt(2);
        if (u < -2.5) return 0.5 * erfcCf(-u);
        return 0.5 * (1 + erf(u));
    }
}
