package dev.vectorgrad.peft.demo;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.peft.LoraDrop;
import dev.vectorgrad.peft.LoraGa;
import dev.vectorgrad.peft.Methods;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.HfGpt2;
import dev.vectorgrad.transformer.data.Batcher;
import dev.vectorgrad.transformer.train.LossPlot;
import dev.vectorgrad.transformer.train.TrainLoop;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code ./vectorgrad demo}: the VeRA paper's comparison in miniature. Pretrains the baby GPT (with biases, so
 * that BitFit has something to train) on the embedded English Europarl text, then adapts a copy of it to Dutch
 * with every method for the same number of steps on the same batches, and prints / writes the comparison table
 * and a PNG of the target validation curves. Every seed is fixed: the same arguments give the same table,
 * timings and heap aside.
 */
public final class PeftDemo {
    /** Adapted layers of LoRA, VeRA and their variants. */
    public static final String[] TARGETS = {"c_attn", "c_proj", "c_fc"};
    public static final String SOURCE = "en", TARGET = "nl";
    public static final String HEADER = "| method | trainable params | adapter file bytes | target val loss | ms/step | peak heap MB |";
    static final long SEED = 1337, BATCH_SEED = 4242, EVAL_SEED = 777, VERA_KEY = 0;

    /** The budget. */
    public record Plan(int corpusChars, int batch, int pretrainIters, int tuneSteps, int evalEvery, int evalBatches) {
        public static Plan full() {
            return new Plan(0, 12, 700, 120, 20, 6);
        }

        public static Plan quick() {
            return new Plan(120_000, 4, 20, 6, 3, 2);
        }
    }

    /** One row of the table. */
    public record Row(String method, long trainable, long fileBytes, double valLoss, double msPerStep, double peakHeapMb,
                      List<Integer> evalSteps, List<Double> evalLoss) {}

    /** What a run produced. */
    public record Report(List<Row> rows, double sourceVal, double targetValPretrained, String table, Path markdown, Path png, List<String> notes) {}

    private final Plan plan;
    private final Path out;
    private final PrintStream log;
    /** What the run found beyond the table (LoRA-Drop's selection, AdaLoRA's ranks, LoRA-GA's budget), printed under it. */
    private final List<String> notes = new ArrayList<>();
    private final Path cache;

    /** Which methods run (by row name): all of them, except in tests that repeat a few. */
    private final java.util.function.Predicate<String> only;

    public PeftDemo(Plan plan, Path out, PrintStream log) {
        this(plan, out, log, null, name -> true);
    }

    /** With {@code cache}: the pretrained model is read from / written to a folder under it ({@link DemoTask}). */
    public PeftDemo(Plan plan, Path out, PrintStream log, Path cache) {
        this(plan, out, log, cache, name -> true);
    }

    /** Only the rows whose names {@code only} accepts (tests that repeat a few), without a cache. */
    PeftDemo(Plan plan, Path out, PrintStream log, java.util.function.Predicate<String> only) {
        this(plan, out, log, null, only);
    }

    private PeftDemo(Plan plan, Path out, PrintStream log, Path cache, java.util.function.Predicate<String> only) {
        this.plan = plan;
        this.out = out;
        this.log = log;
        this.cache = cache;
        this.only = only;
    }

    /** Where {@code demo} and {@code analyze} cache their pretrained model. */
    public static final Path PRETRAINED_CACHE = Path.of("runs", "pretrained");

    public static void main(String[] args) throws IOException {
        Plan plan = Plan.full();
        Path out = Path.of("runs", "demo");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> plan = Plan.quick();
                case "--out" -> out = Path.of(args[++i]);
                case "--pretrain" -> plan = new Plan(plan.corpusChars(), plan.batch(), Integer.parseInt(args[++i]), plan.tuneSteps(), plan.evalEvery(), plan.evalBatches());
                case "--steps" -> plan = new Plan(plan.corpusChars(), plan.batch(), plan.pretrainIters(), Integer.parseInt(args[++i]), plan.evalEvery(), plan.evalBatches());
                default -> {
                    System.err.println("usage: ./vectorgrad demo [--quick] [--out DIR] [--pretrain N] [--steps N]");
                    System.exit(2);
                }
            }
        }
        long t0 = System.nanoTime();
        new PeftDemo(plan, out, System.out, PRETRAINED_CACHE).run();
        System.out.printf(Locale.ROOT, "total wall time: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    // ------------------------------------------------------------------ the experiment

    public Report run() throws IOException {
        DemoTask task = DemoTask.pretrained(plan, cache, log);
        GptConfig cfg = task.config();
        Map<String, Tensor> weights = task.weights();
        int[] tgtTrain = task.targetTrain();
        List<Batcher.Batch> tgtEval = task.targetEval();
        double srcLoss = task.sourceLoss(), tgtLoss = task.targetLoss();
        int block = cfg.blockSize();
        log.printf(Locale.ROOT, "pretrained model: '%s' val loss %.4f, '%s' val loss %.4f (the shift to adapt to)%n", SOURCE, srcLoss, TARGET, tgtLoss);
        log.println("LoRA / VeRA targets: " + String.join(", ", TARGETS) + " in every block (the tied wte / lm_head and the LayerNorms stay frozen)");

        Files.createDirectories(out.resolve("adapters"));
        List<Row> rows = new ArrayList<>();
        rows.add(new Row("pretrained (no tuning)", 0, 0, tgtLoss, Double.NaN, Double.NaN, List.of(0), List.of(tgtLoss)));
        for (Method m : methods(plan)) if (only.test(m.name())) rows.add(tune(m, cfg, weights, tgtTrain, tgtEval));

        String table = table(rows);
        log.println();
        log.println(table);
        String md = "# vectorgrad PEFT demo\n\n"
                + String.format(Locale.ROOT, "Pretrained on Europarl `%s` for %d iterations (val loss %.4f there, %.4f on `%s`), then each method trained "
                + "%d steps (batch %d × %d tokens, identical batches) on `%s`; target val loss = mean over %d fixed validation batches.%n%n",
                SOURCE, plan.pretrainIters(), srcLoss, tgtLoss, TARGET, plan.tuneSteps(), plan.batch(), block, TARGET, plan.evalBatches())
                + "LoRA / VeRA targets: `" + String.join("`, `", TARGETS) + "` in every block.\n\n"
                + table + "\n\n" + footnotes() + "\n\n" + String.join("\n\n", notes) + "\n";
        Path mdFile = out.resolve("peft-demo.md");
        Files.writeString(mdFile, md);
        List<LossPlot.Series> series = new ArrayList<>();
        for (Row r : rows.subList(1, rows.size())) series.add(LossPlot.Series.of(r.method(), r.evalSteps(), r.evalLoss()));
        Path png = out.resolve("target-val-loss.png");
        LossPlot.write(png, "target ('" + TARGET + "') validation loss while adapting", "step", "val loss", series, LossPlot.WIDTH, LossPlot.HEIGHT);
        log.println();
        log.println(footnotes());
        for (String n : notes) {
            log.println();
            log.println(n);
        }
        log.println("wrote " + mdFile + " and " + png);
        return new Report(rows, srcLoss, tgtLoss, table, mdFile, png, List.copyOf(notes));
    }

    static String footnotes() {
        return "Every row has the same budget of optimiser steps on the same batches: LoRA-GA's gradient-estimation passes and LoRA-Drop's "
                + "sample phase are counted in it (the notes below say how many). "
                + "ms/step: median wall time of one training step (forward + backward + clip + the method's optimiser step). "
                + "peak heap MB: live heap at the step's high-water mark — in the method's last step, after the forward pass (graph and activations "
                + "alive, optimiser state allocated), System.gc() then MemoryMXBean heap used; it includes what every row shares (the corpora, "
                + "the pretrained weights kept for the next method), so compare differences between rows. "
                + "adapter file bytes: the file that reproduces the tuned model on the original pretrained one — the native adapter file "
                + "(PeftFiles.saveNative) for LoRA / VeRA variants (PiSSA's is the rank-2r conversion, as PEFT's path_initial_model_for_weight_conversion, "
                + "since its init rewrote the base weights; so is LoRA-GA's), AdaLoRA's holds the kept triplets (rank_pattern), LoRA-Drop's "
                + "(LoraDrop.save) each shared pair once; the model's model.safetensors for full FT, the biases (Methods.saveTrained) for BitFit. "
                + "Learning rates are fixed per method (not tuned): full FT 5e-4, BitFit 3e-3, "
                + "LoRA variants 2e-3 with α = 2r (LoRA+: A at 5e-4, B at 16× that; LoRA-FA: PEFT's projected B gradient), DoRA, FLoRA (α = 2r), "
                + "LoRA-GA, LoRA-Drop and the bottleneck adapters (d/16, on attn.c_proj + mlp.c_proj for Houlsby, mlp.c_proj for Pfeiffer) 2e-3; "
                + "LoRA-Pro 5e-4, full FT's, since its step is full FT's AdamW step projected onto the pair (at 2e-3 it rose above the pretrained loss "
                + "in the quick plan); VeRA and AdaLoRA (α = 2·init_r = 24) 1e-2: both start from a zero-signal scale (λ_b = 0; E = 0 with A, B at "
                + "N(0, 0.02²)), and AdaLoRA had barely moved at 2e-3. The bottleneck adapters cannot be merged into the weights (they stay "
                + "extra layers at inference); every other adapter row can.";
    }

    /** A method: a name, how it turns a fresh copy of the pretrained model trainable, and its optimiser. */
    record Method(String name, double lr, PeftConfig peft, String kind) {}

    static List<Method> methods(Plan plan) {
        int t = plan.tuneSteps();
        return List.of(
                new Method("full FT", 5e-4, null, "full"),
                new Method("BitFit", 3e-3, null, "bitfit"),
                new Method("LoRA r=1", 2e-3, PeftConfig.lora(1, 2, TARGETS).seed(SEED).build(), "lora"),
                new Method("LoRA r=8", 2e-3, PeftConfig.lora(8, 16, TARGETS).seed(SEED).build(), "lora"),
                new Method("rsLoRA r=8", 2e-3, PeftConfig.lora(8, 16, TARGETS).rslora(true).seed(SEED).build(), "lora"),
                new Method("LoRA+ r=8", 5e-4, PeftConfig.lora(8, 16, TARGETS).seed(SEED).build(), "lora+"),
                new Method("LoRA-FA r=8", 2e-3, PeftConfig.lora(8, 16, TARGETS).freezeA(true).seed(SEED).build(), "lora-fa"),
                new Method("PiSSA r=8", 2e-3, PeftConfig.lora(8, 16, TARGETS).init(PeftConfig.LoraInit.PISSA).seed(SEED).build(), "lora"),
                new Method("VeRA r=64", 1e-2, PeftConfig.vera(64, VERA_KEY, TARGETS).seed(SEED).build(), "vera"),
                new Method("VeRA r=256", 1e-2, PeftConfig.vera(256, VERA_KEY, TARGETS).seed(SEED).build(), "vera"),
                new Method("DoRA r=8", 2e-3, PeftConfig.lora(8, 16, TARGETS).dora(true).seed(SEED).build(), "lora"),
                // E starts at 0 and A, B at N(0, 0.02²): ΔW grows from a product of small factors, as VeRA's; so VeRA's lr.
                // init_r 12 pruned to an average of 8 per layer; α = 2·init_r (scaling 2, as the LoRA rows' α = 2r)
                new Method("AdaLoRA r=12→8", 1e-2, PeftConfig.adalora(12, 8, t).alpha(24).schedule(t / 10, t / 5, Math.max(1, t / 24))
                        .targets(TARGETS).seed(SEED).build(), "adalora"),
                new Method("LoRA-GA r=8", 2e-3, PeftConfig.lora(8, 16, TARGETS).seed(SEED).build(), "lora-ga"),
                // LoRA-Pro's step is full FT's AdamW step projected onto the LoRA pair's tangent space: full FT's lr
                new Method("LoRA-Pro r=8", 5e-4, PeftConfig.lora(8, 16, TARGETS).seed(SEED).build(), "lora-pro"),
                new Method("FLoRA r=8", 2e-3, PeftConfig.flora(8).alpha(16).targets(TARGETS).seed(SEED).build(), "lora"),
                new Method("LoRA-Drop r=8", 2e-3, PeftConfig.lora(8, 16, TARGETS).seed(SEED).build(), "lora-drop"),
                new Method("Adapter (Houlsby)", 2e-3, PeftConfig.houlsby().seed(SEED).build(), "lora"),
                new Method("Adapter (Pfeiffer)", 2e-3, PeftConfig.pfeiffer().seed(SEED).build(), "lora"));
    }

    /** LoRA-GA's gradient-estimation batches: one per 30 steps of the budget (4 of 120), at least 1; they count in the budget. */
    static int gradientBatches(int tuneSteps) {
        return Math.max(1, Math.round(tuneSteps / 30f));
    }

    private Row tune(Method m, GptConfig cfg, Map<String, Tensor> weights, int[] trainIds, List<Batcher.Batch> evalBatches) throws IOException {
        Gpt model = new Gpt(cfg, SEED);
        model.loadStateDict(weights, true);
        model.train(true);
        Batcher batcher = new Batcher(trainIds, plan.batch(), cfg.blockSize(), new Rng(BATCH_SEED));
        List<Integer> steps = new ArrayList<>(List.of(0));
        List<Double> losses = new ArrayList<>(List.of(evaluate(model, evalBatches)));
        int first = 1; // the budget's number of the first optimiser step
        PeftModel pm = null;
        switch (m.kind()) {
            case "full" -> Methods.fullFineTune(model);
            case "bitfit" -> {
                model.requiresGrad(false);
                Methods.bitFit(model);
            }
            case "lora-ga" -> {
                // the gradient-estimation passes (forward + backward, full target weights) take the budget's first steps
                int g = gradientBatches(plan.tuneSteps());
                List<Batcher.Batch> gb = new ArrayList<>();
                for (int i = 0; i < g; i++) gb.add(batcher.next());
                pm = LoraGa.wrap(model, m.peft(), g, i -> model.loss(gb.get(i).x(), gb.get(i).y()).backward());
                first = g + 1;
                notes.add(String.format(Locale.ROOT, "LoRA-GA r=8: its first %d of the %d budget steps were gradient-estimation passes (one batch each, "
                        + "forward + backward through the full target weights), so it trained %d optimiser steps; its file is PEFT's rank-2r conversion.",
                        g, plan.tuneSteps(), plan.tuneSteps() - g));
            }
            default -> pm = PeftModel.wrap(model, m.peft());
        }
        // LoRA-Drop: the first 10% of the budget trains a plain LoRA on the sample (these batches), then the structure changes
        int sample = m.kind().equals("lora-drop") ? LoraDrop.sampleSteps(plan.tuneSteps(), LoraDrop.DEFAULT_SAMPLE_FRACTION) : -1;
        List<Batcher.Batch> sampleBatches = new ArrayList<>();
        double[] peak = {Double.NaN};
        boolean[] last = {false};
        Supplier<Batcher.Batch> source = () -> {
            Batcher.Batch b = batcher.next();
            if (sampleBatches.size() < sample) sampleBatches.add(b);
            return b;
        };
        TrainLoop loop = loop(m, model, pm, source, peak, last);
        long nTrain = DemoTask.trainable(model).stream().mapToLong(Variable::numel).sum();
        log.printf(Locale.ROOT, "%-18s trainable %,d: val %.4f", m.name(), nTrain, losses.get(0));
        double[] ms = new double[plan.tuneSteps() - first + 1];
        LoraDrop.Selection sel = null;
        for (int s = first; s <= plan.tuneSteps(); s++) {
            long t0 = System.nanoTime();
            last[0] = s == plan.tuneSteps();
            loop.takeStep();
            ms[s - first] = (System.nanoTime() - t0) / 1e6;
            if (s == sample) {
                PeftModel p = pm;
                long full = LoraDrop.parameters(pm, "default");
                sel = LoraDrop.select(pm, "default", LoraDrop.normalise(LoraDrop.importance(pm, "default", () -> {
                    for (Batcher.Batch b : sampleBatches) model.forward(b.x());
                })), LoraDrop.DEFAULT_THRESHOLD);
                LoraDrop.restructure(p, "default", sel);
                loop = loop(m, model, pm, source, peak, last); // fresh AdamW state for the fresh structure
                nTrain = DemoTask.trainable(model).stream().mapToLong(Variable::numel).sum();
                log.printf(Locale.ROOT, " | restructured after %d sample steps: %d of %d modules keep their LoRA (%d shared groups), trainable %,d", sample,
                        sel.kept().size(), sel.importance().size(), sel.groups().size(), nTrain);
                notes.add(String.format(Locale.ROOT, "LoRA-Drop r=8: plain LoRA r=8 trained on a sample for the first %d of the %d budget steps; "
                        + "importance Σ‖ΔW·x‖² over those %d batches; %d of %d modules (kept fraction %.2f) hold %.3f of it (T = %.1f) and keep their LoRA, "
                        + "the other %d share %d pairs (one per module name and shape: %s); that structure restarted from LoRA's init for the remaining %d steps, "
                        + "with %,d trainable parameters, %.0f%% of LoRA r=8's %,d.",
                        sample, plan.tuneSteps(), sampleBatches.size(), sel.kept().size(), sel.importance().size(), sel.keptFraction(), sel.keptImportance(),
                        sel.threshold(), sel.shared().size(), sel.groups().size(), String.join(", ", sel.groups()), plan.tuneSteps() - sample, nTrain,
                        100.0 * nTrain / full, full));
            }
            if (s % plan.evalEvery() == 0 || s == plan.tuneSteps()) {
                double v = evaluate(model, evalBatches);
                steps.add(s);
                losses.add(v);
                log.printf(Locale.ROOT, " → %d: %.4f", s, v);
                log.flush();
            }
        }
        java.util.Arrays.sort(ms);
        double median = ms.length == 0 ? Double.NaN : ms.length % 2 == 1 ? ms[ms.length / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
        log.printf(Locale.ROOT, "  (%.0f ms/step)%n", median);
        if (m.kind().equals("adalora")) {
            LinkedHashMap<String, Integer> ranks = pm.rankAllocator().ranks();
            StringBuilder per = new StringBuilder();
            LinkedHashMap<String, List<Integer>> byKind = new LinkedHashMap<>(); // attn.c_attn → its rank in block 0, 1, …
            for (var e : ranks.entrySet()) byKind.computeIfAbsent(e.getKey().replaceFirst("^.*\\.h\\.\\d+\\.", ""), k -> new ArrayList<>()).add(e.getValue());
            byKind.forEach((k, rs) -> per.append(per.length() == 0 ? "" : "; ").append(k).append(' ').append(rs));
            notes.add(String.format(Locale.ROOT, "AdaLoRA r=12→8: orthogonal regulariser (weight %.1f) in the loss and update_and_allocate after every optimiser step "
                    + "(tinit %d, tfinal %d, deltaT %d); final ranks per layer, block 0 first: %s (total %d of %d).", m.peft().orthRegWeight(), m.peft().tinit(),
                    m.peft().tfinal(), m.peft().deltaT(), per, ranks.values().stream().mapToInt(Integer::intValue).sum(), 12 * ranks.size()));
        }

        String slug = m.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("-$", "");
        Path file;
        if (sel != null) {
            file = out.resolve("adapters").resolve(slug + ".safetensors");
            LoraDrop.save(pm, "default", file, sel); // each shared pair once
        } else if (pm != null) {
            file = out.resolve("adapters").resolve(slug + ".safetensors");
            PeftFiles.saveNative(pm, "default", file);
        } else if (m.kind().equals("full")) {
            Path dir = out.resolve("adapters").resolve(slug);
            HfGpt2.save(model, dir);
            file = dir.resolve(HfGpt2.WEIGHTS);
        } else {
            file = out.resolve("adapters").resolve(slug + ".safetensors");
            Methods.saveTrained(model, file);
        }
        return new Row(m.name(), nTrain, Files.size(file), losses.get(losses.size() - 1), median, peak[0], steps, losses);
    }

    /**
     * The shared loop ({@link DemoTask#loop}: constant lr, clipping at 1.0, one micro-batch per step) for the model's
     * trainable parameters now, with the method's optimiser; AdaLoRA adds its orthogonal regulariser to the loss and allocates ranks after
     * each optimiser step (PEFT's {@code update_and_allocate(global_step)}, global_step counting from 0).
     */
    private TrainLoop loop(Method m, Gpt model, PeftModel pm, Supplier<Batcher.Batch> source, double[] peak, boolean[] last) {
        List<Variable> trainable = DemoTask.trainable(model);
        Optimizer opt = switch (m.kind()) {
            case "lora+" -> Methods.loraPlusAdamW(model, m.lr(), Methods.LORA_PLUS_RATIO, 0.0);
            case "lora-fa" -> Methods.loraFaAdamW(pm, m.lr(), 0.0);
            case "lora-pro" -> Methods.loraProAdamW(pm, m.lr(), 0.0);
            default -> DemoTask.adamW(trainable, m.lr());
        };
        boolean ada = m.kind().equals("adalora");
        TrainLoop loop = DemoTask.loop(model, b -> {
            Variable l = model.loss(b.x(), b.y());
            if (ada) l = l.add(pm.rankAllocator().orthogonalLoss());
            if (last[0]) peak[0] = liveHeapMb(); // the forward graph and its activations are alive here
            return l;
        }, trainable, opt, source);
        if (ada) loop.onStep(s -> pm.updateAndAllocate(s - 1));
        return loop;
    }

    static double evaluate(Gpt model, List<Batcher.Batch> batches) {
        return DemoTask.evaluate(model, batches);
    }

    // ------------------------------------------------------------------ heap

    /** Live heap: used heap right after a full System.gc(). */
    static double liveHeapMb() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0);
    }

    // ------------------------------------------------------------------ table

    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        sb.append("|---|---:|---:|---:|---:|---:|");
        for (Row r : rows) {
            boolean base = r.method().startsWith("pretrained");
            sb.append('\n').append(String.format(Locale.ROOT, "| %s | %s | %s | %.4f | %s | %s |", r.method(),
                    String.format(Locale.ROOT, "%,d", r.trainable()), base ? "—" : String.format(Locale.ROOT, "%,d", r.fileBytes()), r.valLoss(),
                    base ? "—" : String.format(Locale.ROOT, "%.1f", r.msPerStep()), base ? "—" : String.format(Locale.ROOT, "%.0f", r.peakHeapMb())));
        }
        return sb.toString();
    }
}
