package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Node;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Gemm;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * VeRA's adapter path fused: {@code y = λ_b ⊙ (B_s (λ_d ⊙ (A_s x)))} with A_s = A[:, :in], B_s = B[:out, :] read
 * in place from the shared frozen matrices (no slice copies). Keeps for backward only u = A_s x [N, r] and
 * v = B_s(λ_d ⊙ u) [N, out], which is all the λ gradients need; the input gradient goes back through A_s.
 */
final class VeraOp extends Node {
    private float[] u, v, ld, lb;
    private float[] a, b;
    private int n, in, out, r, lda, aOff, bOff;
    private int[] xShape;

    static Variable apply(Variable x, VeraProjections p, Variable lambdaD, Variable lambdaB) {
        int[] xs = x.shape();
        int in = xs[xs.length - 1], r = p.r(), out = lambdaB.numel();
        if (in > p.maxIn() || out > p.maxOut())
            throw new IllegalArgumentException("VeRA: layer " + in + "→" + out + " exceeds the shared projections " + p.maxIn() + "→" + p.maxOut());
        if (lambdaD.numel() != r) throw new IllegalArgumentException("VeRA: lambda_d has " + lambdaD.numel() + " elements, r = " + r);
        VeraOp f = new VeraOp();
        Tensor xc = x.data().contiguous();
        int n = in == 0 ? 0 : xc.numel() / in;
        f.n = n; f.in = in; f.out = out; f.r = r; f.lda = p.maxIn(); f.xShape = xs;
        f.a = p.a().storage();
        f.b = p.b().storage();
        f.aOff = p.a().offset();
        f.bOff = p.b().offset();
        f.ld = lambdaD.data().contiguous().toArray();
        f.lb = lambdaB.data().contiguous().toArray();
        float[] u = new float[n * r];
        Gemm.sgemm(false, true, n, r, in, 1f, xc.storage(), xc.offset(), Math.max(in, 1), f.a, f.aOff, f.lda, 0f, u, 0, r);
        float[] z = new float[n * r];
        for (int i = 0; i < n; i++) for (int j = 0; j < r; j++) z[i * r + j] = u[i * r + j] * f.ld[j];
        float[] v = new float[n * out];
        Gemm.sgemm(false, true, n, out, r, 1f, z, 0, r, f.b, f.bOff, r, 0f, v, 0, Math.max(out, 1));
        float[] y = new float[n * out];
        for (int i = 0; i < n; i++) for (int o = 0; o < out; o++) y[i * out + o] = v[i * out + o] * f.lb[o];
        f.u = u;
        f.v = v;
        int[] ys = xs.clone();
        ys[ys.length - 1] = out;
        return record(f, Tensor.wrap(y, ys), x, lambdaD, lambdaB);
    }

    @Override
    protected Tensor[] backward(Tensor grad) {
        Tensor gc = grad.contiguous();
        float[] g = gc.storage();
        int go = gc.offset();
        Tensor[] res = new Tensor[3];
        if (needsGrad(2)) {
            float[] dlb = new float[out];
            for (int i = 0; i < n; i++) for (int o = 0; o < out; o++) dlb[o] += g[go + i * out + o] * v[i * out + o];
            res[2] = Tensor.wrap(dlb, out);
        }
        if (!needsGrad(0) && !needsGrad(1)) return res;
        float[] gv = new float[n * out];
        for (int i = 0; i < n; i++) for (int o = 0; o < out; o++) gv[i * out + o] = g[go + i * out + o] * lb[o];
        float[] gz = new float[n * r];
        Gemm.sgemm(false, false, n, r, out, 1f, gv, 0, Math.max(out, 1), b, bOff, r, 0f, gz, 0, r);
        if (needsGrad(1)) {
            float[] dld = new float[r];
            for (int i = 0; i < n; i++) for (int j = 0; j < r; j++) dld[j] += gz[i * r + j] * u[i * r + j];
            res[1] = Tensor.wrap(dld, r);
        }
        if (needsGrad(0)) {
            for (int i = 0; i < n; i++) for (int j = 0; j < r; j++) gz[i * r + j] *= ld[j];
            float[] gx = new float[n * in];
            Gemm.sgemm(false, false, n, in, r, 1f, gz, 0, r, a, aOff, lda, 0f, gx, 0, Math.max(in, 1));
            res[0] = Tensor.wrap(gx, xShape);
        }
        return res;
    }

    @Override
    protected void release() {
        u = v = null;
    }

    @Override
    public String name() {
        return "VeraOp" + Arrays.toString(new int[] {in, r, out});
    }
}
