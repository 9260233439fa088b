package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class JoinOpsTest {
    @Test
    void embeddingGathersRows() {
        Tensor table = Tensor.arange(12).reshape(4, 3);
        IntTensor ids = IntTensor.of(new int[] {3, 0, 3, 1, 2, 2}, 2, 3);
        Tensor e = Tensor.embedding(table, ids);
        assertThat(e.shape()).isEqualTo(new int[] {2, 3, 3});
        Ref.forEach(e.shape(), idx -> assertThat(e.get(idx)).isEqualTo(table.get(ids.get(idx[0], idx[1]), idx[2])));
        assertThat(Tensor.embedding(table.t().contiguous().t(), IntTensor.of(new int[] {2}, 1)).toArray()).containsExactly(6, 7, 8);
        assertThat(Tensor.embedding(table, IntTensor.zeros(0)).shape()).isEqualTo(new int[] {0, 3});
        Tensor big = Ref.rand(1, 1000, 96);
        int[] many = new int[5000];
        for (int i = 0; i < many.length; i++) many[i] = (i * 7919) % 1000;
        Tensor g = Tensor.embedding(big, IntTensor.wrap(many, 50, 100));
        for (int i = 0; i < many.length; i += 997)
            for (int j = 0; j < 96; j++) assertThat(g.get(i / 100, i % 100, j)).isEqualTo(big.get(many[i], j));
    }

    @Test
    void embeddingRejectsBadIds() {
        Tensor table = Tensor.zeros(4, 3);
        assertThatThrownBy(() -> Tensor.embedding(table, IntTensor.of(new int[] {1, 4}, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("embedding").hasMessageContaining("id 4").hasMessageContaining("4 rows");
        assertThatThrownBy(() -> Tensor.embedding(table, IntTensor.of(new int[] {-1}, 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id -1");
        assertThatThrownBy(() -> Tensor.embedding(Tensor.zeros(4), IntTensor.of(new int[] {0}, 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("embedding").hasMessageContaining("[4]");
    }

    @Test
    void concatAlongEachAxis() {
        Tensor a = Ref.rand(1, 2, 3, 4), b = Ref.rand(2, 2, 5, 4), c = Ref.rand(3, 2, 1, 4).permute(0, 1, 2);
        Tensor y = Tensor.concat(1, a, b, c);
        assertThat(y.shape()).isEqualTo(new int[] {2, 9, 4});
        Ref.forEach(y.shape(), idx -> {
            int k = idx[1];
            float want = k < 3 ? a.get(idx[0], k, idx[2]) : k < 8 ? b.get(idx[0], k - 3, idx[2]) : c.get(idx[0], k - 8, idx[2]);
            assertThat(y.get(idx)).isEqualTo(want);
        });
        Tensor t = Ref.rand(4, 3, 2).t(); // strided [2,3]
        Tensor z = Tensor.concat(-1, t, Tensor.zeros(2, 0), Tensor.ones(2, 1));
        assertThat(z.toArray()).containsExactly(t.get(0, 0), t.get(0, 1), t.get(0, 2), 1, t.get(1, 0), t.get(1, 1), t.get(1, 2), 1);
        assertThat(Tensor.concat(0, Tensor.vector(1, 2), Tensor.vector(3)).toArray()).containsExactly(1, 2, 3);
    }

    @Test
    void stackAndSplit() {
        Tensor a = Tensor.arange(6).reshape(2, 3), b = a.add(10f);
        Tensor s0 = Tensor.stack(0, a, b), s2 = Tensor.stack(2, a, b), sm = Tensor.stack(-1, a, b);
        assertThat(s0.shape()).isEqualTo(new int[] {2, 2, 3});
        assertThat(s2.shape()).isEqualTo(new int[] {2, 3, 2});
        assertThat(sm.toArray()).isEqualTo(s2.toArray());
        assertThat(s2.toArray()).containsExactly(0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15);
        assertThat(s0.select(0, 1).toArray()).isEqualTo(b.toArray());

        Tensor x = Tensor.arange(20).reshape(4, 5);
        Tensor[] parts = x.split(1, 2, 3);
        assertThat(parts).hasSize(2);
        assertThat(parts[0].shape()).isEqualTo(new int[] {4, 2});
        assertThat(parts[1].toArray()).containsExactly(2, 3, 4, 7, 8, 9, 12, 13, 14, 17, 18, 19);
        assertThat(parts[1].storage()).isSameAs(x.storage()); // views
        Tensor[] chunks = x.split(1, 2);
        assertThat(chunks).hasSize(3);
        assertThat(chunks[2].shape()).isEqualTo(new int[] {4, 1});
        assertThat(Tensor.concat(1, chunks).toArray()).isEqualTo(x.toArray());
        assertThat(x.split(0, 4)).hasSize(1);
        assertThat(x.split(0, new int[] {1, 0, 3})[1].shape()).isEqualTo(new int[] {0, 5});
    }

    @Test
    void joinErrorsNameTheOpAndShapes() {
        assertThatThrownBy(() -> Tensor.concat(0, Tensor.zeros(2, 3), Tensor.zeros(2, 4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concat").hasMessageContaining("[2, 3]").hasMessageContaining("[2, 4]");
        assertThatThrownBy(() -> Tensor.concat(0, Tensor.zeros(2, 3), Tensor.zeros(3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concat");
        assertThatThrownBy(() -> Tensor.concat(2, Tensor.zeros(2, 3))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concat");
        assertThatThrownBy(() -> Tensor.concat(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concat");
        assertThatThrownBy(() -> Tensor.stack(0, Tensor.zeros(2, 3), Tensor.zeros(3, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stack").hasMessageContaining("[3, 2]");
        assertThatThrownBy(() -> Tensor.stack(3, Tensor.zeros(2, 3))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stack");
        assertThatThrownBy(() -> Tensor.zeros(4, 5).split(1, 2, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("split").hasMessageContaining("[2, 2]").hasMessageContaining("[4, 5]");
        assertThatThrownBy(() -> Tensor.zeros(4, 5).split(1, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("split");
        assertThatThrownBy(() -> Tensor.zeros(4, 5).split(2, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("split");
    }
}
