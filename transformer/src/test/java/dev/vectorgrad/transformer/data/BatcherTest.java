package dev.vectorgrad.transformer.data;

import dev.vectorgrad.tensor.Rng;
import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BatcherTest {
    /** ids[i] = 1000 + i, so a window's first value tells its start. */
    private static int[] ramp(int n) {
        return IntStream.range(0, n).map(i -> 1000 + i).toArray();
    }

    @Test
    void windowsAreShiftedByOneAndStartWhereTheRngSays() {
        int n = 50, b = 4, t = 8;
        Batcher batcher = new Batcher(ramp(n), b, t, 42L);
        Rng reference = new Rng(42L);
        for (int step = 0; step < 20; step++) {
            Batcher.Batch batch = batcher.next();
            assertThat(batch.x().shape()).containsExactly(b, t);
            assertThat(batch.y().shape()).containsExactly(b, t);
            for (int r = 0; r < b; r++) {
                int start = reference.nextInt(n - t); // nanoGPT: torch.randint(len(data) - block_size, (B,))
                for (int k = 0; k < t; k++) {
                    assertThat(batch.x().get(r, k)).isEqualTo(1000 + start + k);
                    assertThat(batch.y().get(r, k)).isEqualTo(1000 + start + k + 1);
                }
            }
        }
    }

    @Test
    void everyStartIsReachableAndNoneOverruns() {
        int n = 20, t = 5; // starts 0..14
        Batcher batcher = new Batcher(ramp(n), 8, t, 7L);
        boolean[] seen = new boolean[n];
        for (int step = 0; step < 200; step++) {
            int[] x = batcher.next().x().storage();
            for (int r = 0; r < 8; r++) seen[x[r * t] - 1000] = true;
        }
        for (int s = 0; s < n - t; s++) assertThat(seen[s]).as("start %d", s).isTrue();
        for (int s = n - t; s < n; s++) assertThat(seen[s]).as("start %d", s).isFalse();
    }

    @Test
    void sameSeedSameBatchesDifferentSeedDifferent() {
        int[] ids = ramp(1000);
        Batcher a = new Batcher(ids, 12, 64, 1337L), b = new Batcher(ids, 12, 64, 1337L), c = new Batcher(ids, 12, 64, 1338L);
        for (int i = 0; i < 5; i++) {
            int[] xa = a.next().x().storage();
            assertThat(xa).isEqualTo(b.next().x().storage());
            assertThat(xa).isNotEqualTo(c.next().x().storage());
        }
    }

    @Test
    void smallestStreamHasOneWindow() {
        Batcher batcher = new Batcher(new int[] {5, 6, 7}, 3, 2, 0L);
        Batcher.Batch batch = batcher.next();
        assertThat(batch.x().storage()).containsExactly(5, 6, 5, 6, 5, 6);
        assertThat(batch.y().storage()).containsExactly(6, 7, 6, 7, 6, 7);
        assertThatThrownBy(() -> new Batcher(new int[] {1, 2}, 1, 2, 0L))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("need at least 3");
    }

    @Test
    void fixedStarts() {
        Batcher batcher = new Batcher(ramp(10), 1, 3, 0L);
        Batcher.Batch batch = batcher.at(0, 6);
        assertThat(batch.x().storage()).containsExactly(1000, 1001, 1002, 1006, 1007, 1008);
        assertThat(batch.y().storage()).containsExactly(1001, 1002, 1003, 1007, 1008, 1009);
        assertThatThrownBy(() -> batcher.at(7)).isInstanceOf(IllegalArgumentException.class);
    }
}
