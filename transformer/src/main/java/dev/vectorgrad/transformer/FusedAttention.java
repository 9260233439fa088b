package dev.vectorgrad.transformer;

import dev.vectorgrad.autograd.Node;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * GPT-2's causal multi-head self-attention from the fused projection, in one node:
 * {@code qkv [B, T, 3C]} (q, k, v side by side, each split into H heads of D = C/H columns) to
 * {@code y [B, T, C]} (the heads side by side again), i.e. the split, the two transposes, the scaled causal
 * softmax attention, the attention-weight dropout and the merge of heads, without materialising q, k, v or
 * the head-major layout. The head's products ({@link AttentionKernels}) read it straight from the [B, T, 3C] rows
 * and skip the masked upper triangle.
 *
 * <p>One (batch, head) pair per pool task, so the output and gradients of a task are its own columns and the
 * result is the same for every thread count. Forward keeps the probabilities P (and the dropout mask when
 * dropout is on) for backward.
 */
public final class FusedAttention extends Node {
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[5][0]);

    private static float[] scratch(int which, int n) {
        float[][] s = SCRATCH.get();
        if (s[which].length < n) s[which] = new float[n];
        return s[which];
    }

    private Tensor qkv;
    /** Per (b, h): the softmax probabilities P (T rows of stride padded(T), zero above the diagonal), before dropout. */
    private float[] probs;
    /** Per (b, h): T×T keep mask scaled by 1/(1 − p), or null without dropout. */
    private float[] mask;
    private int b, t, c, h;
    private float scale;

    private FusedAttention() {}

    /** Causal self-attention of {@code qkv [B, T, 3C]} with {@code heads} heads; dropout on the weights when training. */
    public static Variable apply(Variable qkvV, int heads, float dropout, boolean training, Rng rng) {
        int[] s = qkvV.shape();
        if (s.length != 3 || s[2] % 3 != 0 || (s[2] / 3) % heads != 0)
            throw new IllegalArgumentException("FusedAttention: qkv must be [B, T, 3C] with C divisible by " + heads
                    + " heads, got " + Arrays.toString(s));
        FusedAttention n = new FusedAttention();
        n.qkv = qkvV.data().contiguous();
        n.b = s[0];
        n.t = s[1];
        n.c = s[2] / 3;
        n.h = heads;
        int d = n.c / heads;
        n.scale = (float) (1.0 / Math.sqrt(d));
        int bh = n.b * heads, T = n.t;
        if (training && dropout > 0f) {
            float keep = 1f / (1f - dropout);
            float[] m = new float[bh * T * T];
            for (int i = 0; i < m.length; i++) m[i] = rng.nextFloat() < dropout ? 0f : keep;
            n.mask = m;
        }
        boolean grad = Node.needed(qkvV);
        // Saved for backward (0.8 MB per baby-GPT layer) instead of recomputing Q·Kᵀ and the softmax there.
        n.probs = grad ? StepArena.floats(bh * T * AttentionKernels.padded(T)) : null;
        float[] out = StepArena.floats(n.b * T * n.c);
        n.forward(out);
        if (!grad) {
            n.qkv = null;
            n.mask = null;
        }
        return Node.record(n, Tensor.wrap(out, n.b, T, n.c), qkvV);
    }

    private void forward(float[] out) {
        int T = t, C = c, D = c / h, H = h, ld = 3 * C, tp = AttentionKernels.padded(T);
        float[] x = qkv.storage();
        int xo = qkv.offset();
        float[] mk = mask, saved = probs;
        Parallel.forRange(b * H, task -> {
            int bi = task / H, hi = task % H;
            float[] kt = scratch(0, D * tp);
            float[] p = saved != null ? saved : scratch(1, T * tp);
            int p0 = saved != null ? task * T * tp : 0;
            int q0 = xo + bi * T * ld + hi * D, o0 = bi * T * C + hi * D;
            AttentionKernels.transpose(x, q0 + C, ld, T, D, kt, tp);
            for (int i = 0; i < T; i += 4) {
                int rows = Math.min(4, T - i);
                AttentionKernels.scoresTile(x, q0 + i * ld, ld, rows, D, kt, tp, i + rows, scale, p, p0 + i * tp, tp);
            }
            // softmax zero-fills each row past the diagonal
            for (int i = 0; i < T; i++) AttentionKernels.softmaxCausalRow(p, p0 + i * tp, i + 1, tp);
            float[] pv = p; // what multiplies V: P, or P ⊙ dropout mask (P itself stays saved)
            int v0 = p0;
            if (mk != null) {
                pv = scratch(4, T * tp);
                v0 = 0;
                for (int i = 0; i < T; i++) {
                    int mo = task * T * T + i * T;
                    for (int j = 0; j <= i; j++) pv[i * tp + j] = p[p0 + i * tp + j] * mk[mo + j];
                    Arrays.fill(pv, i * tp + i + 1, i * tp + tp, 0f);
                }
            }
            for (int i = 0; i < T; i += 2) {
                int i1 = Math.min(i + 1, T - 1);
                AttentionKernels.combine2(pv, v0 + i * tp, v0 + i1 * tp, 1, i1 + 1, x, q0 + 2 * C, ld, D, 1f,
                        out, o0 + i * C, o0 + i1 * C);
            }
        });
    }

    /** p[po + j] *= m[mo + j] for j < n. */
    private static void mul(float[] p, int po, float[] m, int mo, int n) {
        for (int j = 0; j < n; j++) p[po + j] *= m[mo + j];
    }

    @Override
    protected Tensor[] backward(Tensor gIn) {
        Tensor g = gIn.contiguous();
        float[] gd = g.storage();
        int go = g.offset();
        int T = t, C = c, D = c / h, H = h, ld = 3 * C, tp = AttentionKernels.padded(T);
        float[] x = qkv.storage();
        int xo = qkv.offset();
        float[] dx = StepArena.floats(b * T * ld);
        float[] mk = mask, saved = probs;
        Parallel.forRange(b * H, task -> {
            int bi = task / H, hi = task % H;
            float[] dp = scratch(2, T * tp), vt = scratch(3, D * tp);
            // P as the forward saved it (this task's rows start at p0), and what multiplied V: P, or P ⊙ mask
            float[] p = saved;
            int p0 = task * T * tp;
            float[] pm = mk == null ? p : scratch(4, T * tp);
            int m0 = mk == null ? p0 : 0;
            int q0 = xo + bi * T * ld + hi * D, d0 = bi * T * ld + hi * D, g0 = go + bi * T * C + hi * D;
            AttentionKernels.transpose(x, q0 + 2 * C, ld, T, D, vt, tp);
            // dP = dO·Vᵀ
            for (int i = 0; i < T; i += 4) {
                int rows = Math.min(4, T - i);
                AttentionKernels.scoresTile(gd, g0 + i * C, C, rows, D, vt, tp, i + rows, 1f, dp, i * tp, tp);
            }
            for (int i = 0; i < T; i++) {
                int pi = i * tp, len = i + 1;
                if (mk != null) { // dP through the mask
                    int mo = task * T * T + i * T;
                    mul(dp, pi, mk, mo, len);
                    for (int j = 0; j < len; j++) pm[pi + j] = p[p0 + pi + j] * mk[mo + j];
                    Arrays.fill(pm, pi + len, pi + tp, 0f);
                }
                AttentionKernels.softmaxBackwardRow(p, p0 + pi, dp, pi, len, tp); // dS into dp, zero past the diagonal
            }
            // Rows i, i1 of: dV = Pᵀ·dO and dK = scale·dSᵀ·Q (columns of P and dS from row i down; the
            // zeros above the diagonal leave the longer sum of row i unchanged for row i1), dQ = scale·dS·K.
            for (int i = 0; i < T; i += 2) {
                int i1 = Math.min(i + 1, T - 1), col = i * tp + i, col1 = i * tp + i1;
                AttentionKernels.combine2(pm, m0 + col, m0 + col1, tp, T - i, gd, g0 + i * C, C, D, 1f,
                        dx, d0 + i * ld + 2 * C, d0 + i1 * ld + 2 * C);
                AttentionKernels.combine2(dp, col, col1, tp, T - i, x, q0 + i * ld, ld, D, scale,
                        dx, d0 + i * ld + C, d0 + i1 * ld + C);
                AttentionKernels.combine2(dp, i * tp, i1 * tp, 1, i1 + 1, x, q0 + C, ld, D, scale,
                        dx, d0 + i * ld, d0 + i1 * ld);
            }
        });
        return new Tensor[] {Tensor.wrap(dx, b, T, ld)};
    }

    @Override
    protected void release() {
        qkv = null;
        probs = null;
        mask = null;
    }

    @Override
    public String name() {
        return "FusedCausalSelfAttention";
    }
}
