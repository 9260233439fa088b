package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class StepArenaTest {
    @Test
    void withoutAnArenaEveryArrayIsFreshAndZeroed() {
        float[] a = StepArena.floats(10_000), b = StepArena.floats(10_000);
        assertThat(a).isNotSameAs(b).containsOnly(0f);
    }

    @Test
    void closingHandsArraysBackAndTheNextScopeReusesThem() {
        StepArena arena = StepArena.open();
        float[] big = StepArena.floats(10_000), other = StepArena.floats(20_000), small = StepArena.floats(100);
        assertThat(arena.lentCount()).isEqualTo(2); // small arrays are not pooled
        arena.close();
        try (StepArena a = arena.reopen()) {
            assertThat(StepArena.floats(20_000)).isSameAs(other);
            assertThat(StepArena.floats(10_000)).isSameAs(big);
            assertThat(StepArena.floats(10_000)).isNotSameAs(big); // only one of that size was pooled
            assertThat(StepArena.floats(100)).isNotSameAs(small);
        }
        // closed: fresh arrays again
        assertThat(StepArena.floats(10_000)).isNotSameAs(big);
    }

    @Test
    void sizesNoScopeAsksForAreDroppedAfterTwoScopes() {
        // Shapes that change from scope to scope (e.g. batches of different lengths) must not grow the pool
        // without bound; the sizes every scope asks for stay pooled.
        StepArena arena = StepArena.create();
        float[] steady;
        try (StepArena a = arena.reopen()) {
            steady = StepArena.floats(8_000);
            for (int i = 0; i < 3; i++) StepArena.floats(10_000);
        }
        assertThat(arena.pooledArrays()).isEqualTo(4);
        try (StepArena a = arena.reopen()) {
            assertThat(StepArena.floats(8_000)).isSameAs(steady);
            StepArena.floats(20_000);
        }
        assertThat(arena.pooledArrays()).as("10,000 idle for one scope: kept").isEqualTo(5);
        try (StepArena a = arena.reopen()) {
            assertThat(StepArena.floats(8_000)).isSameAs(steady);
        }
        assertThat(arena.pooledArrays()).as("10,000 idle for two scopes, 20,000 for one").isEqualTo(2);
        for (int scope = 0; scope < 50; scope++) {
            try (StepArena a = arena.reopen()) {
                assertThat(StepArena.floats(8_000)).isSameAs(steady);
                StepArena.floats(5_000 + scope); // a new size every scope
            }
            assertThat(arena.pooledArrays()).as("scope %d", scope).isLessThanOrEqualTo(3);
        }
    }

    @Test
    void opsInsideAnArenaGiveTheSameValuesAsOutside() {
        Tensor x = Tensor.arange(9000).reshape(90, 100).mul(0.01f);
        float[] expect = x.gelu().add(x).softmax(1).toArray();
        StepArena arena = StepArena.create();
        for (int step = 0; step < 3; step++) {
            try (StepArena a = arena.reopen()) {
                // reused arrays hold the previous step's values: every kernel must overwrite its whole output
                assertThat(x.gelu().add(x).softmax(1).toArray()).isEqualTo(expect);
            }
        }
    }

    @Test
    void oneArenaPerThreadAndOnlyItsOwnerReopensIt() throws Exception {
        StepArena arena = StepArena.open();
        try {
            assertThatThrownBy(StepArena::open).isInstanceOf(IllegalStateException.class).hasMessageContaining("another arena");
            assertThatThrownBy(arena::reopen).isInstanceOf(IllegalStateException.class).hasMessageContaining("already open");
        } finally {
            arena.close();
        }
        AtomicReference<Throwable> err = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                arena.reopen();
            } catch (Throwable e) {
                err.set(e);
            }
        });
        t.start();
        t.join();
        assertThat(err.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("reopened on");
    }
}
