package dev.vectorgrad.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;

/**
 * Recycles the large output arrays of one training step into the next, as PyTorch's caching allocator does.
 *
 * <p>A training step allocates the same activations and gradients every time (about 100 MB for the baby GPT).
 * Fresh Java arrays cost twice: the JVM zeroes them, and the garbage makes the heap grow and the collector run
 * (a 256 MB heap spent ~10 ms of every 60 ms step in young collections, a default heap grew to 2 GB). Inside
 * an open arena, kernels that overwrite their whole output take it from {@link #floats(int)}; closing the
 * arena hands every such array back, and the next step's same-sized requests reuse them.
 *
 * <pre>{@code
 * StepArena arena = StepArena.create();
 * for (int step = 0; step < steps; step++) {
 *     try (StepArena a = arena.reopen()) {
 *         Variable loss = model.loss(x, y);
 *         loss.backward();
 *         optimizer.step();
 *         lossValue = loss.item();   // read what you need inside
 *     }                              // every tensor made inside is invalid from here on
 * }
 * }</pre>
 *
 * <p>The contract: no tensor computed inside the scope is used after {@link #close()}. Parameters, optimiser
 * state and accumulated {@code .grad}s are allocated outside the arena's pool (gradients are copied into the
 * leaf's own buffer), so a training step keeps this contract naturally. Without an open arena (the default),
 * {@link #floats(int)} is {@code new float[n]}. An arena belongs to the thread that opened it; arrays requested
 * on other threads are always fresh.
 */
public final class StepArena implements AutoCloseable {
    /** Smaller arrays are cheap to allocate; only these sizes and up are pooled. */
    static final int MIN_POOLED = 4096;

    private static final ThreadLocal<StepArena> CURRENT = new ThreadLocal<>();

    private final HashMap<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    /** Per pooled size, how many scopes in a row have closed without asking for it. */
    private final HashMap<Integer, Integer> idle = new HashMap<>();
    /** The sizes asked for in the scope being closed (a field, reused every close). */
    private final java.util.HashSet<Integer> asked = new java.util.HashSet<>();
    /**
     * A size no scope asked for in this many closes in a row is dropped from the pool. A training loop asks for
     * the same sizes every step and keeps them all; a caller whose shapes change (batches padded differently,
     * an evaluation between steps) no longer grows the pool without bound: it holds at most what the last two
     * scopes used.
     */
    static final int MAX_IDLE_SCOPES = 2;
    private final ArrayList<float[]> lent = new ArrayList<>();
    private final Thread owner = Thread.currentThread();
    private boolean open;

    private StepArena() {}

    /** A new arena, opened on the calling thread (which must not have one open already). */
    public static StepArena open() {
        return new StepArena().reopen();
    }

    /** A new arena owned by the calling thread, not open yet: each step then runs in {@code try (var a = arena.reopen())}. */
    public static StepArena create() {
        return new StepArena();
    }

    /** Opens this arena again for the next step, keeping the arrays it has pooled. */
    public StepArena reopen() {
        if (Thread.currentThread() != owner)
            throw new IllegalStateException("StepArena: opened on " + owner.getName() + ", reopened on " + Thread.currentThread().getName());
        if (open) throw new IllegalStateException("StepArena: already open");
        if (CURRENT.get() != null) throw new IllegalStateException("StepArena: another arena is open on this thread");
        CURRENT.set(this);
        open = true;
        return this;
    }

    /**
     * An array of {@code n} floats whose contents are unspecified (the caller overwrites every element): from
     * the open arena's pool when there is one on this thread, else a new array.
     */
    public static float[] floats(int n) {
        StepArena a = CURRENT.get();
        if (a == null || n < MIN_POOLED) return new float[n];
        ArrayDeque<float[]> q = a.free.get(n);
        float[] r = q == null || q.isEmpty() ? new float[n] : q.pop();
        a.lent.add(r);
        return r;
    }

    /** Arrays handed out in the current scope (for tests and diagnostics). */
    public int lentCount() {
        return lent.size();
    }

    /** Ends the scope: every array handed out since {@link #reopen()} goes back to the pool. */
    @Override
    public void close() {
        if (!open) return;
        open = false;
        CURRENT.remove();
        asked.clear();
        for (float[] r : lent) {
            free.computeIfAbsent(r.length, k -> new ArrayDeque<>()).push(r);
            asked.add(r.length);
        }
        lent.clear();
        for (var it = free.keySet().iterator(); it.hasNext(); ) {
            Integer size = it.next();
            int scopes = asked.contains(size) ? 0 : idle.getOrDefault(size, 0) + 1;
            if (scopes >= MAX_IDLE_SCOPES) {
                it.remove();
                idle.remove(size);
            } else {
                idle.put(size, scopes);
            }
        }
    }

    /** Arrays in the pool now (for tests and diagnostics). */
    int pooledArrays() {
        int n = 0;
        for (ArrayDeque<float[]> q : free.values()) n += q.size();
        return n;
    }

    /** Drops the pooled arrays (they become garbage). */
    public void clear() {
        free.clear();
        idle.clear();
    }
}
