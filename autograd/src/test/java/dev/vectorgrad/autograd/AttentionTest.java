package dev.vectorgrad.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * The one attention op ({@link Attention}) against a naive double-precision reference, and the properties its
 * users rely on: a padded batch gives each row's own result (BERT), decoding with a cache gives the uncached
 * forward (GPT), a row that sees no key gives zeros. Gradient checks are in {@link OpsGradCheckTest}.
 */
class AttentionTest {

    /**
     * softmax(q·kᵀ/√D + mask)·v in doubles, q [B, Tq, H, D], k, v [B, Tk, H, D], causal bottom-right aligned,
     * {@code visible} [B·Tk] or null; a row with no visible key gives zeros.
     */
    static double[] naive(double[] q, double[] k, double[] v, int b, int tq, int tk, int h, int d, boolean causal, boolean[] visible) {
        double[] o = new double[b * tq * h * d];
        double scale = 1 / Math.sqrt(d);
        for (int bi = 0; bi < b; bi++)
            for (int hi = 0; hi < h; hi++)
                for (int i = 0; i < tq; i++) {
                    double[] s = new double[tk];
                    boolean[] on = new boolean[tk];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < tk; j++) {
                        on[j] = (!causal || j <= i + tk - tq) && (visible == null || visible[bi * tk + j]);
                        if (!on[j]) continue;
                        double dot = 0;
                        for (int p = 0; p < d; p++) dot += q[((bi * tq + i) * h + hi) * d + p] * k[((bi * tk + j) * h + hi) * d + p];
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j < tk; j++) if (on[j]) z += s[j] = Math.exp(s[j] - max);
                    for (int j = 0; j < tk; j++)
                        if (on[j])
                            for (int p = 0; p < d; p++) o[((bi * tq + i) * h + hi) * d + p] += s[j] / z * v[((bi * tk + j) * h + hi) * d + p];
                }
        return o;
    }

    /** [B·Tk] flags: row b sees its first lengths[b] keys. */
    static boolean[] prefixMask(int tk, int... lengths) {
        boolean[] m = new boolean[lengths.length * tk];
        for (int b = 0; b < lengths.length; b++) Arrays.fill(m, b * tk, b * tk + lengths[b], true);
        return m;
    }

    /** q, k, v [B, T, H, D] of a packed [B, T, 3, H, D]. */
    static double[][] unpack(double[] x, int b, int t, int h, int d) {
        double[][] r = new double[3][b * t * h * d];
        for (int row = 0; row < b * t; row++)
            for (int w = 0; w < 3; w++) System.arraycopy(x, (row * 3 + w) * h * d, r[w], row * h * d, h * d);
        return r;
    }

    static Tensor normal(Rng r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        r.fillNormal(t.storage(), 0, t.numel(), 0, 1);
        return t;
    }

    static double[] dbl(Tensor t) {
        return OpsGradCheckTest.toDouble(t);
    }

    @Test
    void forwardMatchesNaiveReference() {
        // T = 1, odd T, T past a vector multiple and past 64; head sizes below, at and between vector multiples;
        // fewer queries than keys; masks as lengths and with holes; D = 48 passes the 2-vector tile at 8 and 16 lanes
        int[][] shapes = {{2, 6, 6, 3, 4}, {1, 1, 1, 2, 4}, {2, 9, 9, 2, 5}, {1, 70, 70, 3, 32}, {1, 17, 17, 1, 40}, {1, 33, 33, 1, 64},
                {2, 5, 19, 2, 12}, {1, 20, 20, 2, 48}};
        Rng r = new Rng(8);
        for (int[] s : shapes)
            for (boolean causal : new boolean[] {true, false})
                for (int maskKind = 0; maskKind < 3; maskKind++) {
                    int b = s[0], tq = s[1], tk = s[2], h = s[3], d = s[4];
                    boolean[] visible = null;
                    if (maskKind == 1) { // right padding: the last row loses about a third of its keys
                        int[] len = new int[b];
                        for (int i = 0; i < b; i++) len[i] = i == b - 1 ? Math.max(1, tk - tk / 3) : tk;
                        visible = prefixMask(tk, len);
                    } else if (maskKind == 2) { // random holes
                        visible = new boolean[b * tk];
                        for (int i = 0; i < visible.length; i++) visible[i] = r.nextFloat() < 0.7f;
                    }
                    Tensor q = normal(r, b, tq, h, d), k = normal(r, b, tk, h, d), v = normal(r, b, tk, h, d);
                    Attention.KeyMask mask = visible == null ? null : Attention.KeyMask.of(visible, b, tk);
                    float[] got = F.attention(Variable.of(q), Variable.of(k), Variable.of(v), causal, mask).data().toArray();
                    double[] want = naive(dbl(q), dbl(k), dbl(v), b, tq, tk, h, d, causal, visible);
                    for (int i = 0; i < want.length; i++)
                        assertThat((double) got[i]).as("%s causal=%b mask=%d at %d", Arrays.toString(s), causal, maskKind, i)
                                .isCloseTo(want[i], Offset.offset(2e-5));
                }
    }

    /** Keys given transposed ([B, H, D, T] storage, T the unit stride): read in place when padded, else copied. */
    @Test
    void keysStoredTransposed() {
        Rng r = new Rng(9);
        for (int t : new int[] {32, 21}) { // 32: a whole number of vectors of every supported width; 21: not
            int b = 2, h = 3, d = 5;
            Tensor q = normal(r, b, t, h, d), v = normal(r, b, t, h, d), kt = normal(r, b, h, d, t);
            Tensor k = kt.permute(0, 3, 1, 2); // [B, T, H, D]
            for (boolean causal : new boolean[] {true, false}) {
                float[] got = F.attention(Variable.of(q), Variable.of(k), Variable.of(v), causal, null).data().toArray();
                double[] want = naive(dbl(q), dbl(k), dbl(v), b, t, t, h, d, causal, null);
                for (int i = 0; i < want.length; i++) assertThat((double) got[i]).as("T %d at %d", t, i).isCloseTo(want[i], Offset.offset(2e-5));
            }
        }
    }

    /** What the BERT encoder needs: a right-padded batch gives every row the output and gradients of that row alone. */
    @Test
    void paddedBatchEqualsEachRowAlone() {
        int t = 9, h = 2, d = 12;
        int[] len = {9, 4, 1};
        int b = len.length;
        Rng r = new Rng(5);
        Tensor q = normal(r, b, t, h, d), k = normal(r, b, t, h, d), v = normal(r, b, t, h, d), g = normal(r, b, t, h, d);
        for (int bi = 0; bi < b; bi++) // garbage in the padding, and no gradient from padded query rows
            for (int i = len[bi]; i < t; i++) {
                for (Tensor x : new Tensor[] {q, k, v}) x.select(0, bi).select(0, i).fill(1e3f * (i + 1));
                g.select(0, bi).select(0, i).fill(0f);
            }
        int[] am = new int[b * t];
        for (int bi = 0; bi < b; bi++) Arrays.fill(am, bi * t, bi * t + len[bi], 1);
        Attention.KeyMask[] masks = {Attention.KeyMask.lengths(len), Attention.KeyMask.fromAttentionMask(IntTensor.wrap(am, b, t))};
        for (boolean causal : new boolean[] {false, true})
            for (Attention.KeyMask mask : masks) {
                Variable qb = Variable.param(q), kb = Variable.param(k), vb = Variable.param(v);
                Variable ob = F.attention(qb, kb, vb, causal, mask);
                ob.backward(g);
                for (int bi = 0; bi < b; bi++) {
                    int n = len[bi];
                    Variable q1 = Variable.param(q.narrow(0, bi, 1).narrow(1, 0, n).copy());
                    Variable k1 = Variable.param(k.narrow(0, bi, 1).narrow(1, 0, n).copy());
                    Variable v1 = Variable.param(v.narrow(0, bi, 1).narrow(1, 0, n).copy());
                    Variable o1 = F.attention(q1, k1, v1, causal, null);
                    o1.backward(g.narrow(0, bi, 1).narrow(1, 0, n).copy());
                    String what = "row " + bi + (causal ? " causal" : "");
                    // the same sums in the same order: equal to the bit
                    assertThat(ob.data().narrow(0, bi, 1).narrow(1, 0, n).toArray()).as(what + " output").containsExactly(o1.data().toArray());
                    assertThat(qb.grad().narrow(0, bi, 1).narrow(1, 0, n).toArray()).as(what + " dq").containsExactly(q1.grad().toArray());
                    assertThat(kb.grad().narrow(0, bi, 1).narrow(1, 0, n).toArray()).as(what + " dk").containsExactly(k1.grad().toArray());
                    assertThat(vb.grad().narrow(0, bi, 1).narrow(1, 0, n).toArray()).as(what + " dv").containsExactly(v1.grad().toArray());
                    // padded keys get no gradient
                    for (float x : kb.grad().narrow(0, bi, 1).narrow(1, n, t - n).toArray()) assertThat(x).isZero();
                    for (float x : vb.grad().narrow(0, bi, 1).narrow(1, n, t - n).toArray()) assertThat(x).isZero();
                }
            }
    }

    /** Decoding with a cache (a prompt, then one position at a time, then a chunk) gives the rows of the uncached causal forward. */
    @Test
    void cachedDecodingEqualsUncachedForward() {
        int b = 2, t = 13, h = 2, d = 20;
        Rng r = new Rng(6);
        Tensor qkv = normal(r, b, t, 3, h, d);
        float[] full = F.attentionQkvPacked(Variable.of(qkv), true, null, 0f, false, null).data().toArray();
        Attention.Cache cache = new Attention.Cache(b, t, h, d);
        int[] chunks = {4, 1, 1, 1, 3, 1, 2};
        int pos = 0;
        for (int n : chunks) {
            Tensor now = qkv.narrow(1, pos, n);
            cache.append(now.select(2, 1), now.select(2, 2));
            assertThat(cache.length()).isEqualTo(pos + n);
            Tensor y = F.attention(Variable.of(now.select(2, 0)), cache.keys(), cache.values(), true, null).data();
            assertThat(y.shape()).containsExactly(b, n, h, d);
            for (int bi = 0; bi < b; bi++)
                for (int i = 0; i < n; i++) {
                    int at = ((bi * t) + pos + i) * h * d;
                    assertThat(y.select(0, bi).select(0, i).toArray()).as("batch %d position %d", bi, pos + i)
                            .containsExactly(Arrays.copyOfRange(full, at, at + h * d));
                }
            pos += n;
        }
        assertThat(pos).isEqualTo(t);
        assertThatThrownBy(() -> cache.append(qkv.narrow(1, 0, 1).select(2, 1), qkv.narrow(1, 0, 1).select(2, 2)))
                .hasMessageContaining("exceed the capacity " + t);
        cache.truncate(2);
        assertThat(cache.keys().shape()).containsExactly(b, 2, h, d);
        cache.clear();
        assertThat(cache.length()).isZero();
    }

    /** A row that sees no key outputs zeros (not softmax's 0/0) and passes no gradient; the other rows are untouched. */
    @Test
    void rowWithoutVisibleKeysGivesZeros() {
        int b = 2, t = 5, h = 1, d = 3;
        Rng r = new Rng(7);
        Tensor q = normal(r, b, t, h, d), k = normal(r, b, t, h, d), v = normal(r, b, t, h, d);
        for (Attention.KeyMask mask : new Attention.KeyMask[] {Attention.KeyMask.lengths(t, 0),
                Attention.KeyMask.of(prefixMask(t, t, 0), b, t)})
            for (boolean causal : new boolean[] {false, true}) {
                Variable qv = Variable.param(q), kv = Variable.param(k), vv = Variable.param(v);
                Variable o = F.attention(qv, kv, vv, causal, mask);
                o.backward(Tensor.ones(b, t, h, d));
                for (float x : o.data().select(0, 1).toArray()) assertThat(x).isZero();
                for (Variable x : new Variable[] {qv, kv, vv}) for (float y : x.grad().select(0, 1).toArray()) assertThat(y).isZero();
                double[] want = naive(dbl(q), dbl(k), dbl(v), b, t, t, h, d, causal, null);
                float[] got = o.data().select(0, 0).toArray();
                for (int i = 0; i < got.length; i++) assertThat((double) got[i]).isCloseTo(want[i], Offset.offset(1e-5));
            }
        // a hole-y mask with one row fully hidden in the middle of the batch works the same
        boolean[] vis = {true, false, true, false, false, false, false, false, false, false};
        float[] o = F.attention(Variable.of(q), Variable.of(k), Variable.of(v), false, Attention.KeyMask.of(vis, b, t)).data().toArray();
        for (float x : o) assertThat(x).isFinite();
        for (float x : Arrays.copyOfRange(o, t * d, 2 * t * d)) assertThat(x).isZero();
    }

    @Test
    void badShapesAndMasksAreRejected() {
        Variable q = Variable.of(Tensor.zeros(2, 4, 2, 3)), k = Variable.of(Tensor.zeros(2, 3, 2, 3));
        assertThatThrownBy(() -> F.attention(Variable.of(Tensor.zeros(2, 4, 6)), k, k, false, null))
                .hasMessageContaining("q must be [B, Tq, H, D]").hasMessageContaining("[2, 4, 6]");
        assertThatThrownBy(() -> F.attention(q, k, Variable.of(Tensor.zeros(2, 3, 2, 4)), false, null)).hasMessageContaining("[2, 3, 2, 4]");
        assertThatThrownBy(() -> F.attention(q, k, k, true, null)).hasMessageContaining("Tq 4 > Tk 3");
        assertThatThrownBy(() -> F.attention(q, k, k, false, Attention.KeyMask.lengths(3))).hasMessageContaining("1 rows, the batch has 2");
        assertThatThrownBy(() -> F.attention(q, k, k, false, Attention.KeyMask.lengths(3, 4))).hasMessageContaining("length 4 of row 1");
        assertThatThrownBy(() -> F.attention(q, k, k, false, Attention.KeyMask.of(new boolean[8], 2, 4))).hasMessageContaining("covers 4 keys");
        assertThatThrownBy(() -> Attention.KeyMask.lengths(2, -1)).hasMessageContaining("length -1 of row 1");
        assertThatThrownBy(() -> Attention.KeyMask.fromAttentionMask(IntTensor.wrap(new int[] {1, 2}, 1, 2))).hasMessageContaining("got 2");
        assertThatThrownBy(() -> F.attentionQkvPacked(Variable.of(Tensor.zeros(1, 2, 6)), true, null, 0f, false, null))
                .hasMessageContaining("[B, T, 3, H, D]");
        assertThatThrownBy(() -> new Attention.Cache(1, 4, 2, 3).append(Tensor.zeros(1, 1, 2, 3), Tensor.zeros(1, 1, 3, 3)))
                .hasMessageContaining("[1, 1, 3, 3]");
    }
}
