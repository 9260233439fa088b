package dev.vectorgrad.transformer.data;

import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Rng;

import java.util.Objects;

/**
 * Draws random training windows from a token stream, as nanoGPT's {@code get_batch}: for each of the
 * {@code batchSize} rows a start {@code i} uniform in {@code [0, n − blockSize)} from the seeded {@link Rng}, then
 * {@code x = ids[i, i+T)} and {@code y = ids[i+1, i+T+1)}. Rows are drawn in order, one {@code nextInt} each, so
 * the same seed gives the same batches on every machine.
 *
 * <p>Not thread-safe (it owns its generator).
 */
public final class Batcher {
    /** One batch: inputs and next-token targets, both {@code [batchSize, blockSize]}. */
    public record Batch(IntTensor x, IntTensor y) {}

    private final int[] ids;
    private final int batchSize;
    private final int blockSize;
    private final Rng rng;

    /**
     * @param ids       the token stream (not copied)
     * @param batchSize rows per batch (B)
     * @param blockSize window length (T); the stream must hold at least T + 1 tokens
     * @param rng       the generator the starts come from
     */
    public Batcher(int[] ids, int batchSize, int blockSize, Rng rng) {
        this.ids = Objects.requireNonNull(ids, "ids");
        this.rng = Objects.requireNonNull(rng, "rng");
        if (batchSize <= 0) throw new IllegalArgumentException("Batcher: batchSize must be positive, got " + batchSize);
        if (blockSize <= 0) throw new IllegalArgumentException("Batcher: blockSize must be positive, got " + blockSize);
        if (ids.length < blockSize + 1)
            throw new IllegalArgumentException("Batcher: " + ids.length + " tokens are too few for windows of " + blockSize
                    + " plus one target (need at least " + (blockSize + 1) + ")");
        this.batchSize = batchSize;
        this.blockSize = blockSize;
    }

    /** Convenience: a batcher with its own generator seeded by {@code seed}. */
    public Batcher(int[] ids, int batchSize, int blockSize, long seed) {
        this(ids, batchSize, blockSize, new Rng(seed));
    }

    public int batchSize() {
        return batchSize;
    }

    public int blockSize() {
        return blockSize;
    }

    /** Number of tokens in the stream. */
    public int tokens() {
        return ids.length;
    }

    /** The next random batch. */
    public Batch next() {
        int b = batchSize, t = blockSize;
        int[] x = new int[b * t];
        int[] y = new int[b * t];
        int starts = ids.length - t;
        for (int r = 0; r < b; r++) {
            int i = rng.nextInt(starts);
            System.arraycopy(ids, i, x, r * t, t);
            System.arraycopy(ids, i + 1, y, r * t, t);
        }
        return new Batch(IntTensor.wrap(x, b, t), IntTensor.wrap(y, b, t));
    }

    /** The batch whose rows start at the given offsets (for deterministic evaluation and tests). */
    public Batch at(int... starts) {
        int t = blockSize;
        int[] x = new int[starts.length * t];
        int[] y = new int[starts.length * t];
        for (int r = 0; r < starts.length; r++) {
            int i = starts[r];
            if (i < 0 || i + t + 1 > ids.length)
                throw new IllegalArgumentException("Batcher.at: start " + i + " is outside [0, " + (ids.length - t) + ")");
            System.arraycopy(ids, i, x, r * t, t);
            System.arraycopy(ids, i + 1, y, r * t, t);
        }
        return new Batch(IntTensor.wrap(x, starts.length, t), IntTensor.wrap(y, starts.length, t));
    }
}
