package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.math.BigInteger;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RngTest {

    // ------------------------------------------------------------ published reference vectors

    @Test
    void splitMix64SeedingMatchesTheReferenceOutputsForSeedZero() {
        // splitmix64.c with x = 0: the first four outputs (widely quoted test vector).
        long[] s = new Rng(0).snapshot();
        assertThat(new long[] {s[1], s[2], s[3], s[4]}).containsExactly(
                0xE220A8397B1DCDAFL, 0x6E789E6AA1B965F4L, 0x06C45D188009454FL, 0xF88BB8A8724C81ECL);
    }

    @Test
    void xoshiro256StarStarMatchesTheReferenceOutputsForState1234() {
        // xoshiro256starstar.c with s = {1, 2, 3, 4} (the vector used by e.g. rand_xoshiro's tests).
        String[] expected = {"11520", "0", "1509978240", "1215971899390074240", "1216172134540287360",
                "607988272756665600", "16172922978634559625", "8476171486693032832", "10595114339597558777",
                "2904607092377533576"};
        Rng r = Rng.ofState(1, 2, 3, 4);
        for (String e : expected) assertThat(Long.toUnsignedString(r.nextLong())).isEqualTo(e);
    }

    @Test
    void matchesAnIndependentBigIntegerImplementation() {
        long seed = 0x1234_5678_9ABC_DEF0L;
        Ref ref = new Ref(seed);
        Rng r = new Rng(seed);
        for (int i = 0; i < 2000; i++) assertThat(r.nextLong()).as("output %d", i).isEqualTo(ref.next());
    }

    @Test
    void pinnedOutputsForSeed42() {
        Rng r = new Rng(42);
        assertThat(new long[] {r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong()}).containsExactly(
                1546998764402558742L, 6990951692964543102L, -5902157311460992607L, -1389169964527427423L,
                -151191095644234140L);
    }

    /** A second implementation of SplitMix64 + xoshiro256** written with BigInteger arithmetic mod 2^64. */
    private static final class Ref {
        static final BigInteger MASK = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
        final BigInteger[] s = new BigInteger[4];

        Ref(long seed) {
            BigInteger x = new BigInteger(Long.toUnsignedString(seed));
            for (int i = 0; i < 4; i++) {
                x = x.add(new BigInteger("9E3779B97F4A7C15", 16)).and(MASK);
                BigInteger z = x;
                z = z.xor(z.shiftRight(30)).multiply(new BigInteger("BF58476D1CE4E5B9", 16)).and(MASK);
                z = z.xor(z.shiftRight(27)).multiply(new BigInteger("94D049BB133111EB", 16)).and(MASK);
                s[i] = z.xor(z.shiftRight(31));
            }
        }

        static BigInteger rotl(BigInteger x, int k) {
            return x.shiftLeft(k).or(x.shiftRight(64 - k)).and(MASK);
        }

        long next() {
            BigInteger result = rotl(s[1].multiply(BigInteger.valueOf(5)).and(MASK), 7).multiply(BigInteger.valueOf(9)).and(MASK);
            BigInteger t = s[1].shiftLeft(17).and(MASK);
            s[2] = s[2].xor(s[0]);
            s[3] = s[3].xor(s[1]);
            s[1] = s[1].xor(s[2]);
            s[0] = s[0].xor(s[3]);
            s[2] = s[2].xor(t);
            s[3] = rotl(s[3], 45);
            return result.longValue();
        }
    }

    // ------------------------------------------------------------ derived values

    @Test
    void derivedValuesUseTheDocumentedBits() {
        Rng a = new Rng(9), b = new Rng(9);
        assertThat(a.nextInt()).isEqualTo((int) (b.nextLong() >>> 32));
        assertThat(a.nextFloat()).isEqualTo((b.nextLong() >>> 40) / 16777216f);
        assertThat(a.nextDouble()).isEqualTo((b.nextLong() >>> 11) / 9007199254740992.0);
    }

    @Test
    void uniformsHaveTheRightMomentsAndRange() {
        Rng r = new Rng(1);
        int n = 1_000_000;
        double sf = 0, sf2 = 0, sd = 0, sd2 = 0;
        for (int i = 0; i < n; i++) {
            float f = r.nextFloat();
            double d = r.nextDouble();
            assertThat(f).isBetween(0f, Math.nextDown(1f));
            assertThat(d).isBetween(0.0, Math.nextDown(1.0));
            sf += f; sf2 += (double) f * f; sd += d; sd2 += d * d;
        }
        // sd of the mean is sqrt(1/12/n) ≈ 2.9e-4; allow 5 sigma.
        assertThat(sf / n).isCloseTo(0.5, within(1.5e-3));
        assertThat(sd / n).isCloseTo(0.5, within(1.5e-3));
        assertThat(sf2 / n - (sf / n) * (sf / n)).isCloseTo(1 / 12.0, within(1e-3));
        assertThat(sd2 / n - (sd / n) * (sd / n)).isCloseTo(1 / 12.0, within(1e-3));
    }

    @Test
    void gaussiansHaveTheRightMoments() {
        Rng r = new Rng(2);
        int n = 1_000_000;
        double s = 0, s2 = 0, s4 = 0;
        for (int i = 0; i < n; i++) {
            double z = r.nextGaussian();
            s += z; s2 += z * z; s4 += z * z * z * z;
        }
        double mean = s / n, var = s2 / n - mean * mean;
        assertThat(mean).isCloseTo(0, within(5e-3));
        assertThat(var).isCloseTo(1, within(1e-2));
        assertThat(s4 / n).isCloseTo(3, within(0.05)); // kurtosis of a normal
    }

    @Test
    void fillHelpersRespectRangeAndMoments() {
        Rng r = new Rng(3);
        float[] u = new float[200_010];
        r.fillUniform(u, 5, 200_000, -2f, 6f);
        assertThat(u[0]).isZero();
        assertThat(u[200_009]).isZero();
        double s = 0, s2 = 0;
        for (int i = 5; i < 200_005; i++) {
            assertThat(u[i]).isGreaterThanOrEqualTo(-2f).isLessThan(6f);
            s += u[i]; s2 += (double) u[i] * u[i];
        }
        double mean = s / 200_000;
        assertThat(mean).isCloseTo(2, within(0.03));
        assertThat(s2 / 200_000 - mean * mean).isCloseTo(64 / 12.0, within(0.08));

        float[] g = new float[200_000];
        r.fillNormal(g, 0, g.length, 3f, 0.5f);
        s = 0; s2 = 0;
        for (float v : g) { s += v; s2 += (double) v * v; }
        mean = s / g.length;
        assertThat(mean).isCloseTo(3, within(0.01));
        assertThat(Math.sqrt(s2 / g.length - mean * mean)).isCloseTo(0.5, within(0.01));

        assertThatThrownBy(() -> r.fillUniform(u, 200_000, 20, 0f, 1f)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> r.fillNormal(g, 0, 1, 0f, -1f)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fillUniformNeverReturnsTheUpperBound() {
        // With a tiny interval, lo + w·u rounds to hi for u close to 1; it must be pulled back below hi.
        Rng r = new Rng(4);
        float lo = 1f, hi = Math.nextUp(1f);
        float[] d = new float[10_000];
        r.fillUniform(d, 0, d.length, lo, hi);
        for (float v : d) assertThat(v).isEqualTo(lo);
    }

    @Test
    void nextIntBoundIsUniformByChiSquare() {
        Rng r = new Rng(5);
        int k = 10, n = 200_000;
        long[] counts = new long[k];
        for (int i = 0; i < n; i++) counts[r.nextInt(k)]++;
        double expected = (double) n / k, chi2 = 0;
        for (long c : counts) chi2 += (c - expected) * (c - expected) / expected;
        // 9 degrees of freedom: P(chi2 > 33.7) = 1e-4.
        assertThat(chi2).isLessThan(33.7);
    }

    @Test
    void nextIntHasNoModuloBiasForLargeBounds() {
        // bound = 3·2^29: plain (u mod bound) would put 2/3 of the mass in the lower half; unbiased gives 1/2.
        Rng r = new Rng(6);
        int bound = 3 << 29, n = 200_000, low = 0;
        for (int i = 0; i < n; i++) {
            int v = r.nextInt(bound);
            assertThat(v).isBetween(0, bound - 1);
            if (v < bound / 2) low++;
        }
        assertThat(low / (double) n).isCloseTo(0.5, within(0.01));
    }

    @Test
    void nextIntRanges() {
        Rng r = new Rng(7);
        boolean[] seen = new boolean[7];
        for (int i = 0; i < 1000; i++) {
            int v = r.nextInt(-3, 4);
            assertThat(v).isBetween(-3, 3);
            seen[v + 3] = true;
        }
        for (boolean s : seen) assertThat(s).isTrue();
        int neg = 0;
        for (int i = 0; i < 10_000; i++) if (r.nextInt(Integer.MIN_VALUE, Integer.MAX_VALUE) < 0) neg++;
        assertThat(neg / 10_000.0).isCloseTo(0.5, within(0.03));
        assertThat(r.nextInt(1)).isZero();
        assertThatThrownBy(() -> r.nextInt(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> r.nextInt(5, 5)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shuffleIsAPermutationAndMovesThings() {
        Rng r = new Rng(8);
        int[] a = new int[1000];
        for (int i = 0; i < a.length; i++) a[i] = i;
        r.shuffle(a);
        int fixed = 0;
        for (int i = 0; i < a.length; i++) if (a[i] == i) fixed++;
        assertThat(fixed).isLessThan(10); // expected about 1
        int[] sorted = a.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) assertThat(sorted[i]).isEqualTo(i);
        assertThat(new Rng(8).permutation(1000)).containsExactly(a);
        r.shuffle(new int[0]);
    }

    @Test
    void shuffleOfThreeGivesAllSixOrdersEvenly() {
        Rng r = new Rng(10);
        java.util.Map<String, Integer> counts = new java.util.HashMap<>();
        for (int i = 0; i < 60_000; i++) counts.merge(Arrays.toString(r.permutation(3)), 1, Integer::sum);
        assertThat(counts).hasSize(6);
        for (int c : counts.values()) assertThat(c).isBetween(9_500, 10_500);
    }

    // ------------------------------------------------------------ streams

    @Test
    void sameSeedSameSequence() {
        Rng a = new Rng(123), b = new Rng(123), c = new Rng(124);
        boolean differs = false;
        for (int i = 0; i < 100; i++) {
            long x = a.nextLong();
            assertThat(b.nextLong()).isEqualTo(x);
            differs |= c.nextLong() != x;
        }
        assertThat(differs).isTrue();
        assertThat(new Rng(5).nextGaussian()).isEqualTo(new Rng(5).nextGaussian());
    }

    @Test
    void splitAdvancesTheParentAndIsReproducible() {
        Rng p1 = new Rng(77), p2 = new Rng(77);
        Rng c1 = p1.split(), c2 = p2.split();
        assertThat(firstLongs(c1, 20)).containsExactly(firstLongs(c2, 20));
        // The parent advanced by exactly one draw.
        Rng ref = new Rng(77);
        ref.nextLong();
        assertThat(p1.nextLong()).isEqualTo(ref.nextLong());
        // Successive splits and the parent differ.
        Rng p = new Rng(77);
        long[] a = firstLongs(p.split(), 20), b = firstLongs(p.split(), 20), parent = firstLongs(p, 20);
        assertThat(a).isNotEqualTo(b);
        assertThat(a).isNotEqualTo(parent);
        assertThat(b).isNotEqualTo(parent);
    }

    @Test
    void forkDependsOnlyOnSeedAndStreamId() {
        Rng p = new Rng(99);
        long[] f0 = firstLongs(p.fork(0), 20);
        p.nextLong();
        p.nextGaussian();
        assertThat(firstLongs(p.fork(0), 20)).containsExactly(f0); // state not used
        Rng q = new Rng(99);
        long[] own = firstLongs(q, 20);
        assertThat(firstLongs(new Rng(99).fork(0), 20)).containsExactly(f0);
        long[] f1 = firstLongs(p.fork(1), 20);
        assertThat(f1).isNotEqualTo(f0);
        assertThat(own).isNotEqualTo(f0);
        assertThat(firstLongs(new Rng(100).fork(0), 20)).isNotEqualTo(f0);
        // fork does not advance the parent
        Rng r = new Rng(99);
        r.fork(3);
        assertThat(firstLongs(r, 20)).containsExactly(own);
        // forks of children are distinct from forks of the parent
        assertThat(firstLongs(new Rng(99).split().fork(0), 20)).isNotEqualTo(f0);
    }

    @Test
    void snapshotRestoreContinuesExactly() {
        Rng r = new Rng(11);
        r.nextGaussian(); // leaves a spare pending
        Rng s = Rng.restore(r.snapshot());
        assertThat(s.nextGaussian()).isEqualTo(r.nextGaussian());
        assertThat(firstLongs(s, 10)).containsExactly(firstLongs(r, 10));
        assertThat(firstLongs(s.fork(2), 5)).containsExactly(firstLongs(r.fork(2), 5));
        assertThatThrownBy(() -> Rng.ofState(0, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    private static long[] firstLongs(Rng r, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) out[i] = r.nextLong();
        return out;
    }
}
