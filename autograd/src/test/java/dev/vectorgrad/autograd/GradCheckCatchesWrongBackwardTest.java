package dev.vectorgrad.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The checks in {@link OpsGradCheckTest} can fail: ops written like {@link Elementwise.Exp} but with a
 * deliberately wrong backward (off by a factor, wrong sign, transposed gradient) are caught by both the float32
 * check and the double-reference check, and the same ops with the right backward pass both.
 */
class GradCheckCatchesWrongBackwardTest {

    /** y = exp(x); backward returns {@code factor}·g·y (factor 1 is the correct op). Shapes: x, y, g all [..]. */
    static final class ScaledExp extends Node {
        final float factor;
        Tensor y;
        ScaledExp(float factor) { this.factor = factor; }
        static Variable apply(Variable x, float factor) {
            ScaledExp n = new ScaledExp(factor);
            n.y = x.data().exp();
            return record(n, n.y, x);
        }
        @Override protected Tensor[] backward(Tensor g) { return new Tensor[] {g.mul(y).mul(factor)}; }
        @Override protected void release() { y = null; }
    }

    /**
     * Y = A·B with A [n, n], B [n, n]; dB = Aᵀ·G is right, dA is G·Bᵀ when {@code transposed} is false and its
     * transpose (G·Bᵀ)ᵀ = B·Gᵀ when true: the classic slip, shape-correct for square matrices.
     */
    static final class SquareMatmul extends Node {
        final boolean transposed;
        Tensor a, b;
        SquareMatmul(boolean transposed) { this.transposed = transposed; }
        static Variable apply(Variable a, Variable b, boolean transposed) {
            SquareMatmul n = new SquareMatmul(transposed);
            n.a = a.data();
            n.b = b.data();
            return record(n, a.data().matmul(b.data()), a, b);
        }
        @Override protected Tensor[] backward(Tensor g) {
            Tensor da = g.matmul(b.t());
            return new Tensor[] {transposed ? da.t().contiguous() : da, a.t().matmul(g)};
        }
        @Override protected void release() { a = b = null; }
    }

    static Tensor rand(long seed, int rows, int cols) {
        float[] v = new float[rows * cols];
        new Rng(seed).fillUniform(v, 0, v.length, -1f, 1f);
        return Tensor.wrap(v, rows, cols);
    }

    static double[] expRef(double[][] in) {
        double[] y = new double[in[0].length];
        for (int i = 0; i < y.length; i++) y[i] = Math.exp(in[0][i]);
        return y;
    }

    static double[] matmulRef(double[][] in, int n) {
        double[] y = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += in[0][i * n + k] * in[1][k * n + j];
                y[i * n + j] = s;
            }
        return y;
    }

    /** Both references on one op: the float32 forward differenced, and the double-precision forward differenced. */
    static GradCheck.Report[] both(GradCheck.Fn f, GradCheck.DoubleFn ref, Tensor... in) {
        return new GradCheck.Report[] {GradCheck.check(f, in), GradCheck.check(f, ref, in)};
    }

    @Test
    void theCorrectOpsPass() {
        for (GradCheck.Report r : both(in -> ScaledExp.apply(in[0], 1f), GradCheckCatchesWrongBackwardTest::expRef, rand(1, 3, 4)))
            assertThat(r.ok()).as(r.toString()).isTrue();
        for (GradCheck.Report r : both(in -> SquareMatmul.apply(in[0], in[1], false), d -> matmulRef(d, 4), rand(2, 4, 4), rand(3, 4, 4)))
            assertThat(r.ok()).as(r.toString()).isTrue();
    }

    @Test
    void aBackwardOffByAFactorIsCaught() {
        for (float factor : new float[] {2f, 1.1f}) {
            for (GradCheck.Report r : both(in -> ScaledExp.apply(in[0], factor), GradCheckCatchesWrongBackwardTest::expRef, rand(1, 3, 4))) {
                assertThat(r.ok()).as("factor %s: %s", factor, r).isFalse();
                // the worst element's analytic value is the numeric one times the factor
                assertThat(r.analytic() / r.numeric()).as(r.toString()).isCloseTo(factor, org.assertj.core.data.Offset.offset(2e-2));
            }
        }
        // 1 % off hides under the float check's 1e-2 tolerance, but not under the double reference's 2e-3: why
        // OpsGradCheckTest uses the double reference where the float differences are too coarse
        GradCheck.Fn onePercent = in -> ScaledExp.apply(in[0], 1.01f);
        GradCheck.Report coarse = GradCheck.check(onePercent, rand(1, 3, 4));
        assertThat(coarse.ok()).as(coarse.toString()).isTrue();
        GradCheck.Report fine = GradCheck.check(onePercent, GradCheckCatchesWrongBackwardTest::expRef, rand(1, 3, 4));
        assertThat(fine.ok()).as(fine.toString()).isFalse();
    }

    @Test
    void aBackwardWithTheWrongSignIsCaught() {
        for (GradCheck.Report r : both(in -> ScaledExp.apply(in[0], -1f), GradCheckCatchesWrongBackwardTest::expRef, rand(1, 3, 4))) {
            assertThat(r.ok()).as(r.toString()).isFalse();
            assertThat(Math.signum(r.analytic())).as(r.toString()).isEqualTo(-Math.signum(r.numeric()));
        }
    }

    @Test
    void aTransposedGradientIsCaughtAndBlamedOnItsInput() {
        for (GradCheck.Report r : both(in -> SquareMatmul.apply(in[0], in[1], true), d -> matmulRef(d, 4), rand(2, 4, 4), rand(3, 4, 4))) {
            assertThat(r.ok()).as(r.toString()).isFalse();
            assertThat(r.worstInput()).as("the wrong gradient is A's: " + r).isEqualTo(0);
        }
    }

    @Test
    void assertOkThrowsWithTheWorstElement() {
        assertThatThrownBy(() -> GradCheck.assertOk(in -> ScaledExp.apply(in[0], -1f), rand(1, 3, 4)))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("gradient check failed: MISMATCH");
    }
}
