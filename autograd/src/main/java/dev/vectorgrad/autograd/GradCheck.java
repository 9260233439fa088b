package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * Checks an op's analytic gradients against central differences.
 *
 * <p>The function's output is projected on a fixed random tensor W (so every output element matters):
 * L = Σ out ⊙ W. The analytic gradient is one {@code backward(W)}; the numeric one perturbs each input element
 * by ±eps and takes (L₊ − L₋)/(2·eps), summing L in double. Inputs may be views (transposed, narrowed): the
 * element is perturbed through the view, so the op sees exactly that layout.
 *
 * <p>Two references for the numeric side:
 * <ul>
 *   <li>{@link #check(Fn, Tensor...)} evaluates the op's own float32 forward. Float32 rounding makes small eps
 *   useless, so eps is 1e-2 and the tolerance loose (1e-2 absolute + relative); good enough to catch any wrong
 *   formula, sign, transpose or broadcast reduction.</li>
 *   <li>{@link #check(Fn, DoubleFn, Tensor...)} evaluates a naive double-precision forward that the test
 *   supplies (eps 1e-6, tolerance 2e-3), for ops where the float differences are too noisy to be telling.</li>
 * </ul>
 */
public final class GradCheck {
    private GradCheck() {}

    /** The op under test: input variables (one per input tensor, all requiring grad) to an output. */
    @FunctionalInterface
    public interface Fn {
        Variable apply(Variable[] in);
    }

    /** A double-precision reference forward: each input's values in row-major order to the output's values. */
    @FunctionalInterface
    public interface DoubleFn {
        double[] apply(double[][] in);
    }

    /** Step and tolerances: an element passes when |analytic − numeric| ≤ atol + rtol·|numeric|. */
    public record Options(double eps, double atol, double rtol, long seed) {
        public static Options floatDefaults() { return new Options(1e-2, 1e-2, 1e-2, 1234); }
        public static Options doubleDefaults() { return new Options(1e-6, 2e-3, 2e-3, 1234); }
        public Options withTolerance(double atol, double rtol) { return new Options(eps, atol, rtol, seed); }
        public Options withEps(double e) { return new Options(e, atol, rtol, seed); }
    }

    /** The outcome: the worst element found and whether every element passed. */
    public record Report(boolean ok, double maxAbsError, int worstInput, int worstIndex, double analytic, double numeric, int checked) {
        @Override
        public String toString() {
            return (ok ? "ok" : "MISMATCH") + ": worst element |analytic - numeric| = " + maxAbsError + " at input " + worstInput + " element "
                    + worstIndex + " (analytic " + analytic + ", numeric " + numeric + "), " + checked + " elements checked";
        }
    }

    /** Central differences of the op's own float32 forward. */
    public static Report check(Fn f, Tensor... inputs) {
        return check(f, null, Options.floatDefaults(), inputs);
    }

    /** Central differences of a double-precision reference forward. */
    public static Report check(Fn f, DoubleFn reference, Tensor... inputs) {
        return check(f, reference, Options.doubleDefaults(), inputs);
    }

    /** As the others, with explicit options; {@code reference} may be null (then the op's float forward is used). */
    public static Report check(Fn f, DoubleFn reference, Options o, Tensor... inputs) {
        Variable[] vars = new Variable[inputs.length];
        for (int i = 0; i < inputs.length; i++) vars[i] = new Variable(inputs[i], true);
        Variable out;
        try (var g = Grad.enabled()) {
            out = f.apply(vars);
        }
        Tensor w = Tensor.zeros(out.shape());
        float[] wv = new float[out.numel()];
        new Rng(o.seed()).fillUniform(wv, 0, wv.length, -1f, 1f);
        w.copyFrom(Tensor.wrap(wv, out.shape()));
        if (out.requiresGrad()) out.backward(w);

        double worst = -1, wa = 0, wn = 0;
        int wi = -1, we = -1, checked = 0;
        boolean ok = true;
        double[][] ref = null;
        if (reference != null) {
            ref = new double[inputs.length][];
            for (int i = 0; i < inputs.length; i++) {
                float[] a = inputs[i].toArray();
                ref[i] = new double[a.length];
                for (int e = 0; e < a.length; e++) ref[i][e] = a[e];
            }
            double[] base = reference.apply(ref);
            if (base.length != out.numel())
                throw new IllegalArgumentException("GradCheck: reference returned " + base.length + " values but the op's output has "
                        + out.numel() + " (shape " + Arrays.toString(out.shape()) + ")");
        }
        for (int i = 0; i < inputs.length; i++) {
            Tensor x = inputs[i];
            Tensor ga = vars[i].grad();
            float[] analytic = ga == null ? new float[x.numel()] : ga.toArray();
            int[] shape = x.shape();
            int[] idx = new int[shape.length];
            for (int e = 0; e < x.numel(); e++) {
                double num;
                if (reference != null) {
                    double keep = ref[i][e];
                    ref[i][e] = keep + o.eps();
                    double lp = dot(reference.apply(ref), wv);
                    ref[i][e] = keep - o.eps();
                    double lm = dot(reference.apply(ref), wv);
                    ref[i][e] = keep;
                    num = (lp - lm) / (2 * o.eps());
                } else {
                    float keep = x.get(idx);
                    x.set((float) (keep + o.eps()), idx);
                    double lp = evalFloat(f, inputs, wv);
                    x.set((float) (keep - o.eps()), idx);
                    double lm = evalFloat(f, inputs, wv);
                    x.set(keep, idx);
                    num = (lp - lm) / (2 * o.eps());
                }
                double err = Math.abs(analytic[e] - num);
                boolean pass = err <= o.atol() + o.rtol() * Math.abs(num) && !Double.isNaN(analytic[e]);
                double score = err / (o.atol() + o.rtol() * Math.abs(num));
                if (!pass) ok = false;
                if (score > worst || Double.isNaN(score)) {
                    worst = Double.isNaN(score) ? Double.POSITIVE_INFINITY : score;
                    wi = i;
                    we = e;
                    wa = analytic[e];
                    wn = num;
                }
                checked++;
                for (int k = shape.length - 1; k >= 0; k--) {
                    if (++idx[k] < shape[k]) break;
                    idx[k] = 0;
                }
            }
        }
        return new Report(ok, Math.abs(wa - wn), wi, we, wa, wn, checked);
    }

    /** Throws an AssertionError describing the worst element unless the check passes. */
    public static Report assertOk(Fn f, DoubleFn reference, Options o, Tensor... inputs) {
        Report r = check(f, reference, o, inputs);
        if (!r.ok()) throw new AssertionError("gradient check failed: " + r);
        return r;
    }

    public static Report assertOk(Fn f, Tensor... inputs) {
        return assertOk(f, null, Options.floatDefaults(), inputs);
    }

    public static Report assertOk(Fn f, DoubleFn reference, Tensor... inputs) {
        return assertOk(f, reference, Options.doubleDefaults(), inputs);
    }

    private static double evalFloat(Fn f, Tensor[] inputs, float[] w) {
        Variable[] vs = new Variable[inputs.length];
        for (int i = 0; i < inputs.length; i++) vs[i] = new Variable(inputs[i]);
        try (var g = Grad.disabled()) {
            float[] y = f.apply(vs).data().toArray();
            double s = 0;
            for (int j = 0; j < y.length; j++) s += (double) y[j] * w[j];
            return s;
        }
    }

    private static double dot(double[] y, float[] w) {
        double s = 0;
        for (int j = 0; j < y.length; j++) s += y[j] * w[j];
        return s;
    }
}
