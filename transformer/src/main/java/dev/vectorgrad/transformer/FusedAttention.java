package dev.vectorgrad.transformer;

import dev.vectorgrad.autograd.Node;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Rng;
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
 * result is the same for every thread count. Forward keeps only each row's log-sum-exp (and the dropout mask
 * when dropout is on); backward recomputes P = exp(S − lse).
 */
public final class FusedAttention extends Node {
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[5][0]);

    private static float[] scratch(int which, int n) {
        float[][] s = SCRATCH.get();
        if (s[which].length < n) s[which] = new float[n];
        return s[which];
    }

    private Tensor qkv;
    private float[] lse;
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
        n.lse = new float[bh * T];
        float[] out = new float[n.b * T * n.c];
        n.forward(out);
        if (!grad) {
            n.qkv = null;
            n.lse = null;
            n.mask = null;
        }
        return Node.record(n, Tensor.wrap(out, n.b, T, n.c), qkvV);
    }

    private void forward(float[] out) {
        int T = t, C = c, D = c / h, H = h, ld = 3 * C, tp = AttentionKernels.padded(T);
        float[] x = qkv.storage();
        int xo = qkv.offset();
        float[] mk = mask, ls = lse;
        Parallel.forRange(b * H, task -> {
            int bi = task / H, hi = task % H;
            float[] kt = scratch(0, D * tp), p = scratch(1, T * tp);
            int q0 = xo + bi * T * ld + hi * D;
            AttentionKernels.transpose(x, q0 + C, ld, T, D, kt, tp);
            for (int i = 0; i < T; i++) {
                int pi = i * tp;
                AttentionKernels.scoresRow(x, q0 + i * ld, D, kt, tp, i + 1, scale, p, pi);
                ls[task * T + i] = VecMath.softmaxCausalRow(p, pi, i + 1, tp);
                if (mk != null) mul(p, pi, mk, task * T * T + i * T, i + 1);
                AttentionKernels.combine(p, pi, 1, i + 1, x, q0 + 2 * C, ld, D, 1f, out, (bi * T + i) * C + hi * D);
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
        float[] dx = new float[b * T * ld];
        float[] mk = mask, ls = lse;
        Parallel.forRange(b * H, task -> {
            int bi = task / H, hi = task % H;
            float[] kt = scratch(0, D * tp), p = scratch(1, T * tp), dp = scratch(2, T * tp), vt = scratch(3, D * tp);
            float[] pm = mk == null ? p : scratch(4, T * tp); // P ⊙ dropout mask, what multiplied V
            int q0 = xo + bi * T * ld + hi * D, d0 = bi * T * ld + hi * D, g0 = go + bi * T * C + hi * D;
            AttentionKernels.transpose(x, q0 + C, ld, T, D, kt, tp);
            AttentionKernels.transpose(x, q0 + 2 * C, ld, T, D, vt, tp);
            for (int i = 0; i < T; i++) {
                int pi = i * tp, len = i + 1;
                // P (recomputed from the saved log-sum-exp) and dP = dO·Vᵀ (through the mask)
                AttentionKernels.scoresRow(x, q0 + i * ld, D, kt, tp, len, scale, p, pi);
                VecMath.expRow(p, pi, len, tp, ls[task * T + i]);
                AttentionKernels.scoresRow(gd, g0 + i * C, D, vt, tp, len, 1f, dp, pi);
                if (mk != null) {
                    int mo = task * T * T + i * T;
                    mul(dp, pi, mk, mo, len);
                    for (int j = 0; j < len; j++) pm[pi + j] = p[pi + j] * mk[mo + j];
                }
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)), into dp
                float dd = VecMath.dot(dp, pi, p, pi, len);
                for (int j = 0; j < len; j++) dp[pi + j] = p[pi + j] * (dp[pi + j] - dd);
            }
            for (int i = 0; i < T; i++) {
                int col = i * tp + i, rest = T - i;
                // dV_i = Σ_{r ≥ i} P[r, i]·dO_r;  dK_i = scale·Σ_{r ≥ i} dS[r, i]·Q_r;  dQ_i = scale·Σ_{j ≤ i} dS[i, j]·K_j
                AttentionKernels.combine(pm, col, tp, rest, gd, g0 + i * C, C, D, 1f, dx, d0 + i * ld + 2 * C);
                AttentionKernels.combine(dp, col, tp, rest, x, q0 + i * ld, ld, D, scale, dx, d0 + i * ld + C);
                AttentionKernels.combine(dp, i * tp, 1, i + 1, x, q0 + C, ld, D, scale, dx, d0 + i * ld);
            }
        });
        return new Tensor[] {Tensor.wrap(dx, b, T, ld)};
    }

    @Override
    protected void release() {
        qkv = null;
        lse = null;
        mask = null;
    }

    @Override
    public String name() {
        return "FusedCausalSelfAttention";
    }
}
