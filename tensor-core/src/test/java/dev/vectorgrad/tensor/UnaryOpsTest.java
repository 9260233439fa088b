package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class UnaryOpsTest {
    static final int[] SIZES = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 70_001};

    /** Checks op against ref element-wise with |err| <= abs + rel·|ref|, at every size and on a strided view. */
    static void check(String name, UnaryOperator<Tensor> op, DoubleUnaryOperator ref, float lo, float hi, double abs, double rel) {
        for (int n : SIZES) {
            Tensor x = Ref.uniform(n + 11, lo, hi, n);
            Tensor y = op.apply(x);
            assertThat(y.shape()).isEqualTo(new int[] {n});
            assertThat(y.isContiguous()).isTrue();
            float[] xs = x.toArray(), ys = y.toArray();
            for (int i = 0; i < n; i++) {
                double e = ref.applyAsDouble(xs[i]);
                if (!(Math.abs(ys[i] - e) <= abs + rel * Math.abs(e)))
                    assertThat((double) ys[i]).as("%s(%s) at n=%d", name, xs[i], n).isCloseTo(e, within(abs + rel * Math.abs(e)));
            }
        }
        // strided input: a transposed 2-D view
        Tensor m = Ref.uniform(5, lo, hi, 9, 13).t();
        Tensor y = op.apply(m);
        assertThat(y.shape()).isEqualTo(new int[] {13, 9});
        for (int i = 0; i < 13; i++)
            for (int j = 0; j < 9; j++) {
                double e = ref.applyAsDouble(m.get(i, j));
                assertThat((double) y.get(i, j)).isCloseTo(e, within(abs + rel * Math.abs(e)));
            }
    }

    @Test
    void simpleOps() {
        check("neg", Tensor::neg, x -> -x, -5, 5, 0, 0);
        check("abs", Tensor::abs, Math::abs, -5, 5, 0, 0);
        check("relu", Tensor::relu, x -> Math.max(x, 0), -5, 5, 0, 0);
        check("square", Tensor::square, x -> (float) x * (float) x, -5, 5, 0, 0);
        check("sqrt", Tensor::sqrt, x -> (float) Math.sqrt(x), 0, 100, 0, 0);
        check("rsqrt", Tensor::rsqrt, x -> 1 / Math.sqrt(x), 0.01f, 100, 0, 2e-7);
        check("addS", t -> t.add(1.5f), x -> (float) x + 1.5f, -5, 5, 0, 0);
        check("mulS", t -> t.mul(-0.25f), x -> x * -0.25, -5, 5, 0, 0);
        check("clamp", t -> t.clamp(-1f, 2f), x -> Math.min(Math.max(x, -1), 2), -5, 5, 0, 0);
    }

    @Test
    void transcendentals() {
        check("exp", Tensor::exp, Math::exp, -80, 80, 0, 2.5e-7);
        check("exp small", Tensor::exp, Math::exp, -3, 3, 0, 2.5e-7);
        check("log", Tensor::log, Math::log, 1e-30f, 1e30f, 1e-7, 2.5e-7);
        check("log near 1", Tensor::log, Math::log, 0.5f, 2f, 1e-7, 2.5e-7);
        check("tanh", Tensor::tanh, Math::tanh, -10, 10, 2e-7, 5e-7);
        check("tanh small", Tensor::tanh, Math::tanh, -0.7f, 0.7f, 0, 5e-7);
        check("sigmoid", Tensor::sigmoid, x -> 1 / (1 + Math.exp(-x)), -30, 30, 1e-8, 5e-7);
        check("gelu", Tensor::gelu, x -> x * Ref.phi(x), -12, 12, 1e-6, 1e-6);
        check("gelu near 0", Tensor::gelu, x -> x * Ref.phi(x), -3, 3, 2e-7, 1e-6);
        check("erf", Tensor::erf, Ref::erf, -6, 6, 3e-7, 0);
        double k = Math.sqrt(2 / Math.PI);
        check("geluTanh", Tensor::geluTanh, x -> 0.5 * x * (1 + Math.tanh(k * (x + 0.044715 * x * x * x))), -12, 12, 1e-6, 1e-6);
    }

    @Test
    void powMatchesMathPow() {
        for (float p : new float[] {0f, 1f, 2f, 3f, 0.5f, -0.5f, -1f, 2.5f, -1.7f}) {
            check("pow " + p, t -> t.pow(p), x -> Math.pow(x, p), 0.1f, 10f, 1e-7, 4e-7);
        }
        check("pow 3 negative base", t -> t.pow(3f), x -> x * x * x, -4, 4, 1e-6, 4e-7);
    }

    @Test
    void specialValues() {
        Tensor x = Tensor.vector(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 89f, -104f, 0f, -87.5f, 88.7f, 1e-30f);
        float[] e = x.exp().toArray();
        assertThat(e[0]).isNaN();
        assertThat(e[1]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(e[2]).isEqualTo(0f);
        assertThat(e[3]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(e[4]).isEqualTo(0f);
        assertThat(e[5]).isEqualTo(1f);
        assertThat((double) e[6]).isCloseTo(Math.exp(-87.5), within(1e-44));
        assertThat((double) e[7]).isCloseTo(Math.exp(88.7f), within(Math.exp(88.7f) * 3e-7));
        assertThat(e[8]).isEqualTo(1f);

        float[] l = Tensor.vector(0f, -1f, Float.POSITIVE_INFINITY, Float.NaN, 1e-40f, 1f, Float.MIN_VALUE).log().toArray();
        assertThat(l[0]).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(l[1]).isNaN();
        assertThat(l[2]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(l[3]).isNaN();
        assertThat((double) l[4]).isCloseTo(Math.log(1e-40f), within(1e-5));
        assertThat(l[5]).isEqualTo(0f);
        assertThat((double) l[6]).isCloseTo(Math.log(Float.MIN_VALUE), within(1e-4));

        float[] t = Tensor.vector(Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 50f, -50f, 0f).tanh().toArray();
        assertThat(t).containsExactly(1f, -1f, Float.NaN, 1f, -1f, 0f);
        float[] s = Tensor.vector(-200f, 200f, Float.NaN).sigmoid().toArray();
        assertThat(s[0]).isEqualTo(0f);
        assertThat(s[1]).isEqualTo(1f);
        assertThat(s[2]).isNaN();
        float[] g = Tensor.vector(-200f, 200f, Float.NaN).gelu().toArray();
        assertThat(g[0]).isZero();
        assertThat(g[1]).isEqualTo(200f);
        assertThat(g[2]).isNaN();
        assertThat(Tensor.vector(Float.NaN, -1f).relu().toArray()).containsExactly(Float.NaN, 0f);
        assertThat(Tensor.vector(Float.NaN, 5f, -5f).clamp(-1, 1).toArray()).containsExactly(Float.NaN, 1f, -1f);
    }

    @Test
    void elementResultDoesNotDependOnPosition() {
        // the same value must give the same bits in the vector body and in the padded tail
        float v = 0.3721f;
        for (int n : new int[] {1, 7, 9, 17, 70000}) {
            Tensor x = Tensor.full(v, n);
            for (UnaryOperator<Tensor> op : java.util.List.<UnaryOperator<Tensor>>of(Tensor::exp, Tensor::log, Tensor::tanh, Tensor::gelu, Tensor::sigmoid)) {
                float[] y = op.apply(x).toArray();
                for (float f : y) assertThat(Float.floatToIntBits(f)).isEqualTo(Float.floatToIntBits(y[0]));
            }
        }
    }

    @Test
    void unaryKeepsShapeAndDoesNotModifyInput() {
        Tensor x = Ref.rand(3, 2, 3, 4);
        float[] before = x.toArray();
        Tensor y = x.exp();
        assertThat(y.shape()).isEqualTo(new int[] {2, 3, 4});
        assertThat(x.toArray()).isEqualTo(before);
        Tensor s = Tensor.scalar(2f).square();
        assertThat(s.rank()).isZero();
        assertThat(s.item()).isEqualTo(4f);
    }
}
