package dev.vectorgrad.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The engine's one shared thread pool.
 *
 * <p>Its size comes from the system property {@code vectorgrad.threads}, else the environment variable
 * {@code VECTORGRAD_THREADS}, else the number of available processors; {@link #setThreads(int)} changes it
 * at run time. Work is handed out as numbered tasks: {@link #forRange(int, IntConsumer)} runs
 * {@code body.accept(i)} once for every {@code i} in {@code [0, tasks)}, on the caller and the pool's
 * workers, and returns when all have finished. Kernels make each task own a fixed part of the output, so
 * results never depend on which thread ran which task: they are bit-identical for every thread count.
 *
 * <p>The workers spin briefly before parking, because the engine issues many short parallel sections in a
 * row (a training step is hundreds of kernels of tens of microseconds). A call made from inside a task, or
 * while another thread holds the pool, runs its tasks inline on the calling thread.
 */
public final class Parallel {
    private static final ReentrantLock CONFIG = new ReentrantLock();
    private static volatile Pool pool;
    private static volatile int threads;

    static {
        setThreads(configuredThreads());
    }

    private Parallel() {}

    /** The configured thread count (at least 1). */
    public static int threads() {
        return threads;
    }

    /** Sets the thread count of the shared pool (1 = everything runs on the calling thread). */
    public static void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("Parallel.setThreads: thread count must be >= 1, got " + n);
        CONFIG.lock();
        try {
            if (pool != null && threads == n) return;
            Pool old = pool;
            pool = n > 1 ? new Pool(n - 1) : null;
            threads = n;
            if (old != null) {
                old.lock.lock(); // waits for a running job to finish first
                try {
                    old.shutdown();
                } finally {
                    old.lock.unlock();
                }
            }
        } finally {
            CONFIG.unlock();
        }
    }

    /** Thread count from {@code -Dvectorgrad.threads}, {@code VECTORGRAD_THREADS}, or the processor count. */
    static int configuredThreads() {
        String s = System.getProperty("vectorgrad.threads");
        if (s == null || s.isBlank()) s = System.getenv("VECTORGRAD_THREADS");
        if (s != null && !s.isBlank()) {
            try {
                int n = Integer.parseInt(s.trim());
                if (n >= 1) return n;
            } catch (NumberFormatException ignored) {
                // fall through to the processor count
            }
            throw new IllegalArgumentException("vectorgrad.threads / VECTORGRAD_THREADS must be a positive integer, got '" + s + "'");
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Runs {@code body.accept(i)} for every {@code i} in {@code [0, tasks)} on the shared pool and waits for
     * all of them. The first exception thrown by a task is rethrown here (after every task has stopped).
     */
    public static void forRange(int tasks, IntConsumer body) {
        if (tasks <= 0) return;
        Pool p = pool;
        if (tasks == 1 || p == null || Pool.insideTask() || !p.lock.tryLock()) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        try {
            p.run(tasks, body);
        } finally {
            p.lock.unlock();
        }
    }

    /** Splits {@code [0, n)} into at most {@code parts} contiguous chunks and returns chunk {@code i}'s start. */
    public static int chunkStart(int n, int parts, int i) {
        return (int) ((long) n * i / parts);
    }

    /** A fixed set of worker threads that execute one job at a time, together with the caller. */
    private static final class Pool {
        private static final ThreadLocal<Boolean> IN_TASK = ThreadLocal.withInitial(() -> Boolean.FALSE);
        /** How long an idle worker spins before parking (-Dvectorgrad.spinMicros, default 200). */
        private static final long SPIN_NANOS = Long.getLong("vectorgrad.spinMicros", 200) * 1000;

        final ReentrantLock lock = new ReentrantLock();
        private final Thread[] workers;
        private volatile boolean stopped;
        /** Incremented for every job; a worker runs a job when it sees a generation it has not run yet. */
        private final AtomicInteger generation = new AtomicInteger();
        private volatile Job job;

        Pool(int n) {
            workers = new Thread[n];
            for (int i = 0; i < n; i++) {
                int self = i + 1;
                Thread t = new Thread(() -> workerLoop(self), "vectorgrad-worker-" + i);
                t.setDaemon(true);
                workers[i] = t;
                t.start();
            }
        }

        static boolean insideTask() {
            return IN_TASK.get();
        }

        void run(int tasks, IntConsumer body) {
            Job j = new Job(tasks, body, workers.length + 1);
            job = j;
            generation.incrementAndGet();
            for (Thread w : workers) LockSupport.unpark(w);
            j.work(0);
            // Wait for the tasks, not for the workers: a worker that was descheduled and claimed nothing
            // must not hold up the call (on a loaded machine that happens often).
            long spins = 0;
            while (j.done.get() != tasks) {
                if (++spins < 1_000_000) Thread.onSpinWait();
                else LockSupport.parkNanos(10_000);
            }
            Throwable t = j.failure.get();
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error e) throw e;
            if (t != null) throw new RuntimeException(t);
        }

        private void workerLoop(int self) {
            IN_TASK.set(Boolean.TRUE);
            int seen = 0;
            while (!stopped) {
                int g = generation.get();
                if (g == seen) {
                    long start = System.nanoTime();
                    while (generation.get() == seen && !stopped) {
                        if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                        else LockSupport.parkNanos(this, 1_000_000);
                    }
                    continue;
                }
                seen = g;
                // May already be a newer job than generation g: then this worker simply helps with that one.
                job.work(self);
            }
        }

        void shutdown() {
            stopped = true;
            for (Thread w : workers) LockSupport.unpark(w);
        }
    }

    /**
     * One parallel section. The tasks are split into one contiguous share per thread (the caller is thread 0,
     * worker i thread i + 1); each thread runs its own share in order, then takes what is left of the others'
     * (a share's tasks are claimed from its own counter, so a descheduled thread's share is finished by the
     * others instead of stalling the call). Why shares and not one shared counter: consecutive kernels split
     * their rows alike, so a thread mostly reads what it wrote itself, from its own core's cache. These VMs'
     * two vCPUs are at times on different CCDs of the host (a cache-line round trip between the two threads
     * measured 350 ns instead of 67 ns, switching every few seconds); with one shared counter about half of
     * every activation crossed between them at each kernel boundary, and a baby-GPT step took 37-39 ms
     * instead of 29-30 in those periods.
     */
    private static final class Job {
        /** Ints between two shares' counters: a cache line apart, so claiming does not bounce a shared line. */
        private static final int PAD = 16;
        final int tasks, shares;
        final IntConsumer body;
        /** Share s's next task at index s·PAD; share s is [chunkStart(tasks, shares, s), chunkStart(.., s + 1)). */
        final AtomicIntegerArray next;
        /** Tasks finished (or skipped after a failure); the caller returns when it reaches {@code tasks}. */
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(int tasks, IntConsumer body, int threads) {
            this.tasks = tasks;
            this.body = body;
            this.shares = Math.min(tasks, threads);
            this.next = new AtomicIntegerArray(shares * PAD);
            for (int s = 0; s < shares; s++) next.set(s * PAD, chunkStart(tasks, shares, s));
        }

        /** Runs thread {@code self}'s share, then helps with the others' until none is left. */
        void work(int self) {
            boolean outer = !Pool.IN_TASK.get();
            if (outer) Pool.IN_TASK.set(Boolean.TRUE);
            try {
                for (int q = 0; q < shares; q++) {
                    int s = (self + q) % shares, end = chunkStart(tasks, shares, s + 1);
                    int i;
                    while ((i = next.getAndIncrement(s * PAD)) < end) {
                        try {
                            if (failure.get() == null) body.accept(i);
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        } finally {
                            done.incrementAndGet();
                        }
                    }
                }
            } finally {
                if (outer) Pool.IN_TASK.set(Boolean.FALSE);
            }
        }
    }
}
