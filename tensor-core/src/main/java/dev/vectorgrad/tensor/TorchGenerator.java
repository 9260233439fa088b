package dev.vectorgrad.tensor;

import java.util.Objects;

/**
 * PyTorch's CPU random generator ({@code torch.Generator()} / {@code CPUGeneratorImpl}), reproduced bit for bit
 * where vectorgrad must draw the same numbers as PyTorch: chiefly VeRA's shared projections, which PEFT draws from
 * {@code torch.Generator().manual_seed(projection_prng_key)} and which an adapter saved with
 * {@code save_projection=false} does not store.
 *
 * <p>The engine is MT19937 (Matsumoto and Nishimura 1998) seeded by {@code init_genrand(seed & 0xffffffff)}, with
 * the standard twist and tempering. float32 {@code uniform_(from, to)} takes one 32-bit output per element, in
 * row-major order, and computes, all in float: {@code x = (u & 0xFFFFFF)·2⁻²⁴},
 * {@code value = fma(x, to − from, from)}, with {@code from}/{@code to} the bounds rounded to float.
 *
 * <p>Only what vectorgrad needs is here (raw outputs and float {@code uniform_}); PyTorch's normal, double and
 * integer samplers are not reproduced. Not thread-safe.
 */
public final class TorchGenerator {
    /** The seed of PyTorch's default CPU generator ({@code default_rng_seed_val}). */
    public static final long DEFAULT_SEED = 67280421310721L;

    private static final int N = 624, M = 397;
    private static final int MATRIX_A = 0x9908B0DF, UPPER_MASK = 0x80000000, LOWER_MASK = 0x7FFFFFFF;

    private final int[] mt = new int[N];
    private int mti;

    /** {@code torch.Generator().manual_seed(seed)}: MT19937 {@code init_genrand} of the low 32 bits of {@code seed}. */
    public TorchGenerator(long seed) {
        mt[0] = (int) seed;
        for (int i = 1; i < N; i++) mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
        mti = N;
    }

    /** A generator seeded like PyTorch's default CPU generator at start-up. */
    public TorchGenerator() {
        this(DEFAULT_SEED);
    }

    /** The next MT19937 output (an unsigned 32-bit value, returned in an int: use {@code & 0xFFFFFFFFL}). */
    public int nextUInt32() {
        if (mti >= N) twist();
        int y = mt[mti++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9D2C5680;
        y ^= (y << 15) & 0xEFC60000;
        y ^= y >>> 18;
        return y;
    }

    private void twist() {
        for (int kk = 0; kk < N; kk++) {
            int y = (mt[kk] & UPPER_MASK) | (mt[(kk + 1) % N] & LOWER_MASK);
            mt[kk] = mt[(kk + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? MATRIX_A : 0);
        }
        mti = 0;
    }

    /** Fills {@code dst[off .. off+len)} as float32 {@code Tensor.uniform_(from, to, generator=this)} does. */
    public void uniform(float[] dst, int off, int len, float from, float to) {
        Objects.checkFromIndexSize(off, len, dst.length);
        float range = to - from;
        for (int i = off, end = off + len; i < end; i++) {
            float x = (nextUInt32() & 0xFFFFFF) * 0x1.0p-24f;
            dst[i] = Math.fma(x, range, from);
        }
    }

    /**
     * {@code t.uniform_(from, to, generator=this)} for a float32 tensor: the bounds are rounded to float and the
     * elements are drawn in row-major order (which is PyTorch's order for a contiguous tensor). Returns {@code t}.
     */
    public Tensor uniform(Tensor t, double from, double to) {
        float[] v = new float[t.numel()];
        uniform(v, 0, v.length, (float) from, (float) to);
        return Init.store(t, v);
    }

    /**
     * {@code torch.nn.init.kaiming_uniform_(t, a, mode, nonlinearity, generator=this)}: the bound is computed in
     * double exactly as PyTorch does ({@code gain / √fan}, times {@code √3}), then {@link #uniform(Tensor, double, double)}.
     */
    public Tensor kaimingUniformLikeTorch(Tensor t, double a, Init.FanMode mode, Init.Nonlinearity nl) {
        if (t.numel() == 0) return t;
        double bound = Init.kaimingUniformBound(t.shape(), a, mode, nl);
        return uniform(t, -bound, bound);
    }

    /** {@code kaiming_uniform_(t, generator=this)} with PyTorch's defaults: a = 0, fan_in, leaky ReLU (gain √2). */
    public Tensor kaimingUniformLikeTorch(Tensor t) {
        return kaimingUniformLikeTorch(t, 0, Init.FanMode.FAN_IN, Init.Nonlinearity.LEAKY_RELU);
    }

    /**
     * One of VeRA's shared projections as PEFT draws it ({@code _kaiming_init}): a new {@code rows × cols} tensor,
     * U(−b, b) with {@code b = √3·√2/√cols = √(6/cols)}, drawn from {@code g} (which advances by rows·cols
     * outputs). PEFT draws {@code vera_A} (r × max_in) first, then {@code vera_B} (max_out × r) from the same
     * generator, seeded with {@code projection_prng_key}.
     */
    public static Tensor veraProjection(TorchGenerator g, int rows, int cols) {
        return g.kaimingUniformLikeTorch(Tensor.zeros(rows, cols));
    }

    /** Both VeRA projections for a key: {@code {vera_A (r × maxIn), vera_B (maxOut × r)}}. */
    public static Tensor[] veraProjections(long projectionPrngKey, int r, int maxIn, int maxOut) {
        TorchGenerator g = new TorchGenerator(projectionPrngKey);
        Tensor a = veraProjection(g, r, maxIn);
        Tensor b = veraProjection(g, maxOut, r);
        return new Tensor[] {a, b};
    }
}
