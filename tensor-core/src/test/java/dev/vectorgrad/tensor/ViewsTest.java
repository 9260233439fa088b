package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ViewsTest {
    @Test
    void reshapeIsAViewWhenContiguousAndACopyOtherwise() {
        Tensor x = Tensor.arange(12).reshape(3, 4);
        Tensor v = x.reshape(2, 6);
        assertThat(v.storage()).isSameAs(x.storage());
        v.set(100f, 1, 0);
        assertThat(x.get(1, 2)).isEqualTo(100f);
        Tensor t = x.t();
        Tensor c = t.reshape(12);
        assertThat(c.storage()).isNotSameAs(x.storage());
        assertThat(c.toArray()).containsExactly(0, 4, 8, 1, 5, 9, 2, 100, 10, 3, 7, 11);
        assertThat(x.reshape(-1, 2).shape()).isEqualTo(new int[] {6, 2});
        assertThatThrownBy(() -> t.view(12)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("view");
    }

    @Test
    void viewOpsShareStorageAndIndexCorrectly() {
        Tensor x = Tensor.arange(24).reshape(2, 3, 4);
        Tensor p = x.permute(2, 0, 1);
        assertThat(p.shape()).isEqualTo(new int[] {4, 2, 3});
        Ref.forEach(p.shape(), i -> assertThat(p.get(i)).isEqualTo(i[1] * 12 + i[2] * 4 + i[0]));
        Tensor tr = x.transpose(0, 2);
        Ref.forEach(tr.shape(), i -> assertThat(tr.get(i)).isEqualTo(i[2] * 12 + i[1] * 4 + i[0]));
        Tensor n = x.narrow(2, 1, 2);
        assertThat(n.shape()).isEqualTo(new int[] {2, 3, 2});
        Ref.forEach(n.shape(), i -> assertThat(n.get(i)).isEqualTo(i[0] * 12 + i[1] * 4 + i[2] + 1));
        Tensor s = x.select(1, 2);
        assertThat(s.shape()).isEqualTo(new int[] {2, 4});
        Ref.forEach(s.shape(), i -> assertThat(s.get(i)).isEqualTo(i[0] * 12 + 8 + i[1]));
        Tensor sl = x.slice(2, -3, -1);
        assertThat(sl.toArray()).isEqualTo(n.toArray());
        Tensor e = Tensor.vector(1, 2, 3).unsqueeze(0).expand(4, 3);
        assertThat(e.strides()[0]).isZero();
        assertThat(e.toArray()).containsExactly(1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3);
        Tensor u = x.unsqueeze(1);
        assertThat(u.shape()).isEqualTo(new int[] {2, 1, 3, 4});
        assertThat(u.squeeze(1).toArray()).isEqualTo(x.toArray());
        for (Tensor view : new Tensor[] {p, tr, n, s, sl, u, u.squeeze(1)}) assertThat(view.storage()).isSameAs(x.storage());
        // writes through a view land in the base
        s.set(-1f, 0, 0);
        assertThat(x.get(0, 2, 0)).isEqualTo(-1f);
        n.fill(7f);
        assertThat(x.get(1, 2, 1)).isEqualTo(7f);
        assertThat(x.get(1, 2, 0)).isEqualTo(20f);
        // ops on views never modify them
        float[] before = p.toArray();
        p.exp();
        p.add(p);
        p.softmax(0);
        assertThat(p.toArray()).isEqualTo(before);
    }
}
