package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.function.BinaryOperator;
import org.junit.jupiter.api.Test;

class BinaryOpsTest {
    record Op(String name, BinaryOperator<Tensor> f, Ref.F2 ref) {}

    static final Op[] OPS = {
        new Op("add", Tensor::add, (a, b) -> (float) a + (float) b),
        new Op("sub", Tensor::sub, (a, b) -> (float) a - (float) b),
        new Op("mul", Tensor::mul, (a, b) -> (float) a * (float) b),
        new Op("div", Tensor::div, (a, b) -> (float) a / (float) b),
        new Op("maximum", Tensor::maximum, Math::max),
        new Op("minimum", Tensor::minimum, Math::min),
        new Op("eq", Tensor::eq, (a, b) -> a == b ? 1 : 0),
        new Op("ne", Tensor::ne, (a, b) -> a != b ? 1 : 0),
        new Op("lt", Tensor::lt, (a, b) -> a < b ? 1 : 0),
        new Op("le", Tensor::le, (a, b) -> a <= b ? 1 : 0),
        new Op("gt", Tensor::gt, (a, b) -> a > b ? 1 : 0),
        new Op("ge", Tensor::ge, (a, b) -> a >= b ? 1 : 0),
    };

    /** Values with many ties, so the comparisons see equal pairs too. */
    static Tensor vals(long seed, int... shape) {
        Tensor t = Ref.rand(seed, shape);
        float[] d = t.storage();
        for (int i = 0; i < d.length; i++) d[i] = Math.round(d[i] * 2) / 2f + (d[i] == 0 ? 0.5f : 0f);
        return t;
    }

    static void checkAll(Tensor a, Tensor b) {
        int[] expectShape = Ref.bshape(a.shape(), b.shape());
        // the operand values each output element reads, found by naive index arithmetic
        float[] av = Ref.binary(a, b, (x, y) -> x), bv = Ref.binary(a, b, (x, y) -> y);
        for (Op op : OPS) {
            Tensor y = op.f.apply(a, b);
            assertThat(y.shape()).as(op.name).isEqualTo(expectShape);
            float[] got = y.toArray(), want = new float[av.length];
            for (int i = 0; i < want.length; i++) want[i] = (float) op.ref.apply(av[i], bv[i]);
            for (int i = 0; i < want.length; i++) {
                if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(want[i]))
                    assertThat(got[i]).as("%s %s %s at %d", op.name, java.util.Arrays.toString(a.shape()), java.util.Arrays.toString(b.shape()), i).isEqualTo(want[i]);
            }
        }
    }

    @Test
    void sameShapeAtAwkwardSizes() {
        for (int n : new int[] {0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 70_001}) checkAll(vals(n, n), vals(n + 100, n));
        checkAll(vals(1, 1000, 517), vals(2, 1000, 517));
        checkAll(vals(1, 3, 5, 7), vals(2, 3, 5, 7));
    }

    @Test
    void broadcasting() {
        checkAll(vals(1, 5, 7), Tensor.scalar(0.5f));              // scalar right
        checkAll(Tensor.scalar(-1f), vals(1, 5, 7));               // scalar left
        checkAll(vals(1, 13, 33), vals(2, 33));                    // row
        checkAll(vals(1, 13, 33), vals(2, 13, 1));                 // column
        checkAll(vals(1, 13, 1), vals(2, 1, 17));                  // both sides
        checkAll(vals(1, 3, 1, 5), vals(2, 4, 1));                 // rank-differing, interleaved
        checkAll(vals(1, 2, 3, 4), vals(2, 4));                    // rank-differing
        checkAll(vals(1, 1), vals(2, 17));
        checkAll(vals(1, 0, 5), vals(2, 5));                       // empty
        checkAll(vals(1, 1000, 517), vals(2, 517));                // large row broadcast (parallel path)
        checkAll(vals(1, 1000, 517), vals(2, 1000, 1));            // large column broadcast
        checkAll(vals(1, 1, 517), vals(2, 1000, 1));               // large outer product shape
    }

    @Test
    void stridedOperands() {
        Tensor a = vals(1, 17, 9);
        checkAll(a.t(), vals(2, 9, 17));                           // transposed left
        checkAll(vals(2, 9, 17), a.t());                           // transposed right
        checkAll(a.t(), a.t());
        checkAll(vals(3, 20, 30).narrow(1, 3, 17), vals(4, 20, 17)); // narrowed (row stride 30)
        checkAll(vals(3, 9).expand(4, 9), vals(4, 4, 9));          // expanded view
        checkAll(vals(3, 4, 1).expand(4, 9), vals(5, 9).unsqueeze(0).expand(4, 9));
        checkAll(vals(3, 2, 3, 4).permute(2, 0, 1), vals(6, 3));    // permuted, broadcast
        checkAll(vals(3, 600, 300).t(), vals(4, 600));             // large strided (parallel, scalar path)
        checkAll(vals(3, 40, 9).select(1, 2), vals(4, 40));        // select: stride 9
    }

    @Test
    void nanComparisons() {
        Tensor a = Tensor.vector(Float.NaN, 1f, Float.NaN, 2f, 1f, 1f, 1f, 1f, Float.NaN, 3f);
        Tensor b = Tensor.vector(Float.NaN, Float.NaN, 1f, 2f, 1f, 1f, 1f, 1f, 0f, Float.NaN);
        checkAll(a, b);
        assertThat(a.ne(b).toArray()).containsExactly(1, 1, 1, 0, 0, 0, 0, 0, 1, 1);
        assertThat(a.maximum(b).get(1)).isNaN();
    }

    @Test
    void whereAndMaskedFill() {
        Tensor cond = Tensor.of(new float[] {1, 0, 2, 0, 0, 1}, 2, 3);
        Tensor a = Tensor.arange(6).reshape(2, 3), b = Tensor.scalar(-1f);
        assertThat(Tensor.where(cond, a, b).toArray()).containsExactly(0, -1, 2, -1, -1, 5);
        // broadcasting all three: cond column [2,1], a row [3], b [2,3] transposed view
        Tensor c2 = Tensor.of(new float[] {0, 1}, 2, 1);
        Tensor bt = Tensor.arange(6).reshape(3, 2).t().mul(10f);
        assertThat(Tensor.where(c2, Tensor.vector(7, 8, 9), bt).toArray()).containsExactly(0, 20, 40, 7, 8, 9);
        // large, contiguous (vector path) against a loop
        Tensor big = Ref.rand(1, 300, 301), mask = Ref.rand(2, 300, 301).gt(Tensor.scalar(0f));
        float[] w = Tensor.where(mask, big, big.neg()).toArray(), bv = big.toArray(), mv = mask.toArray();
        for (int i = 0; i < w.length; i++) bv[i] = mv[i] != 0 ? bv[i] : -bv[i];
        assertThat(java.util.Arrays.equals(w, bv)).isTrue();
        Tensor filled = Tensor.arange(6).reshape(2, 3).maskedFill(Tensor.of(new float[] {1, 0, 1}, 3), Float.NEGATIVE_INFINITY);
        assertThat(filled.toArray()).containsExactly(Float.NEGATIVE_INFINITY, 1, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, 4, Float.NEGATIVE_INFINITY);
    }

    @Test
    void inPlaceHelpers() {
        Tensor x = Tensor.arange(6).reshape(2, 3);
        Tensor storage = x;
        x.addInPlace(Tensor.vector(10, 20, 30));
        assertThat(x.toArray()).containsExactly(10, 21, 32, 13, 24, 35);
        assertThat(x).isSameAs(storage);
        x.addInPlace(Tensor.of(new float[] {1, 2}, 2, 1));
        assertThat(x.toArray()).containsExactly(11, 22, 33, 15, 26, 37);
        x.mulInPlace(0.5f);
        assertThat(x.toArray()).containsExactly(5.5f, 11, 16.5f, 7.5f, 13, 18.5f);
        x.addScaledInPlace(2f, Tensor.ones(2, 3));
        assertThat(x.toArray()).containsExactly(7.5f, 13, 18.5f, 9.5f, 15, 20.5f);

        // non-contiguous target: a transposed view writes through to its base
        Tensor base = Tensor.zeros(3, 2);
        base.t().addInPlace(Tensor.arange(6).reshape(2, 3));
        assertThat(base.toArray()).containsExactly(0, 3, 1, 4, 2, 5);
        base.t().mulInPlace(2f);
        assertThat(base.toArray()).containsExactly(0, 6, 2, 8, 4, 10);
        base.t().addScaledInPlace(1f, Tensor.ones(2, 3));
        assertThat(base.toArray()).containsExactly(1, 7, 3, 9, 5, 11);

        // aliasing: adding the tensor's own transpose must read the old values
        Tensor sq = Tensor.arange(4).reshape(2, 2);
        sq.addInPlace(sq.t());
        assertThat(sq.toArray()).containsExactly(0, 3, 3, 6);

        // large, parallel
        Tensor big = Ref.rand(1, 1000, 517), add = Ref.rand(2, 517);
        float[] want = Ref.binary(big, add, (a, b) -> (float) a + (float) b);
        big.addInPlace(add);
        assertThat(java.util.Arrays.equals(big.toArray(), want)).isTrue();
        Tensor p = Ref.rand(3, 70_001), g = Ref.rand(4, 70_001);
        float[] pv = p.toArray(), gv = g.toArray();
        p.addScaledInPlace(-0.01f, g);
        float[] got = p.toArray();
        for (int i = 0; i < pv.length; i++) pv[i] = Math.fma(gv[i], -0.01f, pv[i]);
        assertThat(java.util.Arrays.equals(got, pv)).isTrue();
    }

    @Test
    void errorsNameTheOpAndShapes() {
        assertThatThrownBy(() -> Tensor.zeros(2, 3).add(Tensor.zeros(4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("add").hasMessageContaining("[2, 3]").hasMessageContaining("[4]");
        assertThatThrownBy(() -> Tensor.zeros(2, 3).div(Tensor.zeros(3, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("div").hasMessageContaining("[3, 3]");
        assertThatThrownBy(() -> Tensor.where(Tensor.zeros(2), Tensor.zeros(3), Tensor.zeros(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("where").hasMessageContaining("[2]").hasMessageContaining("[3]");
        assertThatThrownBy(() -> Tensor.zeros(3).maskedFill(Tensor.zeros(2, 3), 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maskedFill").hasMessageContaining("[2, 3]");
        assertThatThrownBy(() -> Tensor.zeros(3).addInPlace(Tensor.zeros(2, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("addInPlace").hasMessageContaining("[2, 3]");
        assertThatThrownBy(() -> Tensor.zeros(3).addScaledInPlace(1f, Tensor.zeros(4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("addScaledInPlace").hasMessageContaining("[4]");
    }
}
