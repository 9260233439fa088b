package dev.vectorgrad.transformer;

import dev.vectorgrad.tensor.Rng;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Autoregressive generation from a {@link Gpt} with its KV cache: temperature, top-k, top-p (nucleus), a seeded
 * generator, and greedy decoding at temperature 0. The prompt is fed once; each new token costs one position.
 * When the context reaches the block size, the cache is rebuilt from the last half block of tokens (so the cost
 * stays amortised O(1) positions per token; with full recomputation nanoGPT crops to the last block instead).
 */
public final class Sampler {
    public record Options(double temperature, int topK, double topP, long seed) {
        public Options {
            if (!(temperature >= 0) || !Double.isFinite(temperature)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
            if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
            if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }

        public static Options greedy() {
            return new Options(0, 0, 1, 0);
        }
    }

    private Sampler() {}

    /** Generates {@code n} tokens after {@code prompt} (at least one token); each is passed to {@code sink} as it comes. */
    public static int[] generate(Gpt model, int[] prompt, int n, Options o, IntConsumer sink) {
        if (prompt.length == 0) throw new IllegalArgumentException("generate: the prompt needs at least one token");
        int block = model.config().blockSize();
        Rng rng = new Rng(o.seed());
        int[] all = Arrays.copyOf(prompt, prompt.length + n);
        int len = prompt.length;
        Gpt.KvCache cache = model.newCache();
        int start = Math.max(0, len - block);
        float[] logits = model.step(cache, Arrays.copyOfRange(all, start, len));
        for (int i = 0; i < n; i++) {
            int next = pick(logits, o, rng);
            all[len++] = next;
            if (sink != null) sink.accept(next);
            if (i == n - 1) break;
            if (cache.length() == block) {
                cache.clear();
                int keep = Math.max(1, block / 2);
                logits = model.step(cache, Arrays.copyOfRange(all, len - keep, len));
            } else {
                logits = model.step(cache, new int[] {next});
            }
        }
        return Arrays.copyOfRange(all, prompt.length, len);
    }

    /** The next token from {@code logits}: argmax at temperature 0, else a draw after temperature, top-k and top-p. */
    public static int pick(float[] logits, Options o, Rng rng) {
        int v = logits.length;
        if (o.temperature() == 0) {
            int best = 0;
            for (int i = 1; i < v; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        double[] p = new double[v];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) max = Math.max(max, logits[i] / o.temperature());
        if (o.topK() <= 0 && o.topP() >= 1) {
            // The whole distribution: no ranking needed, the draw walks it in vocabulary order (as
            // torch.multinomial does). Sorting a GPT-2-sized vocabulary for every token cost milliseconds.
            double sum = 0;
            for (int i = 0; i < v; i++) sum += p[i] = Math.exp(logits[i] / o.temperature() - max);
            double u = rng.nextDouble() * sum, acc = 0;
            for (int i = 0; i < v; i++) {
                acc += p[i];
                if (u < acc) return i;
            }
            for (int i = v - 1; i > 0; i--) if (p[i] > 0) return i; // u landed on the rounding edge of the sum
            return 0;
        }
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        int keep = o.topK() > 0 ? Math.min(o.topK(), v) : v;
        double sum = 0;
        for (int r = 0; r < keep; r++) {
            int i = order[r];
            p[i] = Math.exp(logits[i] / o.temperature() - max);
            sum += p[i];
        }
        if (o.topP() < 1) {
            double cum = 0;
            int cut = keep;
            for (int r = 0; r < keep; r++) {
                cum += p[order[r]] / sum;
                if (cum >= o.topP()) {
                    cut = r + 1;
                    break;
                }
            }
            for (int r = cut; r < keep; r++) p[order[r]] = 0;
            keep = cut;
            sum = 0;
            for (int r = 0; r < keep; r++) sum += p[order[r]];
        }
        double u = rng.nextDouble() * sum, acc = 0;
        for (int r = 0; r < keep; r++) {
            acc += p[order[r]];
            if (u < acc) return order[r];
        }
        return order[keep - 1];
    }
}
