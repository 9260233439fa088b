package dev.vectorgrad.tensor;

/**
 * The engine's seeded random number generator: <b>xoshiro256**</b> (Blackman and Vigna, "Scrambled linear
 * pseudorandom number generators", ACM TOMS 2021; reference C code at https://prng.di.unimi.it/xoshiro256starstar.c)
 * with its 256-bit state filled from the 64-bit seed by <b>SplitMix64</b> (https://prng.di.unimi.it/splitmix64.c),
 * exactly as the authors recommend.
 *
 * <p>Why this algorithm: it is published with reference code and test outputs, passes BigCrush and PractRand,
 * has a period of 2<sup>256</sup>−1, is a handful of 64-bit shifts, rotations, xors and multiplications (so it is
 * bit-identical on every JVM, OS and CPU), and is much faster than MT19937 or a counter-based cipher in Java.
 *
 * <p>Determinism: every method here is pure integer arithmetic except {@link #nextGaussian()}, which uses
 * {@link StrictMath#log} and {@link StrictMath#sqrt} (fdlibm; sqrt is exact anyway) so that normals are the same
 * everywhere. The generator is <em>not</em> thread-safe; give each thread its own stream with {@link #fork(long)}
 * or {@link #split()} so that results do not depend on the thread count or on scheduling.
 *
 * <p>Derived streams:
 * <ul>
 *   <li>{@link #split()} draws one {@code nextLong()} from this generator (advancing it) and returns
 *       {@code new Rng(thatLong)}: a child whose whole sequence is a function of the parent's position.</li>
 *   <li>{@link #fork(long)} does not touch this generator's state: the child is seeded from this generator's
 *       <em>key</em> (its seed) and the stream id through a SplitMix64 mix, so {@code fork(k)} is the same
 *       whenever it is called; different ids give unrelated streams.</li>
 * </ul>
 */
public final class Rng {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    /** The seed this generator was created from (what {@link #fork(long)} derives from). */
    private final long key;
    private long s0, s1, s2, s3;
    /** Second value of the last Marsaglia polar pair, if not yet used. */
    private boolean haveSpare;
    private double spare;

    /** A generator whose state is four successive SplitMix64 outputs starting from {@code seed}. */
    public Rng(long seed) {
        this.key = seed;
        long x = seed;
        x += GOLDEN_GAMMA; s0 = mix64(x);
        x += GOLDEN_GAMMA; s1 = mix64(x);
        x += GOLDEN_GAMMA; s2 = mix64(x);
        x += GOLDEN_GAMMA; s3 = mix64(x);
        // SplitMix64 cannot produce four zero outputs in a row, but be defensive: all-zero is xoshiro's fixed point.
        if ((s0 | s1 | s2 | s3) == 0) s0 = GOLDEN_GAMMA;
    }

    private Rng(long key, long s0, long s1, long s2, long s3) {
        if ((s0 | s1 | s2 | s3) == 0) throw new IllegalArgumentException("Rng: the xoshiro256** state must not be all zero");
        this.key = key;
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
    }

    /**
     * A generator with the given raw xoshiro256** state (not all zero), as in the reference C code's {@code s[4]}.
     * For test vectors and for restoring state; normal code uses {@link #Rng(long)}.
     */
    public static Rng ofState(long s0, long s1, long s2, long s3) {
        return new Rng(s0 ^ s1 ^ s2 ^ s3, s0, s1, s2, s3);
    }

    /** The SplitMix64 output function (Stafford's Mix13 variant) of one 64-bit value. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    // ---------------------------------------------------------------- checkpointing

    /**
     * The full state (key, the four state words, the pending Gaussian), for checkpoints. {@link #restore(long[])}
     * gives back a generator that continues exactly where this one is.
     */
    public long[] snapshot() {
        return new long[] {key, s0, s1, s2, s3, haveSpare ? 1 : 0, Double.doubleToRawLongBits(spare)};
    }

    /** The generator saved by {@link #snapshot()}. */
    public static Rng restore(long[] snapshot) {
        if (snapshot.length != 7) throw new IllegalArgumentException("Rng.restore: a snapshot has 7 longs, got " + snapshot.length);
        Rng r = new Rng(snapshot[0], snapshot[1], snapshot[2], snapshot[3], snapshot[4]);
        r.haveSpare = snapshot[5] != 0;
        r.spare = Double.longBitsToDouble(snapshot[6]);
        return r;
    }

    // ---------------------------------------------------------------- raw outputs

    /** The next 64 random bits (xoshiro256** {@code next()}). */
    public long nextLong() {
        long result = Long.rotateLeft(s1 * 5, 7) * 9;
        long t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Long.rotateLeft(s3, 45);
        return result;
    }

    /** The next 32 random bits: the high half of {@link #nextLong()} (the better bits). */
    public int nextInt() {
        return (int) (nextLong() >>> 32);
    }

    /**
     * A uniform int in [0, bound), without bias: Lemire's multiply-and-reject method ("Fast random integer
     * generation in an interval", ACM TOMS 2019) on 32-bit draws.
     */
    public int nextInt(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("Rng.nextInt: bound must be positive, got " + bound);
        long m = (nextInt() & 0xFFFFFFFFL) * bound;
        long low = m & 0xFFFFFFFFL;
        if (low < bound) {
            long threshold = (0x1_0000_0000L - bound) % bound; // 2^32 mod bound
            while (low < threshold) {
                m = (nextInt() & 0xFFFFFFFFL) * bound;
                low = m & 0xFFFFFFFFL;
            }
        }
        return (int) (m >>> 32);
    }

    /** A uniform int in [lo, hi) (the range may be up to 2^32 − 1 wide). */
    public int nextInt(int lo, int hi) {
        if (lo >= hi) throw new IllegalArgumentException("Rng.nextInt: empty range [" + lo + ", " + hi + ")");
        long range = (long) hi - lo;
        if (range <= Integer.MAX_VALUE) return lo + nextInt((int) range);
        // Wider than an int bound: 33-bit draws, rejecting the incomplete last block so that r % range is unbiased.
        long r;
        do {
            r = nextLong() >>> 31; // 33 random bits
        } while (r >= range * (0x2_0000_0000L / range)); // reject the tail so that r % range is unbiased
        return (int) (lo + r % range);
    }

    /** A uniform float in [0, 1): the top 24 bits of {@link #nextLong()} times 2<sup>−24</sup>. */
    public float nextFloat() {
        return (nextLong() >>> 40) * 0x1.0p-24f;
    }

    /** A uniform double in [0, 1): the top 53 bits of {@link #nextLong()} times 2<sup>−53</sup>. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /**
     * A standard normal value, by the Marsaglia polar method in double precision with {@link StrictMath} (so the
     * same on every platform). Values come in pairs; the second is kept for the next call.
     */
    public double nextGaussian() {
        if (haveSpare) {
            haveSpare = false;
            return spare;
        }
        double u, v, s;
        do {
            u = 2 * nextDouble() - 1;
            v = 2 * nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double f = StrictMath.sqrt(-2 * StrictMath.log(s) / s);
        spare = v * f;
        haveSpare = true;
        return u * f;
    }

    // ---------------------------------------------------------------- bulk helpers

    /** Fisher-Yates (Durstenfeld) shuffle of the whole array in place. */
    public void shuffle(int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** A random permutation of 0 … n−1. */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        shuffle(p);
        return p;
    }

    /**
     * Fills {@code dst[off .. off+len)} with uniform floats in [lo, hi): {@code lo + (hi − lo)·u} with a 24-bit
     * {@code u} from {@link #nextFloat()}, computed in double and rounded once to float. A value that rounds up to
     * {@code hi} is replaced by the largest float below {@code hi}, so the interval stays half-open.
     */
    public void fillUniform(float[] dst, int off, int len, float lo, float hi) {
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        if (!(lo <= hi) || !Float.isFinite(hi - lo))
            throw new IllegalArgumentException("Rng.fillUniform: need finite lo <= hi, got [" + lo + ", " + hi + ")");
        double a = lo, w = (double) hi - lo;
        float below = lo == hi ? lo : Math.nextDown(hi);
        for (int i = off, end = off + len; i < end; i++) {
            float v = (float) (a + w * nextFloat());
            dst[i] = v >= hi ? below : v;
        }
    }

    /** Fills {@code dst[off .. off+len)} with {@code mean + std·z}, z from {@link #nextGaussian()}, rounded to float. */
    public void fillNormal(float[] dst, int off, int len, float mean, float std) {
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        if (!(std >= 0) || !Float.isFinite(std) || !Float.isFinite(mean))
            throw new IllegalArgumentException("Rng.fillNormal: need finite mean and std >= 0, got mean " + mean + ", std " + std);
        for (int i = off, end = off + len; i < end; i++) dst[i] = (float) (mean + (double) std * nextGaussian());
    }

    // ---------------------------------------------------------------- derived streams

    /**
     * A new, independent generator seeded with one {@code nextLong()} of this one (this generator advances by one
     * draw). Equal parents give equal children; successive splits give different children.
     */
    public Rng split() {
        return new Rng(nextLong());
    }

    /**
     * The generator for stream {@code streamId}, derived from this generator's seed only (its state is not used
     * and not advanced): {@code new Rng(mix64(mix64(key) ^ mix64(streamId·γ + γ)))} with γ the SplitMix64 golden
     * gamma. The same key and id always give the same stream, e.g. one per worker thread or per layer.
     */
    public Rng fork(long streamId) {
        return new Rng(mix64(mix64(key) ^ mix64(streamId * GOLDEN_GAMMA + GOLDEN_GAMMA)));
    }

    @Override
    public String toString() {
        return "Rng[xoshiro256**, key=" + key + "]";
    }
}
