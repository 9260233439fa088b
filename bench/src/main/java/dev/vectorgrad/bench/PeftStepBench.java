package dev.vectorgrad.bench;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.data.Batcher;
import dev.vectorgrad.transformer.train.TrainLoop;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The cost of one PEFT training step (forward + backward + AdamW over the adapter's parameters) on the demo's
 * GPT (baby preset with biases, vocab 100, batch 12 × 64 tokens), adapters on {@code c_attn}, {@code c_proj},
 * {@code c_fc}: LoRA r=8 against VeRA r=64 and r=256. The methods are timed in interleaved rounds so that a
 * noisy neighbour hurts all of them alike; prints each median and the VeRA / LoRA ratios. Then times the inference
 * forward (ms per batch) of the bare model, LoRA r=8 and VeRA r=256 unmerged and after {@code merge()}, and the
 * Houlsby and Pfeiffer bottleneck adapters, which cannot be merged. {@code --forward-only} skips the training
 * steps and times only that forward table (the latency comparison of issue 19); {@code --seconds S} runs the
 * forward table's rounds until S seconds have passed instead of a fixed {@code --rounds}.
 *
 * <p>usage: {@code ./vectorgrad bench peft [--forward-only] [--seconds S] [--steps N] [--warmup W] [--rounds R] [--batch B] [--threads T]}
 */
public final class PeftStepBench {
    private PeftStepBench() {}

    record Case(String name, Gpt model, List<Variable> params, TrainLoop loop) {}

    public static void main(String[] args) {
        int steps = 20, warmup = 5, rounds = 3, batch = 12, threads = Parallel.threads();
        boolean forwardOnly = false;
        double seconds = 0;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--forward-only" -> forwardOnly = true;
                case "--seconds" -> { seconds = Double.parseDouble(v); i++; }
                case "--steps" -> { steps = Integer.parseInt(v); i++; }
                case "--warmup" -> { warmup = Integer.parseInt(v); i++; }
                case "--rounds" -> { rounds = Integer.parseInt(v); i++; }
                case "--batch" -> { batch = Integer.parseInt(v); i++; }
                case "--threads" -> { threads = Integer.parseInt(v); i++; }
                default -> {
                    System.err.println("usage: ./vectorgrad bench peft [--forward-only] [--seconds S] [--steps N] [--warmup W] [--rounds R] [--batch B] [--threads T]");
                    System.exit(2);
                }
            }
        }
        if (rounds < 1 || steps < 1 || warmup < 0 || batch < 1 || !(seconds >= 0)) {
            System.err.println("bench peft: --rounds, --steps and --batch must be at least 1, --warmup and --seconds at least 0");
            System.exit(2);
        }
        Parallel.setThreads(threads);
        GptConfig b = GptConfig.baby(100);
        GptConfig cfg = new GptConfig(100, b.blockSize(), b.layers(), b.heads(), b.nEmbd(), 0.0, true, b.activation(), b.layerNormEps());
        String[] targets = {"c_attn", "c_proj", "c_fc"};
        LinkedHashMap<String, PeftConfig> methods = new LinkedHashMap<>();
        methods.put("LoRA r=8", PeftConfig.lora(8, 16, targets).seed(1).build());
        methods.put("VeRA r=64", PeftConfig.vera(64, 0, targets).build());
        methods.put("VeRA r=256", PeftConfig.vera(256, 0, targets).build());
        int[] ids = new int[20_000];
        Rng r = new Rng(7);
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(100);
        Batcher.Batch data = new Batcher(ids, batch, cfg.blockSize(), new Rng(3)).next();
        System.out.printf(Locale.ROOT, "host: %d CPUs, load average %.2f at start; JDK %s%n", Runtime.getRuntime().availableProcessors(),
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), Runtime.version());
        if (forwardOnly) {
            mergedForward(cfg, methods.get("LoRA r=8"), data.x(), rounds, seconds, warmup, steps, threads);
            return;
        }
        List<Case> cases = new ArrayList<>();
        for (Map.Entry<String, PeftConfig> e : methods.entrySet()) {
            Gpt g = new Gpt(cfg, 1337);
            PeftModel.wrap(g, e.getValue());
            List<Variable> ps = new ArrayList<>();
            for (Variable p : g.parameters()) if (p.requiresGrad()) ps.add(p);
            AdamW opt = new AdamW(ps, 1e-3, 0.0);
            cases.add(new Case(e.getKey(), g, ps, new TrainLoop(g, bt -> g.loss(bt.x(), bt.y()), ps, opt, (o, s) -> {}, 1.0, 1, null)));
        }
        System.out.printf(Locale.ROOT, "peft step: GPT %d layers, n_embd %d, batch %d × %d, adapters on c_attn/c_proj/c_fc; threads %d, "
                + "%d rounds × (%d warm-up + %d timed) steps per method%n", cfg.layers(), cfg.nEmbd(), batch, cfg.blockSize(), threads, rounds, warmup, steps);
        List<List<Double>> times = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) times.add(new ArrayList<>());
        for (int round = 0; round < rounds; round++) {
            for (int c = 0; c < cases.size(); c++) {
                Case k = cases.get(c);
                for (int s = 0; s < warmup + steps; s++) {
                    long t0 = System.nanoTime();
                    k.loop().step(List.of(data));
                    if (s >= warmup) times.get(c).add((System.nanoTime() - t0) / 1e6);
                }
            }
        }
        double[] med = new double[cases.size()];
        for (int c = 0; c < cases.size(); c++) {
            med[c] = median(times.get(c));
            long n = cases.get(c).params().stream().mapToLong(Variable::numel).sum();
            System.out.printf(Locale.ROOT, "%-11s trainable %,9d  median step ms: %.2f%n", cases.get(c).name(), n, med[c]);
        }
        for (int c = 1; c < cases.size(); c++)
            System.out.printf(Locale.ROOT, "ratio %s / %s: %.2f× (bar: ≤ 1.5×)%n", cases.get(c).name(), cases.get(0).name(), med[c] / med[0]);
        mergedForward(cfg, methods.get("LoRA r=8"), data.x(), rounds, seconds, warmup, steps, threads);
    }

    /**
     * Inference forward (no grad, ms per batch) of the bare model, the model with an unmerged LoRA adapter and the
     * same after merge(), VeRA r=256 unmerged and merged, and the bottleneck adapters (Houlsby, Pfeiffer), which
     * cannot be merged: the latency argument of the LoRA paper against adapter tuning. One untimed round first (so
     * that no model pays for the JIT), then interleaved rounds; per model the median and the interquartile range of
     * the timed forwards (a wide range says the host was busy). With {@code seconds > 0}, rounds continue until that
     * much time has passed since the first timed round began (whole rounds, so every model gets the same count).
     */
    static void mergedForward(GptConfig cfg, PeftConfig lora, IntTensor x, int rounds, double seconds, int warmup, int steps, int threads) {
        PeftConfig vera = PeftConfig.vera(256, 0, "c_attn", "c_proj", "c_fc").build();
        LinkedHashMap<String, Gpt> byName = new LinkedHashMap<>();
        byName.put("bare", new Gpt(cfg, 1337));
        String[] kinds = {"LoRA r=8", "VeRA r=256", "Adapter (Houlsby)", "Adapter (Pfeiffer)"};
        PeftConfig[] configs = {lora, vera, PeftConfig.houlsby().build(), PeftConfig.pfeiffer().build()};
        for (int k = 0; k < kinds.length; k++) {
            boolean mergeable = configs[k].type() != PeftConfig.Type.BOTTLENECK;
            for (boolean merge : mergeable ? new boolean[] {false, true} : new boolean[] {false}) {
                Gpt g = new Gpt(cfg, 1337);
                PeftModel pm = PeftModel.wrap(g, configs[k]);
                // non-zero adapters, as after training (LoRA's B, VeRA's λ_b and the adapters' up-projection start at zero)
                Rng rng = new Rng(5);
                for (Variable p : pm.namedAdapterParameters("default").values()) dev.vectorgrad.tensor.Init.normal(p.data(), rng, 0, 0.01);
                if (merge) pm.merge();
                byName.put(kinds[k] + (!mergeable ? "" : merge ? " merged" : " unmerged"), g);
            }
        }
        Gpt[] models = byName.values().toArray(Gpt[]::new);
        String[] names = byName.keySet().toArray(String[]::new);
        List<List<Double>> times = new ArrayList<>();
        for (int i = 0; i < models.length; i++) times.add(new ArrayList<>());
        StepArena arena = StepArena.create();
        int[] xs = x.shape();
        long start = 0;
        int round = -1; // round -1 is the untimed one
        for (;; round++) {
            if (round == 0) start = System.nanoTime();
            boolean done = seconds > 0 ? round > 0 && System.nanoTime() - start >= seconds * 1e9 : round >= rounds;
            if (done) break;
            for (int m = 0; m < models.length; m++) {
                models[m].train(false);
                for (int s = 0; s < warmup + steps; s++) {
                    long t0 = System.nanoTime();
                    try (var g = Grad.disabled(); StepArena a = arena.reopen()) {
                        models[m].forward(x);
                    }
                    if (round >= 0 && s >= warmup) times.get(m).add((System.nanoTime() - t0) / 1e6);
                }
            }
        }
        System.out.printf(Locale.ROOT, "forward (no grad): batch %d × %d tokens, threads %d, 1 untimed round + %d rounds × (%d warm-up + %d timed) forwards per model, %.0f s%n",
                xs[0], xs[1], threads, round, warmup, steps, (System.nanoTime() - start) / 1e9);
        for (int m = 0; m < models.length; m++) {
            double med = median(times.get(m));
            System.out.printf(Locale.ROOT, "forward %-19s median ms per batch: %7.2f  (%.2f× bare)  IQR %.2f–%.2f%n", names[m], med, med / median(times.get(0)),
                    quantile(times.get(m), 0.25), quantile(times.get(m), 0.75));
        }
        System.out.println("merged layers run the bare Linear (expect 1.0× bare); bottleneck adapters cannot be merged");
    }

    /** The {@code q}-quantile of {@code v}, linear between the order statistics (numpy's default). */
    static double quantile(List<Double> v, double q) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        double pos = q * (a.length - 1);
        int lo = (int) Math.floor(pos), hi = Math.min(lo + 1, a.length - 1);
        return a[lo] + (pos - lo) * (a[hi] - a[lo]);
    }

    static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }
}
