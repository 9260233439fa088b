package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Node;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Gemm;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import java.util.Arrays;

/**
 * VeRA's weight update as a differentiable function of the two scaling vectors:
 * {@code ΔW = diag(λ_b)·B_s·diag(λ_d)·A_s} (out × in), with A_s = A[:, :in], B_s = B[:out, :] read in place.
 *
 * <p>The other way to run VeRA ({@link VeraOp}) pushes every token through A_s and B_s: 2·N·r·(in + out)
 * multiply-adds per step for N tokens. Forming ΔW once per step costs out·r·in, its gradient another out·in·r
 * plus the N·out·in of dΔW = gᵀx that the linear layer computes for it; at r = 256 on the demo's GPT
 * (N = 768 tokens) that is about a third of the work. {@link VeraLinear} picks the cheaper form per layer.
 *
 * <p>Backward, with M = B_s·diag(λ_d)·A_s saved from the forward and G = dΔW:
 * dλ_b[o] = Σ_i G[o,i]·M[o,i]; dλ_d[j] = Σ_o λ_b[o]·B[o,j]·(G·A_sᵀ)[o,j].
 */
final class VeraDeltaWeight extends Node {
    private float[] m, lb;
    private float[] a, b;
    private int in, out, r, lda, aOff, bOff;

    static Variable apply(VeraProjections p, int in, int out, Variable lambdaD, Variable lambdaB) {
        int r = p.r();
        if (in > p.maxIn() || out > p.maxOut())
            throw new IllegalArgumentException("VeRA: layer " + in + "→" + out + " exceeds the shared projections " + p.maxIn() + "→" + p.maxOut());
        if (lambdaD.numel() != r) throw new IllegalArgumentException("VeRA: lambda_d has " + lambdaD.numel() + " elements, r = " + r);
        if (lambdaB.numel() != out) throw new IllegalArgumentException("VeRA: lambda_b has " + lambdaB.numel() + " elements, out = " + out);
        VeraDeltaWeight f = new VeraDeltaWeight();
        f.in = in; f.out = out; f.r = r; f.lda = p.maxIn();
        f.a = p.a().storage();
        f.b = p.b().storage();
        f.aOff = p.a().offset();
        f.bOff = p.b().offset();
        float[] ld = lambdaD.data().contiguous().toArray();
        f.lb = lambdaB.data().contiguous().toArray();
        // Z = diag(λ_d)·A_s (r × in), M = B_s·Z (out × in), ΔW = diag(λ_b)·M
        float[] z = StepArena.floats(r * in);
        for (int j = 0; j < r; j++) {
            int src = f.aOff + j * f.lda, dst = j * in;
            for (int i = 0; i < in; i++) z[dst + i] = ld[j] * f.a[src + i];
        }
        float[] m = StepArena.floats(out * in);
        Gemm.sgemm(false, false, out, in, r, 1f, f.b, f.bOff, r, z, 0, Math.max(in, 1), 0f, m, 0, Math.max(in, 1));
        float[] dw = StepArena.floats(out * in);
        for (int o = 0; o < out; o++) {
            float s = f.lb[o];
            for (int i = 0; i < in; i++) dw[o * in + i] = s * m[o * in + i];
        }
        f.m = m;
        return record(f, Tensor.wrap(dw, out, in), lambdaD, lambdaB);
    }

    @Override
    protected Tensor[] backward(Tensor grad) {
        Tensor gc = grad.contiguous();
        float[] g = gc.storage();
        int go = gc.offset();
        Tensor[] res = new Tensor[2];
        if (needsGrad(1)) {
            float[] dlb = new float[out];
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int i = 0; i < in; i++) s += g[go + o * in + i] * m[o * in + i];
                dlb[o] = (float) s;
            }
            res[1] = Tensor.wrap(dlb, out);
        }
        if (needsGrad(0)) {
            // H = G·A_sᵀ (out × r), then dλ_d[j] = Σ_o λ_b[o]·B[o,j]·H[o,j]
            float[] h = StepArena.floats(out * r); // step-local: overwritten by the product
            Gemm.sgemm(false, true, out, r, in, 1f, g, go, Math.max(in, 1), a, aOff, lda, 0f, h, 0, r);
            double[] acc = new double[r];
            for (int o = 0; o < out; o++) {
                float s = lb[o];
                int bo = bOff + o * r, ho = o * r;
                for (int j = 0; j < r; j++) acc[j] += s * b[bo + j] * h[ho + j];
            }
            float[] dld = new float[r];
            for (int j = 0; j < r; j++) dld[j] = (float) acc[j];
            res[0] = Tensor.wrap(dld, r);
        }
        return res;
    }

    @Override
    protected void release() {
        m = null;
    }

    @Override
    public String name() {
        return "VeraDeltaWeight" + Arrays.toString(new int[] {out, r, in});
    }
}
