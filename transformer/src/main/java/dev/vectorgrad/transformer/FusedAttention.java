package dev.vectorgrad.transformer;

import dev.vectorgrad.autograd.Node;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Gemm;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * GPT-2's causal multi-head self-attention from the fused projection, in one node:
 * {@code qkv [B, T, 3C]} (q, k, v side by side, each split into H heads of D = C/H columns) to
 * {@code y [B, T, C]} (the heads side by side again), i.e. the split, the two transposes, the scaled causal
 * softmax attention, the attention-weight dropout and the merge of heads, without materialising q, k, v or
 * the head-major layout. The GEMMs read each head straight from the [B, T, 3C] rows with leading dimension 3C.
 *
 * <p>One (batch, head) pair per pool task, so the output and gradients of a task are its own columns and the
 * result is the same for every thread count. Forward keeps only each row's log-sum-exp (and the dropout mask
 * when dropout is on); backward recomputes P = exp(S − lse).
 */
public final class FusedAttention extends Node {
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

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
        int T = t, C = c, D = c / h, H = h, ld = 3 * C;
        float[] x = qkv.storage();
        int xo = qkv.offset();
        float[] mk = mask, ls = lse;
        Parallel.forRange(b * H, task -> {
            int bi = task / H, hi = task % H;
            float[] p = scratch(0, T * T);
            int q0 = xo + bi * T * ld + hi * D;
            Gemm.sgemm(false, true, T, T, D, scale, x, q0, ld, x, q0 + C, ld, 0f, p, 0, T);
            for (int i = 0; i < T; i++) ls[task * T + i] = VecMath.softmaxCausalRow(p, i * T, i + 1, T);
            if (mk != null) mul(p, mk, task * T * T, T * T);
            Gemm.sgemm(false, false, T, D, T, 1f, p, 0, T, x, q0 + 2 * C, ld, 0f, out, bi * T * C + hi * D, C);
        });
    }

    private static void mul(float[] p, float[] m, int mo, int n) {
        for (int i = 0; i < n; i++) p[i] *= m[mo + i];
    }

    @Override
    protected Tensor[] backward(Tensor gIn) {
        Tensor g = gIn.contiguous();
        float[] gd = g.storage();
        int go = g.offset();
        int T = t, C = c, D = c / h, H = h, ld = 3 * C;
        float[] x = qkv.storage();
        int xo = qkv.offset();
        float[] dx = new float[b * T * ld];
        float[] mk = mask, ls = lse;
        Parallel.forRange(b * H, task -> {
            int bi = task / H, hi = task % H;
            float[] p = scratch(0, T * T), dp = scratch(1, T * T);
            int q0 = xo + bi * T * ld + hi * D, d0 = bi * T * ld + hi * D, g0 = go + bi * T * C + hi * D;
            Gemm.sgemm(false, true, T, T, D, scale, x, q0, ld, x, q0 + C, ld, 0f, p, 0, T);
            for (int i = 0; i < T; i++) VecMath.expRow(p, i * T, i + 1, T, ls[task * T + i]);
            // dP = dO·Vᵀ (through the dropout mask)
            Gemm.sgemm(false, true, T, T, D, 1f, gd, g0, C, x, q0 + 2 * C, ld, 0f, dp, 0, T);
            if (mk != null) {
                mul(dp, mk, task * T * T, T * T);
                // dV = (P ⊙ mask)ᵀ·dO: use the masked P, then restore P from dp's spare? recompute instead.
                float[] pm = scratch2(T * T);
                for (int i = 0; i < T * T; i++) pm[i] = p[i] * mk[task * T * T + i];
                Gemm.sgemm(true, false, T, D, T, 1f, pm, 0, T, gd, g0, C, 0f, dx, d0 + 2 * C, ld);
            } else {
                Gemm.sgemm(true, false, T, D, T, 1f, p, 0, T, gd, g0, C, 0f, dx, d0 + 2 * C, ld);
            }
            // dS = P ⊙ (dP − rowsum(dP ⊙ P)), into dp
            for (int i = 0; i < T; i++) {
                int o = i * T, len = i + 1;
                float dd = VecMath.dot(dp, o, p, o, len);
                for (int j = 0; j < len; j++) dp[o + j] = p[o + j] * (dp[o + j] - dd);
                Arrays.fill(dp, o + len, o + T, 0f);
            }
            // dQ = dS·K·scale, dK = dSᵀ·Q·scale
            Gemm.sgemm(false, false, T, D, T, scale, dp, 0, T, x, q0 + C, ld, 0f, dx, d0, ld);
            Gemm.sgemm(true, false, T, D, T, scale, dp, 0, T, x, q0, ld, 0f, dx, d0 + C, ld);
        });
        return new Tensor[] {Tensor.wrap(dx, b, T, ld)};
    }

    private static final ThreadLocal<float[][]> SCRATCH2 = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] scratch2(int n) {
        float[][] s = SCRATCH2.get();
        if (s[0].length < n) s[0] = new float[n];
        return s[0];
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
