package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ParallelTest {
    private final int saved = Parallel.threads();

    @AfterEach
    void restore() {
        Parallel.setThreads(saved);
    }

    @Test
    void everyTaskRunsExactlyOnceForEveryThreadCount() {
        for (int threads : new int[] {1, 2, 3, 5}) {
            Parallel.setThreads(threads);
            for (int tasks : new int[] {0, 1, 2, 7, 1000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(tasks, 1));
                for (int rep = 0; rep < 50; rep++) Parallel.forRange(tasks, hits::incrementAndGet);
                for (int i = 0; i < tasks; i++) assertThat(hits.get(i)).as("task %d, threads %d", i, threads).isEqualTo(50);
            }
        }
    }

    @Test
    void usesSeveralThreadsWhenConfigured() {
        Parallel.setThreads(2);
        var names = java.util.concurrent.ConcurrentHashMap.<String>newKeySet();
        for (int rep = 0; rep < 200 && names.size() < 2; rep++) {
            Parallel.forRange(64, i -> {
                names.add(Thread.currentThread().getName());
                long t = System.nanoTime();
                while (System.nanoTime() - t < 20_000) Thread.onSpinWait();
            });
        }
        assertThat(names).hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    void aStalledThreadsShareIsFinishedByTheOthers() {
        // Each thread starts on its own contiguous share; the first task of the second share blocks until every
        // other task is done, which only happens if another thread takes over the rest of that share.
        Parallel.setThreads(2);
        for (int rep = 0; rep < 20; rep++) {
            int tasks = 100, stall = Parallel.chunkStart(tasks, 2, 1);
            AtomicInteger others = new AtomicInteger();
            AtomicIntegerArray hits = new AtomicIntegerArray(tasks);
            Parallel.forRange(tasks, i -> {
                hits.incrementAndGet(i);
                if (i != stall) {
                    others.incrementAndGet();
                    return;
                }
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (others.get() < tasks - 1) {
                    if (System.nanoTime() > deadline) throw new AssertionError("tasks after " + stall + " were left waiting");
                    Thread.onSpinWait();
                }
            });
            for (int i = 0; i < tasks; i++) assertThat(hits.get(i)).as("task %d", i).isEqualTo(1);
        }
    }

    @Test
    void nestedCallsRunInlineWithoutDeadlock() {
        Parallel.setThreads(3);
        AtomicInteger count = new AtomicInteger();
        Parallel.forRange(8, i -> Parallel.forRange(8, j -> count.incrementAndGet()));
        assertThat(count.get()).isEqualTo(64);
    }

    @Test
    void firstExceptionIsRethrownAfterAllTasksStop() {
        Parallel.setThreads(2);
        assertThatThrownBy(() -> Parallel.forRange(100, i -> {
            if (i == 37) throw new IllegalStateException("task 37 failed");
        })).isInstanceOf(IllegalStateException.class).hasMessage("task 37 failed");
        // The pool still works afterwards.
        AtomicInteger count = new AtomicInteger();
        Parallel.forRange(10, i -> count.incrementAndGet());
        assertThat(count.get()).isEqualTo(10);
    }

    @Test
    void rejectsNonPositiveThreadCount() {
        assertThatThrownBy(() -> Parallel.setThreads(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0");
    }

    @Test
    void chunksCoverTheRangeWithoutGaps() {
        for (int n : new int[] {0, 1, 7, 100}) {
            for (int parts : new int[] {1, 2, 3, 8}) {
                assertThat(Parallel.chunkStart(n, parts, 0)).isZero();
                assertThat(Parallel.chunkStart(n, parts, parts)).isEqualTo(n);
                for (int i = 0; i < parts; i++)
                    assertThat(Parallel.chunkStart(n, parts, i + 1)).isGreaterThanOrEqualTo(Parallel.chunkStart(n, parts, i));
            }
        }
    }
}
