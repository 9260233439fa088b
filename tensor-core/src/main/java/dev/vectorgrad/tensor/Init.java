package dev.vectorgrad.tensor;

import java.util.Arrays;

/**
 * Weight initialisers with the semantics of {@code torch.nn.init}: each fills the given tensor in place (views
 * included: the values go to the tensor's own elements in row-major order) and returns it. Random ones draw from
 * the given {@link Rng}, so they are reproducible but do <em>not</em> reproduce PyTorch's random stream; use
 * {@link TorchGenerator} where bit-exact agreement with PyTorch matters.
 *
 * <p>Fans follow {@code _calculate_fan_in_and_fan_out}: for a weight of shape {@code [out, in, k1, k2, ...]},
 * {@code fan_in = in · k1·k2·…} and {@code fan_out = out · k1·k2·…}; tensors of rank below 2 have no fans.
 *
 * <p>Kaiming uniform draws from U(−b, b) with {@code b = gain·√(3/fan)} and
 * {@code gain = calculateGain(nl, a)}; Kaiming normal from N(0, gain/√fan). With {@code a = √5} and the
 * (default) leaky-ReLU nonlinearity, {@code gain = √(2/(1+5)) = √(1/3)}, so {@code b = √(1/3)·√(3/fan_in) =
 * 1/√fan_in}: this is how PyTorch's {@code nn.Linear} (and LoRA's A matrix) are initialised by default.
 */
public final class Init {
    private Init() {}

    /** Which fan Kaiming initialisation preserves: the forward pass' ({@code fan_in}) or the backward's. */
    public enum FanMode {
        FAN_IN, FAN_OUT
    }

    /** The nonlinearities {@code torch.nn.init.calculate_gain} knows. */
    public enum Nonlinearity {
        LINEAR("linear"), IDENTITY("identity"), CONV1D("conv1d"), CONV2D("conv2d"), CONV3D("conv3d"),
        CONV_TRANSPOSE1D("conv_transpose1d"), CONV_TRANSPOSE2D("conv_transpose2d"), CONV_TRANSPOSE3D("conv_transpose3d"),
        SIGMOID("sigmoid"), TANH("tanh"), RELU("relu"), LEAKY_RELU("leaky_relu"), SELU("selu");

        private final String torchName;

        Nonlinearity(String torchName) {
            this.torchName = torchName;
        }

        /** PyTorch's name for it, e.g. {@code "leaky_relu"}. */
        public String torchName() {
            return torchName;
        }

        /** The constant for a PyTorch name such as {@code "relu"}. */
        public static Nonlinearity fromTorchName(String name) {
            for (Nonlinearity n : values()) if (n.torchName.equals(name)) return n;
            throw new IllegalArgumentException("Unsupported nonlinearity " + name);
        }
    }

    /** Leaky ReLU's default negative slope in {@code calculate_gain}. */
    public static final double DEFAULT_LEAKY_RELU_SLOPE = 0.01;

    // ---------------------------------------------------------------- gains and fans

    /**
     * The recommended gain, as {@code torch.nn.init.calculate_gain(nonlinearity, param)}: 1 for linear, identity,
     * convolutions and sigmoid; 5/3 for tanh; √2 for ReLU; √(2/(1+param²)) for leaky ReLU (pass {@code Double.NaN}
     * for PyTorch's {@code None}, i.e. slope 0.01); 3/4 for SELU. {@code param} is ignored by the others.
     */
    public static double calculateGain(Nonlinearity nl, double param) {
        return switch (nl) {
            case LINEAR, IDENTITY, CONV1D, CONV2D, CONV3D, CONV_TRANSPOSE1D, CONV_TRANSPOSE2D, CONV_TRANSPOSE3D, SIGMOID -> 1.0;
            case TANH -> 5.0 / 3;
            case RELU -> Math.sqrt(2.0);
            case LEAKY_RELU -> {
                double slope = Double.isNaN(param) ? DEFAULT_LEAKY_RELU_SLOPE : param;
                if (Double.isInfinite(slope)) throw new IllegalArgumentException("negative_slope " + param + " not a valid number");
                yield Math.sqrt(2.0 / (1 + slope * slope));
            }
            case SELU -> 3.0 / 4;
        };
    }

    /** {@link #calculateGain(Nonlinearity, double)} with PyTorch's default {@code param=None}. */
    public static double calculateGain(Nonlinearity nl) {
        return calculateGain(nl, Double.NaN);
    }

    /** {@code fan_in} as {@code _calculate_fan_in_and_fan_out}: {@code shape[1] · Π shape[2:]}. */
    public static long fanIn(int... shape) {
        checkFanRank(shape);
        return (long) shape[1] * receptiveField(shape);
    }

    /** {@code fan_out} as {@code _calculate_fan_in_and_fan_out}: {@code shape[0] · Π shape[2:]}. */
    public static long fanOut(int... shape) {
        checkFanRank(shape);
        return (long) shape[0] * receptiveField(shape);
    }

    /** The fan that {@code mode} selects for {@code shape}. */
    public static long fan(FanMode mode, int... shape) {
        return mode == FanMode.FAN_IN ? fanIn(shape) : fanOut(shape);
    }

    private static void checkFanRank(int[] shape) {
        if (shape.length < 2)
            throw new IllegalArgumentException("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape "
                    + Arrays.toString(shape) + ")");
    }

    private static long receptiveField(int[] shape) {
        long rf = 1;
        for (int i = 2; i < shape.length; i++) rf *= shape[i];
        return rf;
    }

    // ---------------------------------------------------------------- Kaiming and Xavier

    /** The bound {@code gain·√(3/fan)} that {@link #kaimingUniform} uses for this shape. */
    public static double kaimingUniformBound(int[] shape, double a, FanMode mode, Nonlinearity nl) {
        double std = calculateGain(nl, a) / Math.sqrt(fanChecked(mode, shape, "kaimingUniform"));
        return Math.sqrt(3.0) * std;
    }

    /**
     * {@code torch.nn.init.kaiming_uniform_(w, a, mode, nonlinearity)}: U(−b, b), {@code b = gain·√(3/fan)},
     * {@code gain = calculateGain(nl, a)}. {@code a = √5} with leaky ReLU gives {@code nn.Linear}'s 1/√fan_in.
     * A zero-element tensor is left as it is (PyTorch warns and does nothing).
     */
    public static Tensor kaimingUniform(Tensor w, Rng rng, double a, FanMode mode, Nonlinearity nl) {
        if (w.numel() == 0) return w;
        double bound = kaimingUniformBound(w.shape(), a, mode, nl);
        return uniform(w, rng, -bound, bound);
    }

    /** {@code kaiming_uniform_} with PyTorch's defaults: a = 0, fan_in, leaky ReLU (so gain √2). */
    public static Tensor kaimingUniform(Tensor w, Rng rng) {
        return kaimingUniform(w, rng, 0, FanMode.FAN_IN, Nonlinearity.LEAKY_RELU);
    }

    /** {@code torch.nn.init.kaiming_normal_(w, a, mode, nonlinearity)}: N(0, σ²), {@code σ = gain/√fan}. */
    public static Tensor kaimingNormal(Tensor w, Rng rng, double a, FanMode mode, Nonlinearity nl) {
        if (w.numel() == 0) return w;
        double std = calculateGain(nl, a) / Math.sqrt(fanChecked(mode, w.shape(), "kaimingNormal"));
        return normal(w, rng, 0, std);
    }

    /** {@code kaiming_normal_} with PyTorch's defaults: a = 0, fan_in, leaky ReLU. */
    public static Tensor kaimingNormal(Tensor w, Rng rng) {
        return kaimingNormal(w, rng, 0, FanMode.FAN_IN, Nonlinearity.LEAKY_RELU);
    }

    /** {@code torch.nn.init.xavier_uniform_(w, gain)}: U(−b, b), {@code b = gain·√(6/(fan_in+fan_out))}. */
    public static Tensor xavierUniform(Tensor w, Rng rng, double gain) {
        int[] s = w.shape();
        double std = gain * Math.sqrt(2.0 / (fanIn(s) + fanOut(s)));
        double bound = Math.sqrt(3.0) * std;
        return uniform(w, rng, -bound, bound);
    }

    /** {@code xavier_uniform_} with gain 1. */
    public static Tensor xavierUniform(Tensor w, Rng rng) {
        return xavierUniform(w, rng, 1.0);
    }

    /** {@code torch.nn.init.xavier_normal_(w, gain)}: N(0, σ²), {@code σ = gain·√(2/(fan_in+fan_out))}. */
    public static Tensor xavierNormal(Tensor w, Rng rng, double gain) {
        int[] s = w.shape();
        double std = gain * Math.sqrt(2.0 / (fanIn(s) + fanOut(s)));
        return normal(w, rng, 0, std);
    }

    /** {@code xavier_normal_} with gain 1. */
    public static Tensor xavierNormal(Tensor w, Rng rng) {
        return xavierNormal(w, rng, 1.0);
    }

    private static long fanChecked(FanMode mode, int[] shape, String op) {
        long f = fan(mode, shape);
        if (f == 0) throw new IllegalArgumentException(op + ": fan is 0 for shape " + Arrays.toString(shape));
        return f;
    }

    // ---------------------------------------------------------------- plain fills

    /** {@code torch.nn.init.normal_(w, mean, std)}. */
    public static Tensor normal(Tensor w, Rng rng, double mean, double std) {
        if (!(std >= 0) || Double.isInfinite(std) || !Double.isFinite(mean))
            throw new IllegalArgumentException("normal: need finite mean and std >= 0, got mean " + mean + ", std " + std);
        float[] v = new float[w.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) (mean + std * rng.nextGaussian());
        return store(w, v);
    }

    /**
     * {@code torch.nn.init.uniform_(w, a, b)}: U(a, b), each value {@code a + (b − a)·u} with a 53-bit {@code u},
     * rounded once to float (so a value may equal {@code b} only through that final rounding).
     */
    public static Tensor uniform(Tensor w, Rng rng, double a, double b) {
        if (!(a <= b) || !Double.isFinite(b - a))
            throw new IllegalArgumentException("uniform: need finite a <= b, got [" + a + ", " + b + ")");
        float[] v = new float[w.numel()];
        double width = b - a;
        for (int i = 0; i < v.length; i++) v[i] = (float) (a + width * rng.nextDouble());
        return store(w, v);
    }

    /** Fills with 0. */
    public static Tensor zeros(Tensor w) {
        return w.fill(0f);
    }

    /** Fills with 1. */
    public static Tensor ones(Tensor w) {
        return w.fill(1f);
    }

    /** Fills with {@code value}. */
    public static Tensor constant(Tensor w, float value) {
        return w.fill(value);
    }

    /** Writes row-major {@code values} into {@code w} (directly when contiguous, else through a copy). */
    static Tensor store(Tensor w, float[] values) {
        if (values.length == 0) return w;
        if (w.isContiguous()) {
            System.arraycopy(values, 0, w.storage(), w.offset(), values.length);
            return w;
        }
        return w.copyFrom(Tensor.wrap(values, w.shape()));
    }
}
