package dev.vectorgrad.autograd;

import dev.vectorgrad.tensor.LayerNormKernel;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Shapes;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.tensor.VectorMath;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/** Softmax, log-softmax and layer norm: forward (tensor-core kernels) and backward side by side. */
final class Norms {
    private Norms() {}

    /** dx = y ⊙ (g − Σ g⊙y) along the axis. */
    static final class Softmax extends Node {
        Tensor y;
        int axis;
        static Variable apply(Variable x, int axis) {
            Softmax n = new Softmax();
            n.axis = Shapes.axis("softmax", axis, x.shape());
            n.y = x.data().softmax(axis);
            return record(n, n.y, x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            return new Tensor[] {y.mul(g.sub(g.mul(y).sum(axis, true)))};
        }
        @Override protected void release() { y = null; }
    }

    /** dx = g − softmax(x)·Σg along the axis, with softmax(x) = exp(y). */
    static final class LogSoftmax extends Node {
        Tensor y;
        int axis;
        static Variable apply(Variable x, int axis) {
            LogSoftmax n = new LogSoftmax();
            n.axis = Shapes.axis("logSoftmax", axis, x.shape());
            n.y = x.data().logSoftmax(axis);
            return record(n, n.y, x);
        }
        @Override protected Tensor[] backward(Tensor g) {
            return new Tensor[] {g.sub(y.exp().mul(g.sum(axis, true)))};
        }
        @Override protected void release() { y = null; }
    }

    /**
     * Layer norm over the last axis. Saves the input and each row's mean and rstd; backward, per row with
     * x̂ = (x − mean)·rstd and ĝ = g⊙w: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)); dw = Σ_rows g⊙x̂; db = Σ_rows g.
     */
    static final class LayerNorm extends Node {
        Tensor x, w;
        float[] mean, rstd;
        int rows, cols;
        static final int ROWS_PER_TASK = 32;

        static Variable apply(Variable x, Variable w, Variable b, float eps) {
            int[] s = x.shape();
            if (s.length == 0) throw new IllegalArgumentException("layerNorm: expects at least one axis, got a scalar");
            LayerNorm n = new LayerNorm();
            n.cols = s[s.length - 1];
            n.rows = n.cols == 0 ? 0 : x.numel() / n.cols;
            boolean grad = needed(x, w, b);
            n.mean = grad ? new float[n.rows] : null;
            n.rstd = grad ? new float[n.rows] : null;
            n.x = x.data().contiguous();
            n.w = w == null ? null : w.data().contiguous();
            Tensor y = LayerNormKernel.forward(n.x, n.w, b == null ? null : b.data(), eps, n.mean, n.rstd);
            return record(n, y, x, w, b);
        }

        @Override protected Tensor[] backward(Tensor gIn) {
            Tensor g = gIn.contiguous();
            int rows = this.rows, cols = this.cols;
            float[] xd = x.storage(), gd = g.storage();
            int xo = x.offset(), go = g.offset();
            float[] wd = w == null ? null : w.storage();
            int wo = w == null ? 0 : w.offset();
            boolean needX = needsGrad(0), needW = next.length > 1 && needsGrad(1), needB = next.length > 2 && needsGrad(2);
            float[] dx = needX ? StepArena.floats(rows * cols) : null;
            int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
            float[][] pw = needW ? new float[tasks][] : null, pb = needB ? new float[tasks][] : null;
            float[] mean = this.mean, rstd = this.rstd;
            float[] wv = wd != null ? wd : ones(cols);
            int wvo = wd != null ? wo : 0;
            Parallel.forRange(tasks, t -> {
                int r0 = t * ROWS_PER_TASK, r1 = Math.min(rows, r0 + ROWS_PER_TASK);
                float[] accW = needW ? new float[cols] : null, accB = needB ? new float[cols] : null;
                for (int r = r0; r < r1; r++)
                    backwardRow(xd, xo + r * cols, gd, go + r * cols, wv, wvo, mean[r], rstd[r], cols, dx, r * cols, accW, accB);
                if (needW) pw[t] = accW;
                if (needB) pb[t] = accB;
            });
            Tensor[] res = new Tensor[next.length];
            if (needX) res[0] = Tensor.wrap(dx, x.shape());
            if (needW) res[1] = Tensor.wrap(sumPartials(pw, cols), cols);
            if (needB) res[2] = Tensor.wrap(sumPartials(pb, cols), cols);
            return res;
        }

        /**
         * One row: with x̂ = (x − mu)·rs and ĝ = g⊙w, dx = rs·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)) (when dx != null),
         * accW += g⊙x̂, accB += g (when non-null). Vector lanes plus a scalar tail, summed in a fixed order.
         */
        static void backwardRow(float[] x, int xb, float[] g, int gb, float[] w, int wo, float mu, float rs, int cols,
                                float[] dx, int ob, float[] accW, float[] accB) {
            var S = Kernels.S;
            int L = Kernels.L, up = S.loopBound(cols);
            if (dx != null) {
                FloatVector sg = FloatVector.zero(S), sgx = FloatVector.zero(S);
                float tg = 0, tgx = 0;
                int j = 0;
                for (; j < up; j += L) {
                    FloatVector xh = FloatVector.fromArray(S, x, xb + j).sub(mu).mul(rs);
                    FloatVector gh = FloatVector.fromArray(S, g, gb + j).mul(FloatVector.fromArray(S, w, wo + j));
                    sg = sg.add(gh);
                    sgx = gh.fma(xh, sgx);
                }
                for (; j < cols; j++) {
                    float xh = (x[xb + j] - mu) * rs, gh = g[gb + j] * w[wo + j];
                    tg += gh;
                    tgx += gh * xh;
                }
                float a = (VectorMath.sumLanes(sg) + tg) / cols, c = (VectorMath.sumLanes(sgx) + tgx) / cols;
                j = 0;
                for (; j < up; j += L) {
                    FloatVector xh = FloatVector.fromArray(S, x, xb + j).sub(mu).mul(rs);
                    FloatVector gh = FloatVector.fromArray(S, g, gb + j).mul(FloatVector.fromArray(S, w, wo + j));
                    gh.sub(a).sub(xh.mul(c)).mul(rs).intoArray(dx, ob + j);
                }
                for (; j < cols; j++) {
                    float xh = (x[xb + j] - mu) * rs, gh = g[gb + j] * w[wo + j];
                    dx[ob + j] = rs * (gh - a - xh * c);
                }
            }
            if (accW != null) {
                int j = 0;
                for (; j < up; j += L) {
                    FloatVector xh = FloatVector.fromArray(S, x, xb + j).sub(mu).mul(rs);
                    FloatVector.fromArray(S, g, gb + j).fma(xh, FloatVector.fromArray(S, accW, j)).intoArray(accW, j);
                }
                for (; j < cols; j++) accW[j] += g[gb + j] * ((x[xb + j] - mu) * rs);
            }
            if (accB != null) {
                int j = 0;
                for (; j < up; j += L)
                    FloatVector.fromArray(S, accB, j).add(FloatVector.fromArray(S, g, gb + j)).intoArray(accB, j);
                for (; j < cols; j++) accB[j] += g[gb + j];
            }
        }

        private static float[] ones(int n) {
            float[] o = new float[n];
            Arrays.fill(o, 1f);
            return o;
        }

        /** Per-task partial sums added in task order (the same for every thread count). */
        static float[] sumPartials(float[][] parts, int cols) {
            float[] out = new float[cols];
            for (float[] p : parts) {
                int j = 0;
                for (int up = Kernels.S.loopBound(cols); j < up; j += Kernels.L)
                    FloatVector.fromArray(Kernels.S, out, j).add(FloatVector.fromArray(Kernels.S, p, j)).intoArray(out, j);
                for (; j < cols; j++) out[j] += p[j];
            }
            return out;
        }

        @Override protected void release() { x = w = null; mean = rstd = null; }

        @Override public String toString() { return "LayerNorm" + Arrays.toString(outShape); }
    }
}
