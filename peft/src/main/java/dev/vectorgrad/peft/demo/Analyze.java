package dev.vectorgrad.peft.demo;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.peft.AdapterLinear;
import dev.vectorgrad.peft.Analysis;
import dev.vectorgrad.peft.LoraLinear;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.AtomicFiles;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.data.Batcher;
import dev.vectorgrad.transformer.train.HeatMap;
import dev.vectorgrad.transformer.train.LossPlot;
import dev.vectorgrad.transformer.train.TrainLoop;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code ./vectorgrad analyze}: the LoRA paper's §7 (Hu et al. 2021) and VeRA's parameter sweep, in miniature, on
 * the demo's task ({@link DemoTask}: the baby GPT pretrained on English, adapted to Dutch) or on a given model and
 * corpus. Every run adapts a fresh copy of the pretrained model for the same number of steps on the same batches;
 * then:
 * <ol>
 * <li><b>which weights</b> (Table 5): LoRA on W_q, W_k, W_v, W_o, W_q+W_k, W_q+W_v, all four at the same number of
 * trainable parameters (r = 8, 4, 2: the paper's);</li>
 * <li><b>rank</b> (Table 6): r ∈ {1, 2, 4, 8, 64} on W_q+W_v and on all four;</li>
 * <li><b>subspace similarity</b> (Figures 3, 4): φ between the A of W_q and W_v of the middle layer learned at two
 * ranks, and at one rank from two seeds, beside two Gaussian matrices and the expected random value max(i, j)/d;</li>
 * <li><b>ΔW against W</b> (Table 7): ‖UᵀWV‖_F for ΔW's, W's and random directions, and the amplification factor;</li>
 * <li><b>quality against trainable parameters</b> (VeRA's figure): LoRA r ∈ {1, 2, 4, 8, 16} and VeRA r ∈ {16, 64, 256, 1024}
 * on W_q+W_v.</li>
 * </ol>
 * Random r-dimensional subspaces of ℝ^d already overlap by about r/d, so the analyses of 3 and 4 are also run at the
 * paper's ranks scaled by {@link #rankScale} (d/512, a power of two, at most 1: ×1/4 at the demo's d = 128) so that
 * r/d ≤ 1/8; at d ≥ 512 the scaled ranks are the paper's. Writes {@code report.md}, {@code report.json} and the PNGs.
 */
public final class Analyze {
    /** The budget: the task's plan (pretraining and batches, shared with {@code demo}'s cache) and the steps per run. */
    public record Plan(PeftDemo.Plan task, int steps) {
        /** The full analysis: the demo's pretrained model, 200 steps per run. */
        public static Plan full() {
            return new Plan(PeftDemo.Plan.full(), 200);
        }

        /** A smoke run of every piece: the demo's quick model, 6 steps per run. */
        public static Plan quick() {
            return new Plan(PeftDemo.Plan.quick(), 6);
        }
    }

    /** One adaptation: a method (lora or vera) on targets at rank r from a seed. */
    public record Spec(String method, List<String> targets, int r, long seed) {
        /** A short name: "LoRA q+v r=4", "VeRA q+v r=256", "… seed 2". */
        public String name() {
            return (method.equals("vera") ? "VeRA " : "LoRA ") + label(targets) + " r=" + r + (seed == SEED ? "" : " seed " + seed);
        }
    }

    /** What one run left: trainable parameters, the target val loss, its seconds, and per analysed target (q, v of the layer) A and ΔW. */
    public record Run(Spec spec, long trainable, double valLoss, double seconds, Map<String, Tensor> a, Map<String, Tensor> deltaW) {}

    public static final long SEED = PeftDemo.SEED, SEED2 = 2;
    static final long BATCH_SEED = PeftDemo.BATCH_SEED, VERA_KEY = PeftDemo.VERA_KEY;
    static final double LORA_LR = 2e-3, VERA_LR = 1e-2;
    public static final String Q = "c_attn.q", K = "c_attn.k", V = "c_attn.v", O = "attn.c_proj";
    public static final List<String> QV = List.of(Q, V), ALL = List.of(Q, K, V, O);
    /** The paper's ranks for §7.2 (A_{r=8} vs A_{r=64}) and §7.3 (Table 7 at r = 4 and 64). */
    static final int PHI_SMALL = 8, PHI_LARGE = 64, AMP_SMALL = 4, AMP_LARGE = 64;

    private final DemoTask task;
    private final int steps, batch;
    private final Path out;
    private final PrintStream log;
    private final Map<String, Run> runs = new LinkedHashMap<>();
    private final int layer, d;

    /** The analysed layer (the middle one). */
    public int layer() { return layer; }

    /** The width d = n_embd that the random baselines and the rank scaling use. */
    public int width() { return d; }

    public Analyze(DemoTask task, int steps, int batch, Path out, PrintStream log) {
        this.task = task;
        this.steps = steps;
        this.batch = batch;
        this.out = out;
        this.log = log;
        this.layer = task.config().layers() / 2;
        this.d = task.config().nEmbd();
    }

    public static void main(String[] args) throws IOException {
        Plan plan = Plan.full();
        Path out = Path.of("runs", "analyze"), model = null, corpus = null;
        Integer steps = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> plan = Plan.quick();
                case "--out" -> out = Path.of(value(args, ++i));
                case "--model" -> model = Path.of(value(args, ++i));
                case "--corpus" -> corpus = Path.of(value(args, ++i));
                case "--steps" -> {
                    String v = value(args, ++i);
                    try {
                        steps = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        usage("--steps needs a whole number, got '" + v + "'");
                    }
                    if (steps <= 0) usage("--steps must be positive, got " + steps);
                }
                default -> usage("unknown option " + args[i]);
            }
        }
        if ((model == null) != (corpus == null)) usage("--model and --corpus go together");
        if (steps != null) plan = new Plan(plan.task(), steps);
        long t0 = System.nanoTime();
        DemoTask task;
        try {
            task = model == null ? DemoTask.pretrained(plan.task(), "vectorgrad analyze", plan.steps() + " steps per run",
                    PeftDemo.PRETRAINED_CACHE, System.out)
                    : DemoTask.of(model, corpus, plan.task().batch(), plan.task().evalBatches(), System.out);
        } catch (IllegalArgumentException | IOException e) { // a model folder or corpus that cannot be used: one line, exit 2
            System.err.println("analyze: " + dev.vectorgrad.transformer.cli.CliErrors.describe(e));
            System.exit(2);
            return;
        }
        new Analyze(task, plan.steps(), plan.task().batch(), out, System.out).run();
        System.out.printf(Locale.ROOT, "total wall time: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) usage(args[i - 1] + " needs a value");
        return args[i];
    }

    private static void usage(String why) {
        System.err.println("analyze: " + why);
        System.err.println("usage: ./vectorgrad analyze [--quick] [--model DIR --corpus FILE] [--steps N] [--out DIR]");
        System.exit(2);
    }

    // ------------------------------------------------------------------ ranks

    /** d/512 rounded down to a power of two, at most 1: the factor that keeps the paper's r = 64 at r/d ≤ 1/8. */
    public static double rankScale(int d) {
        double s = 1;
        while (s * 512 > d) s /= 2;
        return s;
    }

    /** The paper's rank r scaled for width d (at least 1). */
    public static int scaled(int r, int d) {
        return Math.max(1, (int) Math.round(r * rankScale(d)));
    }

    static String label(List<String> targets) {
        List<String> s = new ArrayList<>();
        for (String t : targets) s.add(switch (t) { case Q -> "q"; case K -> "k"; case V -> "v"; case O -> "o"; default -> t; });
        return s.equals(List.of("q", "k", "v", "o")) ? "q+k+v+o" : String.join("+", s);
    }

    static Spec lora(List<String> targets, int r) {
        return new Spec("lora", targets, r, SEED);
    }

    /** Every run the five experiments need, deduplicated, in the order they run. */
    public List<Spec> specs() {
        return specs(d);
    }

    /** {@link #specs()} for width d. */
    static List<Spec> specs(int d) {
        List<Spec> s = new ArrayList<>();
        // 1. which weights, equal trainable parameters (the paper's r = 8 / 4 / 2)
        for (String t : ALL) s.add(lora(List.of(t), 8));
        s.add(lora(List.of(Q, K), 4));
        s.add(lora(QV, 4));
        s.add(lora(ALL, 2));
        // 2. rank
        for (int r : new int[] {1, 2, 4, 8, 64}) { s.add(lora(QV, r)); s.add(lora(ALL, r)); }
        // 3. + 4. subspaces and ΔW vs W, at the paper's ranks and scaled, a second seed at the large ones
        for (int r : new int[] {PHI_SMALL, PHI_LARGE, AMP_SMALL, AMP_LARGE}) { s.add(lora(QV, r)); s.add(lora(QV, scaled(r, d))); }
        s.add(new Spec("lora", QV, PHI_LARGE, SEED2));
        s.add(new Spec("lora", QV, scaled(PHI_LARGE, d), SEED2));
        // 5. quality against trainable parameters
        for (int r : new int[] {1, 2, 4, 8, 16}) s.add(lora(QV, r));
        for (int r : new int[] {16, 64, 256, 1024}) s.add(new Spec("vera", QV, r, SEED));
        List<Spec> unique = new ArrayList<>();
        for (Spec x : s) if (!unique.contains(x)) unique.add(x);
        return unique;
    }

    // ------------------------------------------------------------------ one run

    /** Adapts a fresh copy of the pretrained model with {@code spec} for the step budget and evaluates it. */
    public Run adapt(Spec spec) {
        long t0 = System.nanoTime();
        Gpt model = task.freshModel();
        PeftConfig cfg = spec.method().equals("vera")
                ? PeftConfig.vera(spec.r(), VERA_KEY, spec.targets().toArray(String[]::new)).seed(spec.seed()).build()
                : PeftConfig.lora(spec.r(), 2.0 * spec.r(), spec.targets().toArray(String[]::new)).seed(spec.seed()).build();
        PeftModel pm = PeftModel.wrap(model, cfg);
        List<Variable> trainable = DemoTask.trainable(model);
        long n = trainable.stream().mapToLong(Variable::numel).sum();
        double lr = spec.method().equals("vera") ? VERA_LR : LORA_LR;
        Batcher batcher = new Batcher(task.targetTrain(), batch, task.config().blockSize(), new Rng(BATCH_SEED));
        TrainLoop loop = DemoTask.loop(model, b -> model.loss(b.x(), b.y()), trainable, DemoTask.adamW(trainable, lr), batcher::next);
        for (int s = 0; s < steps; s++) loop.takeStep();
        double val = DemoTask.evaluate(model, task.targetEval());
        Map<String, Tensor> a = new LinkedHashMap<>(), dw = new LinkedHashMap<>();
        if (spec.method().equals("lora"))
            for (String t : spec.targets())
                if (t.equals(Q) || t.equals(V)) {
                    LoraLinear l = (LoraLinear) pm.layer(targetPath(t), "default");
                    a.put(t, l.a("default").data().copy());
                    dw.put(t, l.deltaWeight("default"));
                }
        return new Run(spec, n, val, (System.nanoTime() - t0) / 1e9, a, dw);
    }

    /** The path of target {@code t} (e.g. c_attn.q) in the analysed layer. */
    public String targetPath(String t) {
        return "transformer.h." + layer + "." + (t.startsWith("attn.") ? t : "attn." + t);
    }

    /** The pre-trained W of target {@code t} in the analysed layer: its rows of c_attn for q / k / v. */
    public Tensor baseWeight(String t) {
        Gpt model = task.freshModel();
        PeftModel pm = PeftModel.wrap(model, PeftConfig.lora(1, 2, t).seed(SEED).build());
        return ((AdapterLinear) pm.layer(targetPath(t), "default")).baseWeightSlice().copy();
    }

    // ------------------------------------------------------------------ the whole analysis

    /** Every run, then the report. */
    public Path run() throws IOException {
        Files.createDirectories(out);
        List<Spec> specs = specs();
        log.printf(Locale.ROOT, "analyze: %d runs of %d steps (batch %d) on %s; analysed layer h.%d, d = %d, ranks for §7.2/7.3 also scaled by %s (r/d ≤ 1/8)%n",
                specs.size(), steps, batch, task.description(), layer, d, fraction(rankScale(d)));
        long t0 = System.nanoTime();
        double costDone = 0, costAll = 0;
        for (Spec s : specs) costAll += cost(s);
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            log.printf(Locale.ROOT, "run %d/%d: %-22s", i + 1, specs.size(), s.name());
            log.flush();
            Run r = adapt(s);
            runs.put(key(s), r);
            costDone += cost(s);
            double elapsed = (System.nanoTime() - t0) / 1e9, eta = elapsed / costDone * (costAll - costDone);
            log.printf(Locale.ROOT, " trainable %,8d  val %.4f  (%.1f s; elapsed %s, ETA %s)%n", r.trainable(), r.valLoss(), r.seconds(), clock(elapsed), clock(eta));
        }
        return report();
    }

    /** A rough relative cost of a run (for the ETA): the base model's step plus the adapter's extra work. */
    static double cost(Spec s) {
        return 1 + s.targets().size() * (s.method().equals("vera") ? s.r() / 512.0 : s.r() / 256.0);
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    static String fraction(double x) {
        return x >= 1 ? "1" : "1/" + Math.round(1 / x);
    }

    static String key(Spec s) {
        return s.method() + "|" + s.targets() + "|" + s.r() + "|" + s.seed();
    }

    Run get(String method, List<String> targets, int r, long seed) {
        Run x = runs.get(key(new Spec(method, targets, r, seed)));
        if (x == null) throw new IllegalStateException("analyze: no run " + new Spec(method, targets, r, seed).name());
        return x;
    }

    Run lora(List<String> targets, int r, long seed) {
        return get("lora", targets, r, seed);
    }

    // ------------------------------------------------------------------ report

    /** Paper values: Table 5 (GPT-3 175B, validation accuracy %, WikiSQL / MultiNLI). */
    static final Map<String, double[]> TABLE5 = new LinkedHashMap<>();
    /** Paper values: Table 6 (WikiSQL, MultiNLI) per rank 1, 2, 4, 8, 64, for W_q+W_v and all four. */
    static final double[][] TABLE6_QV = {{73.4, 73.3, 73.7, 73.8, 73.5}, {91.3, 91.4, 91.3, 91.6, 91.4}};
    static final double[][] TABLE6_ALL = {{74.1, 73.7, 74.0, 74.0, 73.9}, {91.2, 91.7, 91.7, 91.5, 91.4}};

    static {
        TABLE5.put("q", new double[] {70.4, 91.0});
        TABLE5.put("k", new double[] {70.0, 90.8});
        TABLE5.put("v", new double[] {73.0, 91.0});
        TABLE5.put("o", new double[] {73.2, 91.3});
        TABLE5.put("q+k", new double[] {71.4, 91.3});
        TABLE5.put("q+v", new double[] {73.7, 91.3});
        TABLE5.put("q+k+v+o", new double[] {73.7, 91.7});
    }

    Path report() throws IOException {
        double pre = task.targetLoss();
        Map<String, Object> json = new LinkedHashMap<>();
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("task", task.description());
        meta.put("n_embd", (long) d);
        meta.put("layers", (long) task.config().layers());
        meta.put("analysed_layer", (long) layer);
        meta.put("steps_per_run", (long) steps);
        meta.put("batch", (long) batch);
        meta.put("rank_scale", rankScale(d));
        meta.put("pretrained_target_val_loss", pre);
        meta.put("lora_lr", LORA_LR);
        meta.put("lora_alpha_over_r", 2.0);
        meta.put("vera_lr", VERA_LR);
        json.put("meta", meta);
        StringBuilder md = new StringBuilder();
        md.append("# Why LoRA works, in miniature: the LoRA paper's §7 and VeRA's parameter sweep\n\n");
        md.append(String.format(Locale.ROOT, "Task: %s (n_embd d = %d, %d layers). Every run adapts a fresh copy of the pretrained model for %d steps "
                + "(batch %d × %d tokens, the same batches for every run; AdamW, LoRA lr %.0e with α = 2r, VeRA lr %.0e) and reports the mean target "
                + "validation loss over %d fixed batches (lower is better; the pretrained model: **%.4f**). The paper reports accuracy on GPT-3 175B "
                + "(higher is better), so compare the *ordering*, not the numbers. `./vectorgrad analyze` wrote this file.%n%n",
                task.description(), d, task.config().layers(), steps, batch, task.config().blockSize(), LORA_LR, VERA_LR,
                task.targetEval().size(), pre));

        whichWeights(md, json, pre);
        rank(md, json, pre);
        subspaces(md, json);
        amplification(md, json);
        paramsVsQuality(md, json, pre);

        md.append("## Runs\n\n| run | trainable params | target val loss | seconds |\n|---|---:|---:|---:|\n");
        List<Object> all = new ArrayList<>();
        for (Run r : runs.values()) {
            md.append(String.format(Locale.ROOT, "| %s | %,d | %.4f | %.1f |%n", r.spec().name(), r.trainable(), r.valLoss(), r.seconds()));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", r.spec().name());
            m.put("method", r.spec().method());
            m.put("targets", new ArrayList<Object>(r.spec().targets()));
            m.put("r", (long) r.spec().r());
            m.put("seed", r.spec().seed());
            m.put("trainable", r.trainable());
            m.put("val_loss", r.valLoss());
            m.put("seconds", r.seconds());
            all.add(m);
        }
        json.put("runs", all);
        Path mdFile = out.resolve("report.md"), jsonFile = out.resolve("report.json");
        AtomicFiles.writeString(mdFile, md.toString());
        AtomicFiles.writeString(jsonFile, Json.writePretty(json) + "\n");
        log.println();
        log.println(md);
        log.println("wrote " + mdFile + ", " + jsonFile + " and the PNGs in " + out);
        return mdFile;
    }

    private void whichWeights(StringBuilder md, Map<String, Object> json, double pre) {
        md.append("## 1. Which weights to adapt (LoRA paper, Table 5)\n\n");
        md.append("Equal trainable parameters: r = 8 on one weight type, 4 on two, 2 on all four (the paper's choice), in every layer.\n\n");
        md.append("| weights | r | trainable params | target val loss | Δ vs pretrained | paper WikiSQL acc % | paper MultiNLI acc % |\n|---|---:|---:|---:|---:|---:|---:|\n");
        List<Object> rows = new ArrayList<>();
        List<Run> list = List.of(lora(List.of(Q), 8, SEED), lora(List.of(K), 8, SEED), lora(List.of(V), 8, SEED), lora(List.of(O), 8, SEED),
                lora(List.of(Q, K), 4, SEED), lora(QV, 4, SEED), lora(ALL, 2, SEED));
        double bestSingle = Double.POSITIVE_INFINITY, bestMulti = Double.POSITIVE_INFINITY;
        String bestName = "";
        double best = Double.POSITIVE_INFINITY;
        for (Run r : list) {
            String l = label(r.spec().targets());
            double[] p = TABLE5.get(l);
            md.append(String.format(Locale.ROOT, "| W_%s | %d | %,d | %.4f | %+.4f | %.1f | %.1f |%n", l.replace("+", ", W_"), r.spec().r(), r.trainable(), r.valLoss(),
                    r.valLoss() - pre, p[0], p[1]));
            if (r.spec().targets().size() == 1) bestSingle = Math.min(bestSingle, r.valLoss());
            else if (!l.equals("q+k")) bestMulti = Math.min(bestMulti, r.valLoss());
            if (r.valLoss() < best) { best = r.valLoss(); bestName = l; }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("weights", l);
            m.put("r", (long) r.spec().r());
            m.put("trainable", r.trainable());
            m.put("val_loss", r.valLoss());
            m.put("paper_wikisql", p[0]);
            m.put("paper_multinli", p[1]);
            rows.add(m);
        }
        boolean holds = bestMulti < bestSingle;
        md.append(String.format(Locale.ROOT, "%nThe paper: spreading the budget over several weight types (W_q+W_v, or all four at r = 2) beats putting it all "
                + "into one at r = 8. Here the best is W_%s (%.4f); the best of W_q+W_v / all four is %.4f against %.4f for the best single type: the conclusion "
                + "**%s** here.%n%n", bestName, best, bestMulti, bestSingle, holds ? "holds" : "does not hold"));
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("rows", rows);
        j.put("conclusion_holds", holds);
        json.put("which_weights", j);
    }

    private void rank(StringBuilder md, Map<String, Object> json, double pre) {
        md.append("## 2. Rank (LoRA paper, Table 6)\n\n");
        int[] ranks = {1, 2, 4, 8, 64};
        StringBuilder head = new StringBuilder("| weights | ");
        StringBuilder sep = new StringBuilder("|---|");
        for (int r : ranks) { head.append("r = ").append(r).append(" | "); sep.append("---:|"); }
        md.append(head).append("\n").append(sep).append("\n");
        Map<String, Object> j = new LinkedHashMap<>();
        boolean holdsAll = true;
        StringBuilder why = new StringBuilder();
        for (List<String> t : List.of(QV, ALL)) {
            String l = label(t);
            double[][] paper = t.equals(QV) ? TABLE6_QV : TABLE6_ALL;
            StringBuilder ours = new StringBuilder("| W_" + l.replace("+", ", W_") + ": val loss (ours) | ");
            StringBuilder wiki = new StringBuilder("| paper WikiSQL acc % | "), mnli = new StringBuilder("| paper MultiNLI acc % | ");
            List<Object> losses = new ArrayList<>(), params = new ArrayList<>();
            double best = Double.POSITIVE_INFINITY;
            double[] v = new double[ranks.length];
            for (int i = 0; i < ranks.length; i++) {
                Run r = lora(t, ranks[i], SEED);
                v[i] = r.valLoss();
                best = Math.min(best, v[i]);
                ours.append(String.format(Locale.ROOT, "%.4f | ", v[i]));
                wiki.append(String.format(Locale.ROOT, "%.1f | ", paper[0][i]));
                mnli.append(String.format(Locale.ROOT, "%.1f | ", paper[1][i]));
                losses.add(v[i]);
                params.add(r.trainable());
            }
            md.append(ours).append("\n").append(wiki).append("\n").append(mnli).append("\n");
            // "a very small rank suffices": r ≤ 2 already gets 90% of the best reduction of the loss
            double small = Math.min(v[0], v[1]), gain = pre - best, share = gain > 0 ? (pre - small) / gain : Double.NaN;
            boolean holds = gain > 0 && share >= 0.9;
            holdsAll &= holds;
            why.append(String.format(Locale.ROOT, "W_%s: r ≤ 2 reaches %.0f%% of the best reduction (best at r = %d). ", l.replace("+", "+W_"), 100 * share,
                    ranks[argmin(v)]));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("r", List.of(1L, 2L, 4L, 8L, 64L));
            m.put("trainable", params);
            m.put("val_loss", losses);
            m.put("small_rank_share_of_best_gain", Double.isFinite(share) ? share : null);
            m.put("conclusion_holds", holds);
            j.put(l, m);
        }
        md.append(String.format(Locale.ROOT, "%nThe paper: a very small rank already suffices (r = 1 on W_q+W_v or all four is within noise of r = 64). "
                + "%sCriterion: r ≤ 2 gets ≥ 90%% of the best loss reduction. The conclusion **%s** here. (The paper's Table 6 values were transcribed "
                + "from arXiv 2106.09685v2 and not re-checked against it when this was written; Table 5's were.)%n%n", why, holdsAll ? "holds" : "does not hold"));
        j.put("conclusion_holds", holdsAll);
        json.put("rank", j);
    }

    static int argmin(double[] v) {
        int k = 0;
        for (int i = 1; i < v.length; i++) if (v[i] < v[k]) k = i;
        return k;
    }

    private void subspaces(StringBuilder md, Map<String, Object> json) throws IOException {
        md.append("## 3. Subspace similarity (LoRA paper, Figures 3 and 4)\n\n");
        md.append(String.format(Locale.ROOT, "φ(A₁, A₂, i, j) = ‖U₁⁽ⁱ⁾ᵀU₂⁽ʲ⁾‖²_F / min(i, j) over the top right-singular vectors of the learned A (r × %d) of "
                + "layer h.%d. Two random subspaces of ℝ^%d overlap by max(i, j)/%d on average: that **random baseline** is printed beside every value, "
                + "with φ of two Gaussian matrices of the same shapes. The paper compares r = 8 with r = 64 at d = 12288; here d = %d, so the comparison "
                + "is also made at the ranks scaled by %s (r/d ≤ 1/8).%n%n", d, layer, d, d, d, fraction(rankScale(d))));
        int s8 = scaled(PHI_SMALL, d), s64 = scaled(PHI_LARGE, d);
        List<int[]> pairs = new ArrayList<>(List.of(new int[] {PHI_SMALL, PHI_LARGE}));
        if (s8 != PHI_SMALL) pairs.add(0, new int[] {s8, s64});
        md.append("| compared | weight | φ(1,1) | random φ(1,1) | φ(i=r₁, j=r₁) | random | φ(r₁, r₂) | random | Gaussian pair φ(r₁, r₂) |\n"
                + "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        Map<String, Object> j = new LinkedHashMap<>();
        List<Object> rows = new ArrayList<>();
        boolean holds = true;
        List<String> failed = new ArrayList<>();
        StringBuilder textMaps = new StringBuilder();
        for (int[] p : pairs) {
            int r1 = p[0], r2 = p[1];
            List<HeatMap.Panel> panels = new ArrayList<>();
            for (String kind : List.of("ranks", "seeds")) {
                for (String t : QV) {
                    Tensor a1 = kind.equals("ranks") ? lora(QV, r1, SEED).a().get(t) : lora(QV, r2, SEED).a().get(t);
                    Tensor a2 = kind.equals("ranks") ? lora(QV, r2, SEED).a().get(t) : lora(QV, r2, SEED2).a().get(t);
                    int ri = a1.size(0), rj = a2.size(0);
                    double[][] phi = Analysis.subspaceSimilarity(a1, a2);
                    double[][] gauss = Analysis.subspaceSimilarity(Analysis.gaussian(ri, d, 11L * ri + rj), Analysis.gaussian(rj, d, 13L * rj + ri + 1));
                    int k = Math.min(ri, rj);
                    String what = kind.equals("ranks") ? "A_{r=" + r1 + "} vs A_{r=" + r2 + "}" : "A_{r=" + r2 + "} seed " + SEED + " vs seed " + SEED2;
                    String w = t.equals(Q) ? "W_q" : "W_v";
                    md.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |%n", what, w, phi[0][0],
                            Analysis.expectedRandomSimilarity(1, 1, d), phi[k - 1][k - 1], Analysis.expectedRandomSimilarity(k, k, d), phi[ri - 1][rj - 1],
                            Analysis.expectedRandomSimilarity(ri, rj, d), gauss[ri - 1][rj - 1]));
                    if (kind.equals("ranks") && !(phi[0][0] > 0.5)) {
                        holds = false;
                        failed.add(String.format(Locale.ROOT, "%s at r = %d vs %d: φ(1,1) = %.2f (random %.3f)", w, r1, r2, phi[0][0],
                                Analysis.expectedRandomSimilarity(1, 1, d)));
                    }
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("compared", what);
                    m.put("weight", w);
                    m.put("d", (long) d);
                    m.put("phi", rowsOf(phi));
                    m.put("gaussian_phi", rowsOf(gauss));
                    m.put("expected_random_1_1", Analysis.expectedRandomSimilarity(1, 1, d));
                    rows.add(m);
                    // the seeds' map: the top min(r, 16) directions of both, as the paper's Figure 4 zooms in
                    double[][] shown = kind.equals("ranks") ? phi : crop(phi, Math.min(rj, 16), Math.min(rj, 16));
                    panels.add(new HeatMap.Panel(w + ": " + what, "i", "j", shown));
                    if (kind.equals("ranks") && t.equals(Q))
                        textMaps.append(String.format(Locale.ROOT, "φ(A_{r=%d}, A_{r=%d}, i, j) for W_q, i down, j across (' ' = 0 … '█' = 1; random ≈ %.2f at j = %d):%n%n```%n%s```%n%n",
                                r1, r2, Analysis.expectedRandomSimilarity(ri, rj, d), rj, HeatMap.text(phi)));
                }
            }
            double[][] g1 = Analysis.subspaceSimilarity(Analysis.gaussian(Math.min(r2, 16), d, 101), Analysis.gaussian(Math.min(r2, 16), d, 102));
            panels.add(new HeatMap.Panel("two Gaussian matrices (baseline)", "i", "j", g1));
            String png = "phi-r" + r1 + "-r" + r2 + ".png";
            HeatMap.write(out.resolve(png), "subspace similarity φ(i, j), layer h." + layer + ", d = " + d + " (random baseline ≈ max(i, j)/" + d + ")", panels);
            md.append(String.format(Locale.ROOT, "%n![φ at r = %d vs %d](%s)%n%n", r1, r2, png));
            if (p != pairs.get(pairs.size() - 1))
                md.append("| compared | weight | φ(1,1) | random φ(1,1) | φ(i=r₁, j=r₁) | random | φ(r₁, r₂) | random | Gaussian pair φ(r₁, r₂) |\n"
                        + "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        }
        md.append(textMaps);
        md.append(String.format(Locale.ROOT, "The paper: the top direction learned at the small rank is also in the large rank's subspace (φ > 0.5), the "
                + "rest is mostly noise, and two seeds share their top directions far more than two Gaussian matrices do. Criterion: φ(1,1) of the two "
                + "ranks > 0.5 for W_q and W_v at every pair of ranks. The conclusion **%s** here%s.%n%n", holds ? "holds" : "does not hold",
                failed.isEmpty() ? "" : " (below 0.5: " + String.join("; ", failed) + ")"));
        j.put("rows", rows);
        j.put("conclusion_holds", holds);
        json.put("subspace_similarity", j);
    }

    static double[][] crop(double[][] m, int rows, int cols) {
        double[][] c = new double[Math.min(rows, m.length)][];
        for (int i = 0; i < c.length; i++) c[i] = java.util.Arrays.copyOf(m[i], Math.min(cols, m[i].length));
        return c;
    }

    static List<Object> rowsOf(double[][] m) {
        List<Object> l = new ArrayList<>();
        for (double[] row : m) {
            List<Object> r = new ArrayList<>();
            for (double x : row) r.add(Math.round(x * 1e6) / 1e6);
            l.add(r);
        }
        return l;
    }

    private void amplification(StringBuilder md, Map<String, Object> json) {
        md.append("## 4. ΔW against W (LoRA paper, Table 7)\n\n");
        md.append(String.format(Locale.ROOT, "‖UᵀWVᵀ‖_F of the **pre-trained** W of layer h.%d, with U, V the top-r singular vectors of ΔW (the merged update, "
                + "α/r included), of W itself, and of a Gaussian matrix; ‖ΔW‖_F and the amplification factor ‖ΔW‖_F / ‖U_ΔWᵀ W V_ΔW‖_F. Checks: the random column "
                + "should come out near ‖W‖_F·r/d, the W column is √(Σ_{k≤r} σ_k(W)²). The paper's values are W_q of layer 48 of GPT-3 (d = 12288, "
                + "‖W_q‖_F = 61.95).%n%n", layer));
        md.append("| weight | r | ΔW | W | random | ‖W‖_F·r/d | ‖ΔW‖_F | ‖W‖_F | amplification | paper ΔW / W / random / ‖ΔW‖_F / factor |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        List<Object> rows = new ArrayList<>();
        int[] ranks = scaled(AMP_SMALL, d) == AMP_SMALL ? new int[] {AMP_SMALL, AMP_LARGE}
                : new int[] {scaled(AMP_SMALL, d), scaled(AMP_LARGE, d), AMP_SMALL, AMP_LARGE};
        boolean holds = true;
        List<String> failed = new ArrayList<>();
        Map<String, Tensor> base = new LinkedHashMap<>();
        for (String t : QV) base.put(t, baseWeight(t));
        for (String t : QV)
            for (int r : ranks) {
                Run run = lora(QV, r, SEED);
                Analysis.Amplification a = Analysis.amplification(base.get(t), run.deltaW().get(t), r, 4242 + r);
                String paper = !t.equals(Q) ? "—" : r == AMP_SMALL ? "0.32 / 21.67 / 0.02 / 6.91 / 21.6" : r == AMP_LARGE ? "1.90 / 37.71 / 0.33 / 3.57 / 1.9" : "—";
                String w = t.equals(Q) ? "W_q" : "W_v";
                md.append(String.format(Locale.ROOT, "| %s | %d | %.4f | %.3f | %.4f | %.4f | %.4f | %.3f | %.2f | %s |%n", w, r, a.projDelta(), a.projW(),
                        a.projRandom(), a.expectedRandom(), a.deltaNorm(), a.wNorm(), a.factor(), paper));
                if (r * 8 <= d && !(a.projDelta() > a.projRandom() && a.projDelta() < a.projW())) {
                    holds = false;
                    failed.add(String.format(Locale.ROOT, "%s at r = %d: ΔW %.4f, random %.4f, W %.3f", w, r, a.projDelta(), a.projRandom(), a.projW()));
                }
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("weight", w);
                m.put("r", (long) r);
                m.put("proj_delta", a.projDelta());
                m.put("proj_w", a.projW());
                m.put("proj_random", a.projRandom());
                m.put("expected_random", a.expectedRandom());
                m.put("delta_norm", a.deltaNorm());
                m.put("w_norm", a.wNorm());
                m.put("factor", a.factor());
                rows.add(m);
            }
        md.append(String.format(Locale.ROOT, "%nThe paper: ΔW correlates with W more than a random matrix does (ΔW column ≫ random), it does not repeat W's top "
                + "directions (ΔW column ≪ W column) but amplifies directions W has without emphasising them, by ≈ 21.5 at r = 4 and ≈ 2 at r = 64. "
                + "Criterion, at every r with r/d ≤ 1/8: random < ΔW < W. The conclusion **%s** here%s (the size of the factor depends on how far %d steps "
                + "moved ΔW; compare it across r, not with the paper's).%n%n", holds ? "holds" : "does not hold",
                failed.isEmpty() ? "" : "; it fails at " + String.join("; ", failed), steps));
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("rows", rows);
        j.put("conclusion_holds", holds);
        json.put("amplification", j);
    }

    private void paramsVsQuality(StringBuilder md, Map<String, Object> json, double pre) throws IOException {
        md.append("## 5. Quality against trainable parameters (VeRA paper)\n\n");
        md.append("LoRA at r ∈ {1, 2, 4, 8, 16} and VeRA at r ∈ {16, 64, 256, 1024}, both on W_q+W_v of every layer.\n\n");
        md.append("| method | r | trainable params | target val loss |\n|---|---:|---:|---:|\n");
        List<Double> lx = new ArrayList<>(), ly = new ArrayList<>(), vx = new ArrayList<>(), vy = new ArrayList<>();
        List<Object> rows = new ArrayList<>();
        for (int r : new int[] {1, 2, 4, 8, 16}) add(md, rows, lora(QV, r, SEED), lx, ly);
        for (int r : new int[] {16, 64, 256, 1024}) add(md, rows, get("vera", QV, r, SEED), vx, vy);
        Path png = out.resolve("params-vs-quality.png");
        LossPlot.write(png, "target val loss against trainable parameters (W_q+W_v), " + steps + " steps", "trainable parameters (log scale)",
                "target val loss", List.of(LossPlot.Series.of("LoRA r = 1…16", lx, ly), LossPlot.Series.of("VeRA r = 16…1024", vx, vy)),
                LossPlot.WIDTH, LossPlot.HEIGHT, true);
        double veraBest = vy.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        double veraMax = vx.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        // LoRA's loss at VeRA's largest parameter count, by log-linear interpolation (or LoRA r = 1's where VeRA stays below it)
        double loraAt = interpolate(lx, ly, veraMax);
        boolean holds = veraBest <= loraAt + 0.01;
        md.append(String.format(Locale.ROOT, "%n![quality against trainable parameters](params-vs-quality.png)%n%n"
                + "The VeRA paper: VeRA reaches LoRA's quality with an order of magnitude fewer trainable parameters. Here VeRA's best is %.4f with at most "
                + "%,.0f trainable parameters; LoRA at that many parameters%s would be at %.4f (its best, r = 16: %.4f). Criterion: VeRA's best ≤ LoRA's loss "
                + "at VeRA's largest parameter count + 0.01. The conclusion **%s** here.%n%n", veraBest, veraMax,
                veraMax < lx.get(0) ? " (below LoRA r = 1's count: LoRA r = 1 itself)" : "", loraAt, ly.get(ly.size() - 1), holds ? "holds" : "does not hold"));
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("rows", rows);
        j.put("pretrained_val_loss", pre);
        j.put("conclusion_holds", holds);
        json.put("params_vs_quality", j);
    }

    private static void add(StringBuilder md, List<Object> rows, Run r, List<Double> x, List<Double> y) {
        md.append(String.format(Locale.ROOT, "| %s | %d | %,d | %.4f |%n", r.spec().method().equals("vera") ? "VeRA" : "LoRA", r.spec().r(), r.trainable(), r.valLoss()));
        x.add((double) r.trainable());
        y.add(r.valLoss());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", r.spec().method());
        m.put("r", (long) r.spec().r());
        m.put("trainable", r.trainable());
        m.put("val_loss", r.valLoss());
        rows.add(m);
    }

    /** y at x on the piecewise-linear curve in log x through (xs, ys) (xs ascending), clamped to its ends. */
    static double interpolate(List<Double> xs, List<Double> ys, double x) {
        if (x <= xs.get(0)) return ys.get(0);
        for (int i = 1; i < xs.size(); i++)
            if (x <= xs.get(i)) {
                double f = (Math.log(x) - Math.log(xs.get(i - 1))) / (Math.log(xs.get(i)) - Math.log(xs.get(i - 1)));
                return ys.get(i - 1) + f * (ys.get(i) - ys.get(i - 1));
            }
        return ys.get(ys.size() - 1);
    }

    /** The runs so far, by spec (for the notebook). */
    public Map<String, Run> runs() {
        return runs;
    }
}
