package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.VectorMath;
import dev.vectorgrad.tensor.Gemm;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Fused causal scaled-dot-product attention, q, k, v [B, H, T, D] → [B, H, T, D]:
 * O = softmax(Q·Kᵀ·scale + causal mask)·V, one (batch, head) pair per pool task, so at most one T×T score
 * matrix per running thread exists at any time. Forward keeps only each row's log-sum-exp (B·H·T floats);
 * backward recomputes P = exp(S − lse) per head and applies
 * dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS·K·scale, dK = dSᵀ·Q·scale.
 */
final class Attention {
    private Attention() {}

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

    private static float[] scratch(int which, int n) {
        float[][] s = SCRATCH.get();
        if (s[which].length < n) s[which] = new float[n];
        return s[which];
    }

    static final class Causal extends Node {
        Tensor q, k, v;
        float[] lse;
        int bh, t, d;
        float scale;

        static Variable apply(Variable qv, Variable kv, Variable vv, float scale) {
            int[] s = qv.shape();
            if (s.length != 4 || !Arrays.equals(s, kv.shape()) || !Arrays.equals(s, vv.shape()))
                throw new IllegalArgumentException("causalAttention: q, k, v must share one shape [B, H, T, D], got "
                        + Arrays.toString(s) + ", " + Arrays.toString(kv.shape()) + ", " + Arrays.toString(vv.shape()));
            Causal n = new Causal();
            n.q = qv.data().contiguous();
            n.k = kv.data().contiguous();
            n.v = vv.data().contiguous();
            n.bh = s[0] * s[1];
            n.t = s[2];
            n.d = s[3];
            n.scale = scale;
            n.lse = new float[n.bh * n.t];
            float[] out = new float[n.bh * n.t * n.d];
            n.forward(out);
            return record(n, Tensor.wrap(out, s), qv, kv, vv);
        }

        private void forward(float[] out) {
            int T = t, D = d;
            float[] qd = q.storage(), kd = k.storage(), vd = v.storage();
            int qo = q.offset(), ko = k.offset(), vo = v.offset();
            Parallel.forRange(bh, h -> {
                float[] s = scratch(0, T * T);
                int base = h * T * D;
                Gemm.sgemm(false, true, T, T, D, scale, qd, qo + base, D, kd, ko + base, D, 0f, s, 0, T);
                for (int i = 0; i < T; i++) lse[h * T + i] = softmaxCausalRow(s, i * T, i + 1, T);
                Gemm.sgemm(false, false, T, D, T, 1f, s, 0, T, vd, vo + base, D, 0f, out, base, D);
            });
        }

        /** Softmax over s[o, o+len) in place, zeros over [o+len, o+T); returns the row's log-sum-exp. */
        static float softmaxCausalRow(float[] s, int o, int len, int T) {
            float m = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < len; j++) m = Math.max(m, s[o + j]);
            int j = 0;
            FloatVector acc = FloatVector.zero(Kernels.S);
            for (int up = Kernels.S.loopBound(len); j < up; j += Kernels.L) {
                FloatVector e = VectorMath.exp(FloatVector.fromArray(Kernels.S, s, o + j).sub(m));
                e.intoArray(s, o + j);
                acc = acc.add(e);
            }
            double sum = VectorMath.sumLanes(acc);
            for (; j < len; j++) {
                float e = (float) Math.exp(s[o + j] - m);
                s[o + j] = e;
                sum += e;
            }
            float inv = (float) (1.0 / sum);
            for (j = 0; j < len; j++) s[o + j] *= inv;
            Arrays.fill(s, o + len, o + T, 0f);
            return (float) (m + Math.log(sum));
        }

        @Override protected Tensor[] backward(Tensor gIn) {
            Tensor g = gIn.contiguous();
            int T = t, D = d;
            float[] qd = q.storage(), kd = k.storage(), vd = v.storage(), gd = g.storage();
            int qo = q.offset(), ko = k.offset(), vo = v.offset(), go = g.offset();
            float[] dq = new float[bh * T * D], dk = new float[bh * T * D], dv = new float[bh * T * D];
            Parallel.forRange(bh, h -> {
                float[] p = scratch(0, T * T), dp = scratch(1, T * T);
                int base = h * T * D;
                // Recompute P from the saved log-sum-exp.
                Gemm.sgemm(false, true, T, T, D, scale, qd, qo + base, D, kd, ko + base, D, 0f, p, 0, T);
                for (int i = 0; i < T; i++) {
                    int o = i * T, len = i + 1, j = 0;
                    float l = lse[h * T + i];
                    for (int up = Kernels.S.loopBound(len); j < up; j += Kernels.L)
                        VectorMath.exp(FloatVector.fromArray(Kernels.S, p, o + j).sub(l)).intoArray(p, o + j);
                    for (; j < len; j++) p[o + j] = (float) Math.exp(p[o + j] - l);
                    Arrays.fill(p, o + len, o + T, 0f);
                }
                // dV = Pᵀ·dO
                Gemm.sgemm(true, false, T, D, T, 1f, p, 0, T, gd, go + base, D, 0f, dv, base, D);
                // dP = dO·Vᵀ
                Gemm.sgemm(false, true, T, T, D, 1f, gd, go + base, D, vd, vo + base, D, 0f, dp, 0, T);
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)), into dp
                for (int i = 0; i < T; i++) {
                    int o = i * T, len = i + 1;
                    double dot = 0;
                    for (int j = 0; j < len; j++) dot += dp[o + j] * p[o + j];
                    float dd = (float) dot;
                    for (int j = 0; j < len; j++) dp[o + j] = p[o + j] * (dp[o + j] - dd);
                    Arrays.fill(dp, o + len, o + T, 0f);
                }
                // dQ = dS·K·scale, dK = dSᵀ·Q·scale
                Gemm.sgemm(false, false, T, D, T, scale, dp, 0, T, kd, ko + base, D, 0f, dq, base, D);
                Gemm.sgemm(true, false, T, D, T, scale, dp, 0, T, qd, qo + base, D, 0f, dk, base, D);
            });
            int[] s = q.shape();
            return new Tensor[] {Tensor.wrap(dq, s), Tensor.wrap(dk, s), Tensor.wrap(dv, s)};
        }

        @Override protected void release() { q = k = v = null; lse = null; }
        @Override public String name() { return "CausalAttention"; }
    }
}
