package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * Scaled dot-product attention, O = softmax(Q·Kᵀ/√D + mask)·V, as one fused autograd node: the one
 * implementation behind the GPT's training step, its cached decoding and the BERT encoder.
 *
 * <p><b>Layout</b> (flash-attn's): time-major, heads side by side, as a linear projection writes them:
 * q [B, Tq, H, D], k and v [B, Tk, H, D], output [B, Tq, H, D] (dense, so {@code reshape(B, Tq, H·D)} is free).
 * The inputs may be strided views (slices of one fused projection, a transposed [B, H, T, D], a cache) and are
 * read in place as long as D is their unit-stride axis (or, for keys without a gradient, T: {@link Cache}'s
 * layout); others are copied once. {@link F#attentionQkvPacked} takes the fused projection itself,
 * qkv [B, T, 3, H, D], and returns its gradient in one buffer of that shape.
 *
 * <p><b>Masks.</b> Causal: query i sees keys j ≤ i + (Tk − Tq), i.e. the Tq queries are the last Tq of the Tk
 * positions (bottom-right aligned: the usual triangle when Tq = Tk, and what decoding after a cache needs;
 * causal requires Tq ≤ Tk). {@link KeyMask}: per batch row, a length or a boolean mask over the keys; a masked
 * key gets probability exactly 0 (and no gradient). A query row that sees no key at all (every key masked)
 * outputs zeros and passes no gradient, instead of softmax's 0/0.
 *
 * <p><b>Cache.</b> {@link Cache} holds the keys and values of past positions; decoding appends the new
 * positions' k, v and attends causally over all of them:
 * {@code cache.append(k, v); y = F.attention(q, cache.keys(), cache.values(), true, null)}.
 *
 * <p>Dropout on the attention weights (training only) draws one {@link Rng#nextFloat()} per (b, h, i, j) in that
 * order, over all Tq × Tk pairs.
 */
public final class Attention {
    private Attention() {}

    /** Which keys each batch row may attend to: a length per row, or a boolean mask over [B, Tk]. */
    public static final class KeyMask {
        /** Per row: keys at or past this index are masked (for a boolean mask: one past the last visible key). */
        final int[] limit;
        /** [B·Tk] true where visible, or null when every row is a prefix (then {@link #limit} says it all). */
        final boolean[] visible;
        final int keys; // Tk of a boolean mask, -1 for lengths

        private KeyMask(int[] limit, boolean[] visible, int keys) {
            this.limit = limit;
            this.visible = visible;
            this.keys = keys;
        }

        /** Row b sees keys [0, lengths[b]) (right padding, as a batch of sequences of different lengths). */
        public static KeyMask lengths(int... lengths) {
            for (int i = 0; i < lengths.length; i++)
                if (lengths[i] < 0) throw new IllegalArgumentException("KeyMask: length " + lengths[i] + " of row " + i + " is negative");
            return new KeyMask(lengths.clone(), null, -1);
        }

        /** Row b sees key j where {@code visible[b·keys + j]}; {@code visible.length} must be batch·keys. */
        public static KeyMask of(boolean[] visible, int batch, int keys) {
            if (batch < 0 || keys < 0 || visible.length != (long) batch * keys)
                throw new IllegalArgumentException("KeyMask: " + visible.length + " flags do not make [" + batch + ", " + keys + "]");
            int[] limit = new int[batch];
            boolean prefix = true;
            for (int b = 0; b < batch; b++) {
                int last = -1, count = 0;
                for (int j = 0; j < keys; j++)
                    if (visible[b * keys + j]) {
                        last = j;
                        count++;
                    }
                limit[b] = last + 1;
                prefix &= count == last + 1;
            }
            return new KeyMask(limit, prefix ? null : visible.clone(), keys);
        }

        /** Hugging Face's {@code attention_mask} [B, Tk]: 1 = attend, 0 = padding. */
        public static KeyMask fromAttentionMask(IntTensor mask) {
            int[] s = mask.shape();
            if (s.length != 2) throw new IllegalArgumentException("KeyMask: attention mask must be [B, Tk], got " + Arrays.toString(s));
            int[] m = mask.storage();
            boolean[] v = new boolean[m.length];
            for (int i = 0; i < m.length; i++) {
                if (m[i] != 0 && m[i] != 1)
                    throw new IllegalArgumentException("KeyMask: attention mask entries must be 0 or 1, got " + m[i] + " at flat index " + i);
                v[i] = m[i] == 1;
            }
            return of(v, s[0], s[1]);
        }

        void check(int batch, int tk) {
            if (limit.length != batch)
                throw new IllegalArgumentException("attention: key mask has " + limit.length + " rows, the batch has " + batch);
            if (keys >= 0 && keys != tk)
                throw new IllegalArgumentException("attention: key mask covers " + keys + " keys, k has " + tk);
            for (int b = 0; b < batch; b++)
                if (limit[b] > tk) throw new IllegalArgumentException("attention: length " + limit[b] + " of row " + b + " exceeds the " + tk + " keys");
        }
    }

    /**
     * Keys and values of the positions seen so far, for incremental decoding: {@link #append} the new positions,
     * then attend over {@link #keys()} / {@link #values()}, views [B, length, H, D] without a copy. Values are
     * stored [B, capacity, H, D]; keys transposed, [B, H, D, capacity rounded up to whole vectors], which is the
     * layout the score kernel reads, so a decoding step does not transpose the whole prefix again.
     */
    public static final class Cache {
        private final float[] k, v;
        private final int batch, capacity, heads, headSize, padded;
        private int length;

        public Cache(int batch, int capacity, int heads, int headSize) {
            if (batch <= 0 || capacity <= 0 || heads <= 0 || headSize <= 0)
                throw new IllegalArgumentException("Cache: sizes must be positive, got batch " + batch + ", capacity " + capacity
                        + ", heads " + heads + ", head size " + headSize);
            this.padded = AttentionKernels.padded(capacity);
            long n = (long) batch * padded * heads * headSize;
            if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("Cache: " + n + " floats per tensor is too large");
            this.batch = batch;
            this.capacity = capacity;
            this.heads = heads;
            this.headSize = headSize;
            this.k = new float[(int) n];
            this.v = new float[batch * capacity * heads * headSize];
        }

        /** Writes k, v [B, n, H, D] (views allowed) at positions [length, length + n). */
        public void append(Tensor kNew, Tensor vNew) {
            int[] s = kNew.shape();
            if (s.length != 4 || s[0] != batch || s[2] != heads || s[3] != headSize || !Arrays.equals(s, vNew.shape()))
                throw new IllegalArgumentException("Cache.append: k and v must both be [" + batch + ", n, " + heads + ", " + headSize
                        + "], got " + Arrays.toString(s) + " and " + Arrays.toString(vNew.shape()));
            if (length + s[1] > capacity)
                throw new IllegalArgumentException("Cache.append: " + length + " cached + " + s[1] + " new positions exceed the capacity " + capacity);
            allKeys().narrow(1, length, s[1]).copyFrom(kNew);
            allValues().narrow(1, length, s[1]).copyFrom(vNew);
            length += s[1];
        }

        private Tensor allKeys() { // [B, padded, H, D] over the [B, H, D, padded] storage
            return Tensor.wrap(k, batch, heads, headSize, padded).permute(0, 3, 1, 2);
        }

        private Tensor allValues() {
            return Tensor.wrap(v, batch, capacity, heads, headSize);
        }

        /** The cached keys, a view [B, length, H, D] (T the unit stride). */
        public Variable keys() {
            return Variable.of(allKeys().narrow(1, 0, length));
        }

        /** The cached values, a view [B, length, H, D]. */
        public Variable values() {
            return Variable.of(allValues().narrow(1, 0, length));
        }

        /** Positions cached so far. */
        public int length() {
            return length;
        }

        public int capacity() {
            return capacity;
        }

        /** Keeps the first {@code n} positions (0 ≤ n ≤ length), e.g. to undo an interrupted step. */
        public void truncate(int n) {
            if (n < 0 || n > length) throw new IllegalArgumentException("Cache.truncate: " + n + " is outside [0, " + length + "]");
            length = n;
        }

        public void clear() {
            length = 0;
        }
    }

    // ------------------------------------------------------------------ entry points (F's)

    static Variable apply(Variable q, Variable k, Variable v, boolean causal, KeyMask mask, float dropout, boolean training, Rng rng) {
        int[] qs = q.shape(), ks = k.shape();
        if (qs.length != 4 || ks.length != 4 || !Arrays.equals(ks, v.shape()) || qs[0] != ks[0] || qs[2] != ks[2] || qs[3] != ks[3])
            throw new IllegalArgumentException("attention: q must be [B, Tq, H, D] and k, v [B, Tk, H, D], got " + Arrays.toString(qs)
                    + ", " + Arrays.toString(ks) + ", " + Arrays.toString(v.shape()));
        Sdpa n = new Sdpa(qs[0], qs[1], ks[1], qs[2], qs[3], causal, mask, dropout);
        n.q = Operand.rows(q.data());
        n.v = Operand.rows(v.data());
        // Keys stored transposed (T the unit stride, as Cache keeps them) skip the per-head transpose; backward
        // needs K's rows, so only without a gradient.
        Operand kt = Operand.of(k.data(), 0);
        n.k = kt.st() == 1 && kt.sd() >= n.tp && !Node.needed(q, k, v) && kt.fits(n.b, n.h, n.d, n.tp) ? kt : Operand.rows(k.data());
        return n.run(training, rng, q, k, v);
    }

    static Variable applyPacked(Variable qkv, boolean causal, KeyMask mask, float dropout, boolean training, Rng rng) {
        int[] s = qkv.shape();
        if (s.length != 5 || s[2] != 3)
            throw new IllegalArgumentException("attention: packed qkv must be [B, T, 3, H, D], got " + Arrays.toString(s));
        Sdpa n = new Sdpa(s[0], s[1], s[1], s[3], s[4], causal, mask, dropout);
        Tensor x = qkv.data();
        if (x.strides()[4] != 1) x = x.contiguous(); // once for the three slices
        n.q = Operand.of(x, 0);
        n.k = Operand.of(x, 1);
        n.v = Operand.of(x, 2);
        n.packed = true;
        return n.run(training, rng, qkv);
    }

    /**
     * A [B, T, H, D] tensor (or slice {@code which} of a packed [B, T, 3, H, D]) in place: element (b, t, h, d) at
     * a[off + b·sb + t·st + h·sh + d·sd]. The kernels read rows (sd = 1), or for keys also columns (st = 1).
     */
    record Operand(float[] a, int off, int sb, int st, int sh, int sd) {
        static Operand of(Tensor x, int which) {
            int[] st = x.strides();
            return st.length == 5 ? new Operand(x.storage(), x.offset() + which * st[2], st[0], st[1], st[3], st[4])
                    : new Operand(x.storage(), x.offset(), st[0], st[1], st[2], st[3]);
        }

        /** x with unit-stride rows (a dense copy when D is not its unit-stride axis). */
        static Operand rows(Tensor x) {
            return of(x.strides()[3] == 1 ? x : x.contiguous(), 0);
        }

        int at(int b, int h) {
            return off + b * sb + h * sh;
        }

        /** For transposed keys: every head's D columns have room for tp (padded) entries inside the array. */
        boolean fits(int batch, int heads, int dd, int tp) {
            return off >= 0 && sb >= 0 && sh >= 0 && (long) off + (long) (batch - 1) * sb + (long) (heads - 1) * sh + (long) (dd - 1) * sd + tp <= a.length;
        }
    }

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[5][0]);

    private static float[] scratch(int which, int n) {
        float[][] s = SCRATCH.get();
        if (s[which].length < n) s[which] = new float[n];
        return s[which];
    }

    /**
     * The node. One (batch, head) pair per pool task, so every output and gradient element is a task's own and
     * is summed in an order fixed by the shapes: the same bits for every thread count. Forward saves the
     * probabilities P (B·H·Tq·padded(Tk) floats, zero past each row's last visible key) instead of recomputing
     * Q·Kᵀ and the softmax in backward, and the dropout keep-mask when dropout is on.
     */
    static final class Sdpa extends Node {
        final int b, tq, tk, h, d, tp;
        final boolean causal;
        final int[] limit; // per batch row: keys at or past it are masked; null = none
        final boolean[] visible; // [B·Tk] or null
        final float scale, dropout;
        Operand q, k, v;
        boolean packed;
        float[] probs; // per (b, h): Tq rows of stride tp
        float[] drop; // per (b, h): Tq × Tk keep mask scaled by 1/(1 − p), or null

        Sdpa(int b, int tq, int tk, int h, int d, boolean causal, KeyMask mask, float dropout) {
            if (d == 0 || h == 0) throw new IllegalArgumentException("attention: heads and head size must be positive, got H " + h + ", D " + d);
            if (causal && tq > tk)
                throw new IllegalArgumentException("attention: causal needs at least as many keys as queries, got Tq " + tq + " > Tk " + tk);
            if (!(dropout >= 0f && dropout <= 1f)) throw new IllegalArgumentException("attention: dropout must be in [0, 1], got " + dropout);
            if (mask != null) mask.check(b, tk);
            this.b = b;
            this.tq = tq;
            this.tk = tk;
            this.h = h;
            this.d = d;
            this.tp = AttentionKernels.padded(tk);
            if ((long) b * h * tq * tp > Integer.MAX_VALUE - 8)
                throw new IllegalArgumentException("attention: " + b + "·" + h + " heads × " + tq + " × " + tk
                        + " attention weights do not fit one array; split the batch");
            this.causal = causal;
            this.limit = mask == null ? null : mask.limit;
            this.visible = mask == null ? null : mask.visible;
            this.scale = (float) (1.0 / Math.sqrt(d));
            this.dropout = dropout;
        }

        /** Keys that any query of batch row bi may see: [0, keyLimit). */
        int keyLimit(int bi) {
            return limit == null ? tk : limit[bi];
        }

        /** Query i of batch row bi sees keys [0, rowLen) (a boolean mask may hide some of them). */
        int rowLen(int bi, int i) {
            int n = causal ? i + 1 + tk - tq : tk;
            return limit == null ? n : Math.min(n, limit[bi]);
        }

        /** The first query row that sees key j (every later row does too). */
        int firstRow(int j) {
            return causal ? Math.max(0, j - (tk - tq)) : 0;
        }

        Variable run(boolean training, Rng rng, Variable... inputs) {
            int bh = b * h;
            if (training && dropout > 0f) {
                float keep = 1f / (1f - dropout);
                float[] m = new float[bh * tq * tk];
                for (int i = 0; i < m.length; i++) m[i] = rng.nextFloat() < dropout ? 0f : keep;
                drop = m;
            }
            boolean grad = Node.needed(inputs);
            probs = grad ? StepArena.floats(bh * tq * tp) : null;
            float[] out = StepArena.floats(bh * tq * d);
            forward(out);
            if (!grad) q = k = v = null;
            return Node.record(this, Tensor.wrap(out, b, tq, h, d), inputs);
        }

        /** Runs body for every (b, h) task: on the pool, or inline when the whole job is a few microseconds (decoding). */
        void forTasks(java.util.function.IntConsumer body) {
            if ((long) b * h * tq * tk * d < 1 << 17) for (int t = 0; t < b * h; t++) body.accept(t);
            else Parallel.forRange(b * h, body);
        }

        // S = scale·Q·Kᵀ [Tq, Tk], P = softmax(S + mask) row-wise, O = (P ⊙ dropout)·V [Tq, D] per (b, h)
        private void forward(float[] out) {
            int Tq = tq, Tk = tk, D = d, H = h, C = H * D, tp = this.tp;
            float[] mk = drop, saved = probs;
            forTasks(task -> {
                int bi = task / H, hi = task % H, nk = keyLimit(bi);
                float[] p = saved != null ? saved : scratch(1, Tq * tp);
                int p0 = saved != null ? task * Tq * tp : 0;
                int q0 = q.at(bi, hi), o0 = bi * Tq * C + hi * D;
                float[] kt = k.a(); // Kᵀ: K[j, d] at kt[kt0 + d·ldk + j], the keys' own storage when they come transposed
                int kt0 = k.at(bi, hi), ldk = k.sd();
                if (ldk == 1) {
                    kt = scratch(0, D * tp);
                    AttentionKernels.transpose(k.a(), kt0, k.st(), nk, D, kt, tp);
                    kt0 = 0;
                    ldk = tp;
                }
                for (int i = 0; i < Tq; i += 4) {
                    int rows = Math.min(4, Tq - i); // a tile's last row sees the most keys
                    AttentionKernels.scoresTile(q.a(), q0 + i * q.st(), q.st(), rows, D, kt, kt0, ldk, rowLen(bi, i + rows - 1), scale,
                            p, p0 + i * tp, tp);
                }
                for (int i = 0; i < Tq; i++) softmaxRow(p, p0 + i * tp, bi, rowLen(bi, i));
                float[] pv = p; // what multiplies V: P, or P ⊙ dropout mask (P itself stays saved)
                int w0 = p0;
                if (mk != null) {
                    pv = scratch(4, Tq * tp);
                    w0 = 0;
                    for (int i = 0; i < Tq; i++) maskRow(p, p0 + i * tp, mk, (task * Tq + i) * Tk, rowLen(bi, i), pv, i * tp);
                }
                for (int i = 0; i < Tq; i += 4) {
                    // four rows share the last one's key range: the others' P is 0 past their own
                    int i1 = Math.min(i + 1, Tq - 1), i2 = Math.min(i + 2, Tq - 1), i3 = Math.min(i + 3, Tq - 1);
                    AttentionKernels.combine4(pv, w0 + i * tp, w0 + i1 * tp, w0 + i2 * tp, w0 + i3 * tp, 1, rowLen(bi, i3),
                            v.a(), v.at(bi, hi), v.st(), D, 1f, out, o0 + i * C, o0 + i1 * C, o0 + i2 * C, o0 + i3 * C);
                }
            });
        }

        /** Softmax of the scores s[o, o+len) of batch row bi, hidden keys and [len, tp) exact zeros; all zeros when no key is visible. */
        private void softmaxRow(float[] s, int o, int bi, int len) {
            boolean any = len > 0;
            if (visible != null && any) {
                any = false;
                for (int j = 0, m = bi * tk; j < len; j++) {
                    if (visible[m + j]) any = true;
                    else s[o + j] = Float.NEGATIVE_INFINITY;
                }
            }
            if (!any) {
                Arrays.fill(s, o, o + tp, 0f);
                return;
            }
            AttentionKernels.softmaxRow(s, o, len, tp);
            if (visible != null) for (int j = 0, m = bi * tk; j < len; j++) if (!visible[m + j]) s[o + j] = 0f;
        }

        /** dst[do + j] = p[po + j]·m[mo + j] for j < len, zeros over [len, tp). */
        private void maskRow(float[] p, int po, float[] m, int mo, int len, float[] dst, int dO) {
            for (int j = 0; j < len; j++) dst[dO + j] = p[po + j] * m[mo + j];
            Arrays.fill(dst, dO + len, dO + tp, 0f);
        }

        // dPd = dO·Vᵀ, dP = dPd ⊙ dropout, dS = P ⊙ (dP − rowsum(dP ⊙ P)),
        // dQ = scale·dS·K [Tq, D], dK = scale·dSᵀ·Q [Tk, D], dV = (P ⊙ dropout)ᵀ·dO [Tk, D] per (b, h)
        @Override
        protected Tensor[] backward(Tensor gIn) {
            Tensor g = gIn.contiguous();
            float[] gd = g.storage();
            int go = g.offset();
            int Tq = tq, Tk = tk, D = d, H = h, C = H * D, tp = this.tp;
            Operand dq, dk, dv;
            Tensor[] grads;
            if (packed) { // one [B, T, 3, H, D] buffer, as the input
                float[] dx = StepArena.floats(b * Tq * 3 * C);
                dq = new Operand(dx, 0, 3 * Tq * C, 3 * C, D, 1);
                dk = new Operand(dx, C, 3 * Tq * C, 3 * C, D, 1);
                dv = new Operand(dx, 2 * C, 3 * Tq * C, 3 * C, D, 1);
                grads = new Tensor[] {Tensor.wrap(dx, b, Tq, 3, H, D)};
            } else {
                float[] a = StepArena.floats(b * Tq * C), bk = StepArena.floats(b * Tk * C), bv = StepArena.floats(b * Tk * C);
                dq = new Operand(a, 0, Tq * C, C, D, 1);
                dk = new Operand(bk, 0, Tk * C, C, D, 1);
                dv = new Operand(bv, 0, Tk * C, C, D, 1);
                grads = new Tensor[] {Tensor.wrap(a, b, Tq, H, D), Tensor.wrap(bk, b, Tk, H, D), Tensor.wrap(bv, b, Tk, H, D)};
            }
            float[] mk = drop, p = probs;
            forTasks(task -> {
                int bi = task / H, hi = task % H, nk = keyLimit(bi);
                float[] dp = scratch(2, Tq * tp), vt = scratch(3, D * tp);
                int p0 = task * Tq * tp; // this task's rows of the saved P
                float[] pm = mk == null ? p : scratch(4, Tq * tp); // what multiplied V: P, or P ⊙ mask
                int m0 = mk == null ? p0 : 0;
                int q0 = q.at(bi, hi), k0 = k.at(bi, hi), g0 = go + bi * Tq * C + hi * D;
                AttentionKernels.transpose(v.a(), v.at(bi, hi), v.st(), nk, D, vt, tp);
                for (int i = 0; i < Tq; i += 4) {
                    int rows = Math.min(4, Tq - i);
                    AttentionKernels.scoresTile(gd, g0 + i * C, C, rows, D, vt, 0, tp, rowLen(bi, i + rows - 1), 1f, dp, i * tp, tp);
                }
                for (int i = 0; i < Tq; i++) {
                    int pi = i * tp, len = rowLen(bi, i);
                    if (mk != null) { // dP through the mask
                        int mo = (task * Tq + i) * Tk;
                        for (int j = 0; j < len; j++) dp[pi + j] *= mk[mo + j];
                        maskRow(p, p0 + pi, mk, mo, len, pm, pi);
                    }
                    AttentionKernels.softmaxBackwardRow(p, p0 + pi, dp, pi, len, tp); // dS into dp, 0 past len (and 0 where P is)
                }
                // Rows of dQ = scale·dS·K four at a time, over the last row's keys (the others' dS is 0 there).
                for (int i = 0; i < Tq; i += 4) {
                    int i1 = Math.min(i + 1, Tq - 1), i2 = Math.min(i + 2, Tq - 1), i3 = Math.min(i + 3, Tq - 1), base = dq.at(bi, hi);
                    AttentionKernels.combine4(dp, i * tp, i1 * tp, i2 * tp, i3 * tp, 1, rowLen(bi, i3), k.a(), k0, k.st(), D, scale,
                            dq.a(), base + i * dq.st(), base + i1 * dq.st(), base + i2 * dq.st(), base + i3 * dq.st());
                }
                // Rows of dV = Pᵀ·dO and dK = scale·dSᵀ·Q four at a time: columns j..j3 of P and dS walked down from
                // the first query row that sees key j (P and dS are exact zeros where a row does not see a later
                // column, which leaves the sums' bits unchanged). Keys no row sees get zeros.
                int dv0 = dv.at(bi, hi), dk0 = dk.at(bi, hi);
                for (int j = 0; j < nk; j += 4) {
                    int j1 = Math.min(j + 1, nk - 1), j2 = Math.min(j + 2, nk - 1), j3 = Math.min(j + 3, nk - 1);
                    int s = firstRow(j), col = s * tp + j, col1 = s * tp + j1, col2 = s * tp + j2, col3 = s * tp + j3;
                    AttentionKernels.combine4(pm, m0 + col, m0 + col1, m0 + col2, m0 + col3, tp, Tq - s, gd, g0 + s * C, C, D, 1f,
                            dv.a(), dv0 + j * dv.st(), dv0 + j1 * dv.st(), dv0 + j2 * dv.st(), dv0 + j3 * dv.st());
                    AttentionKernels.combine4(dp, col, col1, col2, col3, tp, Tq - s, q.a(), q0 + s * q.st(), q.st(), D, scale,
                            dk.a(), dk0 + j * dk.st(), dk0 + j1 * dk.st(), dk0 + j2 * dk.st(), dk0 + j3 * dk.st());
                }
                for (int j = nk; j < Tk; j++) {
                    Arrays.fill(dv.a(), dv0 + j * dv.st(), dv0 + j * dv.st() + D, 0f);
                    Arrays.fill(dk.a(), dk0 + j * dk.st(), dk0 + j * dk.st() + D, 0f);
                }
            });
            return grads;
        }

        @Override
        protected void release() {
            q = k = v = null;
            probs = null;
            drop = null;
        }

        @Override
        public String name() {
            return causal ? "CausalAttention" : "Attention";
        }
    }
}
