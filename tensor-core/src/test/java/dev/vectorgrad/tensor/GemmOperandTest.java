package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * GemmOperand at the awkward layouts: every element read back through (data, offset, ld, trans, batchStride) as
 * the kernel reads it must be the element of the view, given in closed form over an arange base; views that
 * need no copy share the base's storage.
 */
class GemmOperandTest {
    /** Element (i, j) of batch entry b, addressed as Gemm addresses it. */
    private static float read(GemmOperand o, int b, int i, int j) {
        int p = o.trans() ? j * o.ld() + i : i * o.ld() + j;
        return o.data()[(int) (o.offset() + b * o.batchStride() + p)];
    }

    private static Tensor arange(int... shape) {
        return Tensor.arange(Shapes.numel(shape)).reshape(shape);
    }

    @Test
    void aSingleRowOfAWideMatrixIsReadInPlaceWithItsOwnLengthAsLd() {
        Tensor base = arange(5, 1024);
        GemmOperand o = GemmOperand.of(base.narrow(1, 0, 1000).narrow(0, 2, 1)); // [1, 1000], row stride 1024
        assertThat(o.data()).isSameAs(base.storage());
        assertThat(o.trans()).isFalse();
        assertThat(o.ld()).isEqualTo(1000); // one row: its stride is no leading dimension (1024 would force a copy of A)
        for (int j = 0; j < 1000; j += 37) assertThat(read(o, 0, 0, j)).isEqualTo(2 * 1024 + j);
    }

    @Test
    void aColumnOrRowOfATransposedMatrix() {
        Tensor base = arange(6, 4), t = base.t(); // t[i, j] = base[j, i] = 4j + i, strides [1, 4]
        GemmOperand col = GemmOperand.of(t.narrow(1, 2, 1)); // [4, 1]: column 2 of t, contiguous in storage
        assertThat(col.data()).isSameAs(base.storage());
        assertThat(col.trans()).isFalse();
        assertThat(col.ld()).isEqualTo(1);
        for (int i = 0; i < 4; i++) assertThat(read(col, 0, i, 0)).isEqualTo(4 * 2 + i);
        GemmOperand row = GemmOperand.of(t.narrow(0, 1, 1)); // [1, 6]: row 1 of t, stride 4 along it
        assertThat(row.data()).isSameAs(base.storage());
        assertThat(row.trans()).isTrue();
        assertThat(row.ld()).isEqualTo(4);
        for (int j = 0; j < 6; j++) assertThat(read(row, 0, 0, j)).isEqualTo(4 * j + 1);
        GemmOperand whole = GemmOperand.of(t);
        assertThat(whole.trans()).isTrue();
        assertThat(whole.ld()).isEqualTo(4);
        for (int i = 0; i < 4; i++) for (int j = 0; j < 6; j++) assertThat(read(whole, 0, i, j)).isEqualTo(4 * j + i);
    }

    @Test
    void aBroadcastOperandHasBatchStrideZero() {
        Tensor w = arange(3, 4);
        GemmOperand o = GemmOperand.of(w, 2, 5);
        assertThat(o.data()).isSameAs(w.storage());
        assertThat(o.batchStride()).isZero();
        for (int b = 0; b < 10; b++) assertThat(read(o, b, 2, 3)).isEqualTo(11f);
        // batch axes that step as one (a contiguous [2, 3, ...] block) collapse into one stride
        Tensor x = arange(2, 3, 4, 5);
        GemmOperand c = GemmOperand.of(x);
        assertThat(c.data()).isSameAs(x.storage());
        assertThat(c.batchStride()).isEqualTo(20);
    }

    @Test
    void batchAxesThatDoNotCollapseAreCopiedOnce() {
        // [3, 2, 4, 5] with batch strides [20, 60]: no single stride walks them; one dense copy of the view
        Tensor p = arange(2, 3, 4, 5).transpose(0, 1);
        GemmOperand o = GemmOperand.of(p);
        assertThat(o.data()).hasSize(120);
        assertThat(o.batchStride()).isEqualTo(20);
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 2; b++)
                assertThat(read(o, a * 2 + b, 3, 4)).isEqualTo(b * 60 + a * 20 + 3 * 5 + 4);
        // [2, 1, 3, 4] broadcast to batch [2, 5]: strides [12, 0] mix a real and a broadcast axis, so the
        // broadcast itself is materialised (10 matrices), still only one copy
        Tensor x = arange(2, 1, 3, 4);
        GemmOperand m = GemmOperand.of(x, 2, 5);
        assertThat(m.data()).hasSize(120);
        assertThat(m.batchStride()).isEqualTo(12);
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 5; b++)
                assertThat(read(m, a * 5 + b, 1, 2)).isEqualTo(a * 12 + 4 + 2);
    }

    @Test
    void aLayoutTheKernelCannotReadIsCopiedBeforeItsBroadcast() {
        Tensor x = arange(4, 5, 2).select(2, 0); // [4, 5] with strides [10, 2]: x[i, j] = 10i + 2j
        GemmOperand o = GemmOperand.of(x, 3);
        assertThat(o.data()).hasSize(20); // the 4×5 matrix once, not three times
        assertThat(o.batchStride()).isZero();
        assertThat(o.trans()).isFalse();
        assertThat(o.ld()).isEqualTo(5);
        for (int b = 0; b < 3; b++) for (int i = 0; i < 4; i++) for (int j = 0; j < 5; j++)
            assertThat(read(o, b, i, j)).isEqualTo(10 * i + 2 * j);
    }

    @Test
    void emptyOperandsStillGiveTheKernelValidArguments() {
        GemmOperand k0 = GemmOperand.of(Tensor.zeros(3, 0)); // [m, 0]: the kernel still wants ld ≥ 1
        assertThat(k0.ld()).isEqualTo(1);
        GemmOperand noBatch = GemmOperand.of(Tensor.zeros(2, 3), 0);
        assertThat(noBatch.ld()).isGreaterThanOrEqualTo(3);
        assertThat(noBatch.batchStride()).isNotNegative();
        Gemm.sgemmBatched(0, noBatch.trans(), false, 2, 4, 3, 1f, noBatch.data(), noBatch.offset(), noBatch.ld(),
                noBatch.batchStride(), new float[12], 0, 4, 0, 0f, new float[0], 0, 4, 8); // accepted, nothing to do
    }

    @Test
    void fewerThanTwoAxesIsRefusedWithTheShape() {
        assertThatThrownBy(() -> GemmOperand.of(Tensor.vector(1, 2, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3]");
    }
}
