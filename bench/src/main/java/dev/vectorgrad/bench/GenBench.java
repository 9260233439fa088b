package dev.vectorgrad.bench;

import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.Sampler;
import dev.vectorgrad.transformer.train.Trainer;
import java.nio.file.Path;

/**
 * Cached generation speed, batch 1, with the protocol of {@code bench/scripts/gpt_peer.py}: a sequence starts
 * from one token and grows with the KV cache until the context is full (block size), then the next sequence
 * starts with an empty cache from the last token sampled; multinomial sampling at temperature 1, seeded. One
 * untimed warm-up pass of {@code --warmup} tokens, then {@code --tokens} timed tokens.
 *
 * <p>usage: {@code ./vectorgrad bench gen [--checkpoint DIR] [--tokens N] [--warmup N] [--threads T] [--seed S]};
 * without a checkpoint the baby preset (vocab 65) with its seeded init is used. Prints, last,
 * {@code generation tokens/s: X}.
 */
public final class GenBench {
    private GenBench() {}

    public static void main(String[] args) throws Exception {
        Path ckpt = null;
        int tokens = 2000, warmup = 1000, threads = Parallel.threads();
        long seed = 1337;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--checkpoint" -> { ckpt = Path.of(v); i++; }
                case "--tokens" -> { tokens = Integer.parseInt(v); i++; }
                case "--warmup" -> { warmup = Integer.parseInt(v); i++; }
                case "--threads" -> { threads = Integer.parseInt(v); i++; }
                case "--seed" -> { seed = Long.parseLong(v); i++; }
                default -> {
                    System.err.println("usage: ./vectorgrad bench gen [--checkpoint DIR] [--tokens N] [--warmup N] [--threads T] [--seed S]");
                    System.exit(2);
                }
            }
        }
        Parallel.setThreads(threads);
        Gpt model = ckpt != null ? Trainer.loadModel(ckpt) : new Gpt(GptConfig.baby(65), seed);
        model.train(false);
        Sampler.Options o = new Sampler.Options(1.0, 0, 1.0, seed);
        Rng rng = new Rng(seed);
        System.out.printf("gen: %,d parameters, block %d, threads %d, %d warm-up + %d timed tokens%n",
                model.parameterCount(), model.config().blockSize(), threads, warmup, tokens);
        int last = generate(model, 0, warmup, o, rng);
        long t0 = System.nanoTime();
        generate(model, last, tokens, o, rng);
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%d tokens in %.3f s%n", tokens, s);
        System.out.printf("generation tokens/s: %.1f%n", tokens / s);
    }

    /** Samples n tokens starting from {@code first}; returns the last one. */
    static int generate(Gpt model, int first, int n, Sampler.Options o, Rng rng) {
        Gpt.KvCache cache = model.newCache();
        int tok = first;
        for (int made = 0; made < n; made++) {
            if (cache.length() == cache.capacity()) cache.clear();
            tok = Sampler.pick(model.step(cache, new int[] {tok}), o, rng);
        }
        return tok;
    }
}
