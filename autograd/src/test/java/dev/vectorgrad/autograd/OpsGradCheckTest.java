package dev.vectorgrad.autograd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** GradCheck on every differentiable op, at random shapes, with broadcasting and with views as inputs. */
class OpsGradCheckTest {
    final Rng rng = new Rng(42);

    /** U(lo, hi) values of the given shape (contiguous). */
    Tensor randIn(float lo, float hi, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] v = new float[t.numel()];
        rng.fillUniform(v, 0, v.length, lo, hi);
        return Tensor.wrap(v, shape);
    }

    Tensor rand(int... shape) {
        return randIn(-1f, 1f, shape);
    }

    /** Values whose magnitude is in [0.2, 1] with random signs (away from kinks at 0). */
    Tensor awayFromZero(int... shape) {
        Tensor t = randIn(0.2f, 1f, shape);
        float[] v = t.storage();
        for (int i = 0; i < v.length; i++) if (rng.nextFloat() < 0.5f) v[i] = -v[i];
        return t;
    }

    /** A transposed view of the given logical 2-D shape (strides not row-major). */
    Tensor transposedView(float lo, float hi, int rows, int cols) {
        return randIn(lo, hi, cols, rows).t();
    }

    /** A narrowed (offset, strided) view of the given 2-D shape. */
    Tensor narrowedView(float lo, float hi, int rows, int cols) {
        return randIn(lo, hi, rows + 2, cols + 3).narrow(0, 1, rows).narrow(1, 2, cols);
    }

    int r(int lo, int hi) {
        return lo + rng.nextInt(hi - lo + 1);
    }

    static void ok(GradCheck.Fn f, Tensor... in) {
        GradCheck.Report rep = GradCheck.check(f, in);
        assertThat(rep.ok()).as(rep.toString()).isTrue();
    }

    static void okRef(GradCheck.Fn f, GradCheck.DoubleFn ref, Tensor... in) {
        GradCheck.Report rep = GradCheck.check(f, ref, in);
        assertThat(rep.ok()).as(rep.toString()).isTrue();
    }

    /** Checks a unary op on a contiguous input, a transposed view and a narrowed view. */
    void unary(Function<Variable, Variable> op, float lo, float hi, boolean awayFromZero) {
        int a = r(2, 5), b = r(2, 6);
        ok(in -> op.apply(in[0]), awayFromZero ? awayFromZero(a, b) : randIn(lo, hi, a, b));
        ok(in -> op.apply(in[0]), awayFromZero ? awayFromZero(b, a).t() : transposedView(lo, hi, a, b));
        ok(in -> op.apply(in[0]), awayFromZero ? awayFromZero(a + 1, b + 2).narrow(0, 1, a).narrow(1, 1, b) : narrowedView(lo, hi, a, b));
    }

    // ------------------------------------------------------------------ unary

    @Test void neg() { unary(Variable::neg, -1, 1, false); }
    @Test void abs() { unary(Variable::abs, 0, 0, true); }
    @Test void exp() { unary(Variable::exp, -2, 2, false); }
    @Test void log() { unary(Variable::log, 0.5f, 3, false); }
    @Test void sqrt() { unary(Variable::sqrt, 0.5f, 3, false); }
    @Test void rsqrt() { unary(Variable::rsqrt, 0.5f, 3, false); }
    @Test void tanh() { unary(Variable::tanh, -2, 2, false); }
    @Test void sigmoid() { unary(Variable::sigmoid, -3, 3, false); }
    @Test void relu() { unary(Variable::relu, 0, 0, true); }
    @Test void gelu() { unary(Variable::gelu, -3, 3, false); }
    @Test void geluTanh() { unary(Variable::geluTanh, -3, 3, false); }
    @Test void square() { unary(Variable::square, -2, 2, false); }
    @Test void powCube() { unary(x -> x.pow(3f), -1.5f, 1.5f, false); }
    @Test void powHalf() { unary(x -> x.pow(0.5f), 0.5f, 2, false); }
    @Test void powNegative() { unary(x -> x.pow(-1.5f), 0.5f, 2, false); }
    @Test void addScalar() { unary(x -> x.add(0.7f), -1, 1, false); }
    @Test void subScalar() { unary(x -> x.sub(0.7f), -1, 1, false); }
    @Test void mulScalar() { unary(x -> x.mul(-1.3f), -1, 1, false); }
    @Test void divScalar() { unary(x -> x.div(-2.5f), -1, 1, false); }

    @Test void clamp() {
        // values away from the clamp bounds ±0.5
        Tensor x = awayFromZero(4, 5);
        float[] v = x.storage();
        for (int i = 0; i < v.length; i++) if (Math.abs(Math.abs(v[i]) - 0.5f) < 0.05f) v[i] *= 1.3f;
        ok(in -> in[0].clamp(-0.5f, 0.5f), x);
    }

    @Test void geluMatchesDoubleReference() {
        Tensor x = randIn(-4, 4, 3, 7);
        okRef(in -> in[0].gelu(), d -> {
            double[] y = new double[d[0].length];
            for (int i = 0; i < y.length; i++) y[i] = d[0][i] * 0.5 * (1 + Kernels.erf(d[0][i] / Math.sqrt(2)));
            return y;
        }, x);
        okRef(in -> in[0].geluTanh(), d -> {
            double[] y = new double[d[0].length];
            for (int i = 0; i < y.length; i++) {
                double v = d[0][i];
                y[i] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            }
            return y;
        }, x);
    }

    // ------------------------------------------------------------------ binary with broadcasting

    /** Shape pairs that broadcast in different ways. */
    int[][][] broadcastCases() {
        int a = r(2, 4), b = r(2, 4), c = r(2, 5);
        return new int[][][] {
            {{a, b}, {a, b}},
            {{a, b, c}, {b, 1}},
            {{c}, {a, b, c}},
            {{a, 1, c}, {1, b, 1}},
            {{a, b}, {}},
        };
    }

    void binary(java.util.function.BiFunction<Variable, Variable, Variable> op, float lo, float hi, boolean positiveB) {
        for (int[][] sh : broadcastCases()) {
            Tensor x = randIn(lo, hi, sh[0]);
            Tensor y = positiveB ? randIn(0.5f, 2f, sh[1]) : randIn(lo, hi, sh[1]);
            ok(in -> op.apply(in[0], in[1]), x, y);
        }
        // a transposed view on the left, a narrowed view on the right
        int m = r(2, 4), n = r(2, 5);
        ok(in -> op.apply(in[0], in[1]), transposedView(lo, hi, m, n), positiveB ? narrowedView(0.5f, 2f, m, n) : narrowedView(lo, hi, m, n));
    }

    @Test void add() { binary(Variable::add, -1, 1, false); }
    @Test void sub() { binary(Variable::sub, -1, 1, false); }
    @Test void mul() { binary(Variable::mul, -1, 1, false); }
    @Test void div() { binary(Variable::div, -1, 1, true); }
    @Test void maximum() { binary(Variable::maximum, -1, 1, false); }
    @Test void minimum() { binary(Variable::minimum, -1, 1, false); }

    @Test void maximumSplitsTies() {
        Variable a = Variable.param(Tensor.vector(1f, 2f, 3f)), b = Variable.param(Tensor.vector(1f, 5f, 0f));
        a.maximum(b).sum().backward();
        assertThat(a.grad().toArray()).containsExactly(0.5f, 0f, 1f);
        assertThat(b.grad().toArray()).containsExactly(0.5f, 1f, 0f);
    }

    @Test void where() {
        Tensor cond = randIn(-1, 1, 3, 4).gt(Tensor.scalar(0f));
        ok(in -> Variable.where(cond, in[0], in[1]), rand(3, 4), rand(4));
        ok(in -> Variable.where(cond, in[0], in[1]), rand(3, 1), transposedView(-1, 1, 3, 4));
    }

    @Test void maskedFill() {
        Tensor mask = randIn(-1, 1, 1, 5).gt(Tensor.scalar(0f));
        ok(in -> in[0].maskedFill(mask, -7f), rand(3, 5));
        ok(in -> in[0].maskedFill(mask, 2f).mul(in[0]), narrowedView(-1, 1, 4, 5));
    }

    // ------------------------------------------------------------------ reductions

    @Test void sumAndMean() {
        ok(in -> in[0].sum(), rand(3, 4, 2));
        ok(in -> in[0].mean(), transposedView(-1, 1, 3, 5));
        for (int axis = -3; axis < 3; axis++) {
            int ax = axis;
            ok(in -> in[0].sum(ax, false), rand(2, 3, 4));
            ok(in -> in[0].sum(ax, true).mul(in[0]), rand(2, 3, 4));
            ok(in -> in[0].mean(ax, false), rand(2, 3, 4));
            ok(in -> in[0].mean(ax, true), rand(2, 3, 4));
        }
        ok(in -> in[0].sum(0, false), narrowedView(-1, 1, 4, 3));
    }

    /** Distinct values (no ties), so max/min have a unique derivative. */
    Tensor distinct(int... shape) {
        Tensor t = Tensor.zeros(shape);
        int n = t.numel();
        int[] perm = rng.permutation(n);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (perm[i] - n / 2f) * 0.1f;
        return Tensor.wrap(v, shape);
    }

    @Test void maxMinAlongAxis() {
        for (int axis = 0; axis < 3; axis++) {
            int ax = axis;
            ok(in -> in[0].max(ax, false), distinct(3, 4, 5));
            ok(in -> in[0].min(ax, true), distinct(3, 4, 5));
        }
        ok(in -> in[0].max(1, false), distinct(5, 4).t());
    }

    @Test void variance() {
        for (int axis = 0; axis < 2; axis++) {
            int ax = axis;
            ok(in -> in[0].var(ax, false), rand(4, 5));
            ok(in -> in[0].var(ax, true, 0), transposedView(-1, 1, 4, 5));
        }
    }

    // ------------------------------------------------------------------ views and joins

    @Test void views() {
        ok(in -> in[0].reshape(6, -1).mul(in[0].reshape(6, -1)), rand(2, 3, 4));
        ok(in -> in[0].reshape(12), transposedView(-1, 1, 3, 4));
        { Variable c = Variable.of(rand(4, 3, 2)); ok(in -> in[0].transpose(0, 2).mul(c), rand(2, 3, 4)); }
        ok(in -> in[0].t().matmul(in[0]), rand(3, 4));
        { Variable c = Variable.of(rand(4, 2, 3)); ok(in -> in[0].permute(2, 0, 1).mul(c), rand(2, 3, 4)); }
        { Variable c = Variable.of(rand(2, 2, 4)); ok(in -> in[0].narrow(1, 1, 2).mul(c), rand(2, 3, 4)); }
        ok(in -> in[0].slice(-1, 1, -1).square(), rand(2, 3, 5));
        { Variable c = Variable.of(rand(2, 4)); ok(in -> in[0].select(1, 2).mul(c), rand(2, 3, 4)); }
        ok(in -> in[0].select(0, -1).square(), narrowedView(-1, 1, 3, 4));
        { Variable c = Variable.of(rand(3, 2, 4)); ok(in -> in[0].expand(3, 2, 4).mul(c), rand(2, 1)); }
        ok(in -> in[0].unsqueeze(0).expand(3, 2, 4).square().sum(0, true).squeeze(0), rand(2, 4));
        { Variable c = Variable.of(rand(4, 3)); ok(in -> in[0].contiguous().mul(c), transposedView(-1, 1, 4, 3)); }
    }

    @Test void contiguousCopiesAStridedInput() {
        Variable x = Variable.param(rand(3, 4).t());
        Variable c = x.contiguous();
        assertThat(c.data().isContiguous()).isTrue();
        assertThat(c.data().toArray()).containsExactly(x.data().toArray());
        assertThat(Variable.param(rand(2, 2)).contiguous().isLeaf()).isTrue();
    }

    @Test void concatSplitStack() {
        { Variable c = Variable.of(rand(2, 7)); ok(in -> Variable.concat(1, in[0], in[1], in[2]).mul(c), rand(2, 3), rand(2, 1), transposedView(-1, 1, 2, 3)); }
        ok(in -> Variable.concat(0, in[0], in[1]).square(), rand(2, 3), rand(1, 3));
        ok(in -> {
            Variable[] p = in[0].split(1, 2, 3, 1);
            return p[0].sum(1, false).mul(p[2].sum(1, false)).add(p[1].square().sum(1, false));
        }, rand(3, 6));
        ok(in -> {
            Variable[] p = in[0].split(0, 2);
            return p[0].mul(p[1]).add(p[2].sum(0, true));
        }, rand(5, 3));
        { Variable c = Variable.of(rand(3, 2, 4)); ok(in -> Variable.stack(1, in[0], in[1]).mul(c), rand(3, 4), narrowedView(-1, 1, 3, 4)); }
    }

    // ------------------------------------------------------------------ matmul, linear

    static double[] naiveMatmul(double[] a, double[] b, int batchA, int batchB, int m, int k, int n) {
        int batch = Math.max(batchA, batchB);
        double[] c = new double[batch * m * n];
        for (int e = 0; e < batch; e++) {
            int ao = (batchA == 1 ? 0 : e) * m * k, bo = (batchB == 1 ? 0 : e) * k * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += a[ao + i * k + p] * b[bo + p * n + j];
                    c[e * m * n + i * n + j] = s;
                }
        }
        return c;
    }

    @Test void matmul2d() {
        int m = r(2, 6), k = r(2, 7), n = r(2, 6);
        GradCheck.DoubleFn ref = d -> naiveMatmul(d[0], d[1], 1, 1, m, k, n);
        okRef(in -> in[0].matmul(in[1]), ref, rand(m, k), rand(k, n));
        okRef(in -> in[0].matmul(in[1]), ref, transposedView(-1, 1, m, k), rand(k, n));
        okRef(in -> in[0].matmul(in[1]), ref, rand(m, k), transposedView(-1, 1, k, n));
        okRef(in -> in[0].matmul(in[1]), ref, transposedView(-1, 1, m, k), transposedView(-1, 1, k, n));
        okRef(in -> in[0].matmul(in[1]), ref, narrowedView(-1, 1, m, k), narrowedView(-1, 1, k, n));
    }

    @Test void matmulBatchedAndBroadcast() {
        int bt = r(2, 3), m = r(2, 5), k = r(2, 6), n = r(2, 5);
        okRef(in -> in[0].matmul(in[1]), d -> naiveMatmul(d[0], d[1], bt, bt, m, k, n), rand(bt, m, k), rand(bt, k, n));
        // [B, m, k] @ [k, n]: folded into one GEMM
        okRef(in -> in[0].matmul(in[1]), d -> naiveMatmul(d[0], d[1], bt, 1, m, k, n), rand(bt, m, k), rand(k, n));
        // [m, k] @ [B, k, n]: the left operand is broadcast over the batch
        okRef(in -> in[0].matmul(in[1]), d -> naiveMatmul(d[0], d[1], 1, bt, m, k, n), rand(m, k), rand(bt, k, n));
        // q @ kᵀ with a transposed batched view on the right
        okRef(in -> in[0].matmul(in[1].transpose(-2, -1)), d -> {
            double[] bT = new double[bt * k * n];
            for (int e = 0; e < bt; e++) for (int j = 0; j < n; j++) for (int p = 0; p < k; p++)
                bT[e * k * n + p * n + j] = d[1][e * n * k + j * k + p];
            return naiveMatmul(d[0], bT, bt, bt, m, k, n);
        }, rand(bt, m, k), rand(bt, n, k));
        // 4-D with a head axis, transposed-view operands
        ok(in -> in[0].matmul(in[1]), rand(2, 2, 3, 4).transpose(1, 2).contiguous().transpose(1, 2), rand(2, 1, 4, 3));
        ok(in -> in[0].matmul(in[1]), rand(2, 3, 4, 5).permute(0, 2, 1, 3), rand(2, 4, 5, 3).transpose(0, 1).contiguous().transpose(0, 1));
    }

    @Test void matmulVectors() {
        ok(in -> in[0].matmul(in[1]), rand(5), rand(5));
        ok(in -> in[0].matmul(in[1]), rand(4), rand(4, 3));
        ok(in -> in[0].matmul(in[1]), rand(3, 4), rand(4));
        ok(in -> in[0].matmul(in[1]), rand(2, 3, 4), rand(4));
    }

    @Test void linear() {
        int rows = r(2, 6), inF = r(2, 7), outF = r(2, 6);
        GradCheck.DoubleFn ref = d -> {
            double[] y = new double[rows * outF];
            for (int i = 0; i < rows; i++) for (int o = 0; o < outF; o++) {
                double s = d.length > 2 ? d[2][o] : 0;
                for (int p = 0; p < inF; p++) s += d[0][i * inF + p] * d[1][o * inF + p];
                y[i * outF + o] = s;
            }
            return y;
        };
        okRef(in -> F.linear(in[0], in[1], in[2]), ref, rand(rows, inF), rand(outF, inF), rand(outF));
        okRef(in -> F.linear(in[0], in[1], null), ref, rand(rows, inF), rand(outF, inF));
        okRef(in -> F.linear(in[0], in[1], in[2]), ref, transposedView(-1, 1, rows, inF), transposedView(-1, 1, outF, inF), rand(outF));
        ok(in -> F.linear(in[0], in[1], in[2]), rand(2, 3, inF), rand(outF, inF), rand(outF));
    }

    @Test void linearAccumulatesIntoExistingLeafGrad() {
        Variable x = Variable.param(rand(3, 4)), w = Variable.param(rand(5, 4)), b = Variable.param(rand(5));
        F.linear(x, w, b).sum().backward();
        Tensor g1 = w.grad().copy(), gb1 = b.grad().copy();
        F.linear(x, w, b).sum().backward();
        float[] g2 = w.grad().toArray(), gb2 = b.grad().toArray();
        for (int i = 0; i < g2.length; i++) assertThat(g2[i]).isCloseTo(2 * g1.toArray()[i], org.assertj.core.data.Offset.offset(1e-5f));
        for (int i = 0; i < gb2.length; i++) assertThat(gb2[i]).isCloseTo(2 * gb1.toArray()[i], org.assertj.core.data.Offset.offset(1e-5f));
    }

    // ------------------------------------------------------------------ softmax, layer norm

    static double[] naiveSoftmaxRows(double[] x, int rows, int cols, boolean log) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j]);
            double s = 0;
            for (int j = 0; j < cols; j++) s += Math.exp(x[r * cols + j] - m);
            for (int j = 0; j < cols; j++) y[r * cols + j] = log ? x[r * cols + j] - m - Math.log(s) : Math.exp(x[r * cols + j] - m) / s;
        }
        return y;
    }

    @Test void softmaxAndLogSoftmax() {
        int rows = r(2, 5), cols = r(2, 9);
        okRef(in -> in[0].softmax(-1), d -> naiveSoftmaxRows(d[0], rows, cols, false), randIn(-2, 2, rows, cols));
        okRef(in -> in[0].logSoftmax(1), d -> naiveSoftmaxRows(d[0], rows, cols, true), randIn(-2, 2, rows, cols));
        okRef(in -> in[0].softmax(-1), d -> naiveSoftmaxRows(d[0], rows, cols, false), transposedView(-2, 2, rows, cols));
        ok(in -> in[0].softmax(0), randIn(-2, 2, 3, 4, 2));
        ok(in -> in[0].logSoftmax(1), randIn(-2, 2, 3, 4, 2));
    }

    static double[] naiveLayerNorm(double[] x, double[] w, double[] b, int rows, int cols, double eps) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double m = 0, v = 0;
            for (int j = 0; j < cols; j++) m += x[r * cols + j];
            m /= cols;
            for (int j = 0; j < cols; j++) v += (x[r * cols + j] - m) * (x[r * cols + j] - m);
            v /= cols;
            double rs = 1 / Math.sqrt(v + eps);
            for (int j = 0; j < cols; j++)
                y[r * cols + j] = (x[r * cols + j] - m) * rs * (w == null ? 1 : w[j]) + (b == null ? 0 : b[j]);
        }
        return y;
    }

    @Test void layerNorm() {
        int rows = r(2, 40), cols = r(3, 12);
        okRef(in -> in[0].layerNorm(in[1], in[2], 1e-5f), d -> naiveLayerNorm(d[0], d[1], d[2], rows, cols, 1e-5),
                randIn(-2, 2, rows, cols), randIn(0.5f, 1.5f, cols), rand(cols));
        okRef(in -> in[0].layerNorm(in[1], null, 1e-5f), d -> naiveLayerNorm(d[0], d[1], null, rows, cols, 1e-5),
                transposedView(-2, 2, rows, cols), randIn(0.5f, 1.5f, cols));
        okRef(in -> in[0].layerNorm(null, null, 1e-5f), d -> naiveLayerNorm(d[0], null, null, rows, cols, 1e-5),
                narrowedView(-2, 2, rows, cols));
        ok(in -> in[0].layerNorm(in[1], in[2], 1e-5f), randIn(-2, 2, 2, 3, cols), randIn(0.5f, 1.5f, cols), rand(cols));
        // several vectors per row plus a tail (the backward kernel's vector loops)
        okRef(in -> in[0].layerNorm(in[1], in[2], 1e-5f), d -> naiveLayerNorm(d[0], d[1], d[2], 5, 37, 1e-5),
                randIn(-2, 2, 5, 37), randIn(0.5f, 1.5f, 37), rand(37));
    }

    // ------------------------------------------------------------------ embedding, losses

    @Test void embeddingScatterAdds() {
        IntTensor ids = IntTensor.of(new int[] {1, 3, 1, 0, 3, 3}, 2, 3);
        { Variable c = Variable.of(rand(2, 3, 4)); ok(in -> F.embedding(in[0], ids).mul(c), rand(5, 4)); }
        Variable table = Variable.param(rand(5, 4));
        F.embedding(table, ids).sum().backward();
        assertThat(table.grad().toArray()).containsExactly(1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0);
    }

    @Test void crossEntropy() {
        int rows = r(3, 8), c = r(2, 9);
        int[] t = new int[rows];
        for (int i = 0; i < rows; i++) t[i] = rng.nextInt(c);
        t[1] = F.IGNORE_INDEX;
        IntTensor targets = IntTensor.of(t, rows);
        GradCheck.DoubleFn ref = d -> {
            double[] lp = naiveSoftmaxRows(d[0], rows, c, true);
            double s = 0;
            int cnt = 0;
            for (int i = 0; i < rows; i++) if (t[i] != F.IGNORE_INDEX) { s -= lp[i * c + t[i]]; cnt++; }
            return new double[] {s / cnt};
        };
        okRef(in -> F.crossEntropy(in[0], targets), ref, randIn(-3, 3, rows, c));
        okRef(in -> F.crossEntropy(in[0], targets), ref, transposedView(-3, 3, rows, c));
        // equals log-softmax + pick, in value
        Tensor x = randIn(-3, 3, rows, c);
        float ce = F.crossEntropy(Variable.of(x), targets).item();
        assertThat(ce).isCloseTo((float) ref.apply(new double[][] {toDouble(x)})[0], org.assertj.core.data.Offset.offset(1e-5f));
        // every row ignored: NaN, as PyTorch
        assertThat(F.crossEntropy(Variable.of(x), IntTensor.of(filled(rows, -100), rows)).item()).isNaN();
    }

    static int[] filled(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    static double[] toDouble(Tensor t) {
        float[] f = t.toArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test void mse() {
        ok(in -> F.mseLoss(in[0], in[1]), rand(3, 4), rand(3, 4));
        ok(in -> F.mseLoss(in[0], in[1]), transposedView(-1, 1, 3, 4), rand(4));
    }

    // ------------------------------------------------------------------ attention, dropout

    /** Attention's gradient against the double-precision naive reference (AttentionTest.naive), q [B, Tq, H, D]. */
    void attentionCheck(int b, int tq, int tk, int h, int d, boolean causal, boolean[] visible) {
        Attention.KeyMask mask = visible == null ? null : Attention.KeyMask.of(visible, b, tk);
        okRef(in -> F.attention(in[0], in[1], in[2], causal, mask),
                x -> AttentionTest.naive(x[0], x[1], x[2], b, tq, tk, h, d, causal, visible),
                randIn(-1.5f, 1.5f, b, tq, h, d), randIn(-1.5f, 1.5f, b, tk, h, d), rand(b, tk, h, d));
    }

    @Test void attentionCausalAndNot() {
        for (boolean causal : new boolean[] {true, false}) {
            attentionCheck(2, 5, 5, 2, 4, causal, null);
            attentionCheck(1, 1, 1, 1, 3, causal, null); // T = 1
            attentionCheck(2, 7, 7, 1, 5, causal, null); // odd T, head size not a vector multiple
            attentionCheck(1, 3, 6, 2, 17, causal, null); // fewer queries than keys (causal: the last 3 positions)
        }
    }

    @Test void attentionWithPaddingMasks() {
        for (boolean causal : new boolean[] {true, false}) {
            // right padding (a prefix mask, handled as lengths): rows of 5, 2 and 0 keys; the last row sees nothing
            attentionCheck(3, 5, 5, 2, 3, causal, AttentionTest.prefixMask(5, 5, 2, 0));
            // holes: key 1 of row 0 and keys 0, 3 of row 1 hidden
            attentionCheck(2, 4, 4, 1, 5, causal, new boolean[] {true, false, true, true, false, true, true, false});
        }
        attentionCheck(2, 1, 7, 2, 3, false, AttentionTest.prefixMask(7, 4, 7)); // one query over padded keys
    }

    @Test void attentionOnViewsAndPacked() {
        int b = 2, t = r(3, 7), h = r(1, 2), d = r(2, 5), c = h * d;
        // q, k, v as views of one fused projection [B, T, 3·H·D] (the transformer's layout), through split
        ok(in -> {
            Variable[] p = in[0].split(2, c, c, c);
            return F.attention(p[0].reshape(b, t, h, d), p[1].reshape(b, t, h, d), p[2].reshape(b, t, h, d), true, null);
        }, randIn(-1.5f, 1.5f, b, t, 3 * c));
        // the packed entry against the reference on the same numbers
        okRef(in -> F.attentionQkvPacked(in[0], false, null, 0f, false, null), x -> {
            double[][] qkv = AttentionTest.unpack(x[0], b, t, h, d);
            return AttentionTest.naive(qkv[0], qkv[1], qkv[2], b, t, t, h, d, false, null);
        }, randIn(-1.5f, 1.5f, b, t, 3, h, d));
        // PyTorch's [B, H, T, D] layout, as a transposed view
        ok(in -> F.attention(in[0].transpose(1, 2), in[1].transpose(1, 2), in[2].transpose(1, 2), true, null),
                rand(b, h, t, d), rand(b, h, t, d), rand(b, h, t, d));
        // keys stored transposed ([B, H, D, T] storage), which backward must read as rows
        ok(in -> F.attention(in[0], in[1].permute(0, 3, 1, 2), in[2], false, null), rand(b, t, h, d), rand(b, h, d, t), rand(b, t, h, d));
        // with attention dropout (the same seed gives the same mask in every evaluation)
        ok(in -> F.attentionQkvPacked(in[0], true, null, 0.3f, true, new Rng(11)), randIn(-1.5f, 1.5f, b, t, 3, h, d));
    }

    @Test void dropout() {
        ok(in -> F.dropout(in[0], 0.4f, true, new Rng(7)), rand(4, 6));
        Variable x = Variable.param(Tensor.ones(1000));
        Variable y = F.dropout(x, 0.25f, true, new Rng(3));
        float[] v = y.data().toArray();
        int zeros = 0;
        for (float f : v) {
            if (f == 0f) zeros++;
            else assertThat(f).isEqualTo(1f / 0.75f);
        }
        assertThat(zeros).isBetween(200, 300);
        // same seed, same mask
        assertThat(F.dropout(x, 0.25f, true, new Rng(3)).data().toArray()).containsExactly(v);
        // identity in eval mode and for p = 0
        assertThat(F.dropout(x, 0.25f, false, new Rng(3))).isSameAs(x);
        assertThat(F.dropout(x, 0f, true, new Rng(3))).isSameAs(x);
    }
}
