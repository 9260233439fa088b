package dev.vectorgrad.peft.demo;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.autograd.optim.ParamGroup;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;

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
    public record Report(List<Row> rows, double sourceVal, double targetValPretrained, String table, Path markdown, Path png) {}

    private final Plan plan;
    private final Path out;
    private final PrintStream log;
    private final Path cache;

    public PeftDemo(Plan plan, Path out, PrintStream log) {
        this(plan, out, log, null);
    }

    /** With {@code cache}: the pretrained model is read from / written to a folder under it ({@link DemoTask}). */
    public PeftDemo(Plan plan, Path out, PrintStream log, Path cache) {
        this.plan = plan;
        this.out = out;
        this.log = log;
        this.cache = cache;
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
        for (Method m : methods()) rows.add(tune(m, cfg, weights, tgtTrain, tgtEval));

        String table = table(rows);
        log.println();
        log.println(table);
        String md = "# vectorgrad PEFT demo\n\n"
                + String.format(Locale.ROOT, "Pretrained on Europarl `%s` for %d iterations (val loss %.4f there, %.4f on `%s`), then each method trained "
                + "%d steps (batch %d × %d tokens, identical batches) on `%s`; target val loss = mean over %d fixed validation batches.%n%n",
                SOURCE, plan.pretrainIters(), srcLoss, tgtLoss, TARGET, plan.tuneSteps(), plan.batch(), block, TARGET, plan.evalBatches())
                + "LoRA / VeRA targets: `" + String.join("`, `", TARGETS) + "` in every block.\n\n"
                + table + "\n\n" + footnotes() + "\n";
        Path mdFile = out.resolve("peft-demo.md");
        Files.writeString(mdFile, md);
        List<LossPlot.Series> series = new ArrayList<>();
        for (Row r : rows.subList(1, rows.size())) series.add(LossPlot.Series.of(r.method(), r.evalSteps(), r.evalLoss()));
        Path png = out.resolve("target-val-loss.png");
        LossPlot.write(png, "target ('" + TARGET + "') validation loss while adapting", "step", "val loss", series, LossPlot.WIDTH, LossPlot.HEIGHT);
        log.println();
        log.println(footnotes());
        log.println("wrote " + mdFile + " and " + png);
        return new Report(rows, srcLoss, tgtLoss, table, mdFile, png);
    }

    static String footnotes() {
        return "ms/step: median wall time of one training step (forward + backward + clip + AdamW). "
                + "peak heap MB: live heap at the step's high-water mark — in the method's last step, after the forward pass (graph and activations "
                + "alive, optimiser state allocated), System.gc() then MemoryMXBean heap used; it includes what every row shares (the corpora, "
                + "the pretrained weights kept for the next method), so compare differences between rows. "
                + "adapter file bytes: the file that reproduces the tuned model on the original pretrained one — the native adapter file "
                + "(PeftFiles.saveNative) for LoRA / VeRA variants (PiSSA's is the rank-2r conversion, as PEFT's path_initial_model_for_weight_conversion, "
                + "since its init rewrote the base weights), the model's model.safetensors for full FT, the biases (Methods.saveTrained) for BitFit. "
                + "Learning rates are fixed per method (not tuned): full FT 5e-4, BitFit 3e-3, "
                + "LoRA variants 2e-3 with α = 2r (LoRA+: A at 5e-4, B at 16× that; LoRA-FA: PEFT's projected B gradient), VeRA 1e-2.";
    }

    /** A method: a name, how it turns a fresh copy of the pretrained model trainable, and its optimiser. */
    record Method(String name, double lr, PeftConfig peft, String kind) {}

    static List<Method> methods() {
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
                new Method("VeRA r=256", 1e-2, PeftConfig.vera(256, VERA_KEY, TARGETS).seed(SEED).build(), "vera"));
    }

    private Row tune(Method m, GptConfig cfg, Map<String, Tensor> weights, int[] trainIds, List<Batcher.Batch> evalBatches) throws IOException {
        Gpt model = new Gpt(cfg, SEED);
        model.loadStateDict(weights, true);
        model.train(true);
        PeftModel pm = null;
        switch (m.kind()) {
            case "full" -> Methods.fullFineTune(model);
            case "bitfit" -> {
                model.requiresGrad(false);
                Methods.bitFit(model);
            }
            default -> pm = PeftModel.wrap(model, m.peft());
        }
        List<Variable> trainable = new ArrayList<>();
        for (Variable v : model.parameters()) if (v.requiresGrad()) trainable.add(v);
        long nTrain = 0;
        for (Variable v : trainable) nTrain += v.numel();
        Optimizer opt = switch (m.kind()) {
            case "lora+" -> Methods.loraPlusAdamW(model, m.lr(), Methods.LORA_PLUS_RATIO, 0.0);
            case "lora-fa" -> Methods.loraFaAdamW(pm, m.lr(), 0.0);
            default -> new AdamW(List.of(ParamGroup.of(trainable).lr(m.lr())), m.lr(), 0.9, 0.999, 1e-8, 0.0);
        };

        double[] peak = {Double.NaN};
        Batcher batcher = new Batcher(trainIds, plan.batch(), cfg.blockSize(), new Rng(BATCH_SEED));
        boolean[] last = {false};
        // the shared loop: constant lr, clipping at 1.0, one micro-batch per step
        TrainLoop loop = new TrainLoop(model, b -> {
            Variable l = model.loss(b.x(), b.y());
            if (last[0]) peak[0] = liveHeapMb(); // the forward graph and its activations are alive here
            return l;
        }, trainable, opt, (o, s) -> {}, 1.0, 1, batcher::next);
        List<Integer> steps = new ArrayList<>(List.of(0));
        List<Double> losses = new ArrayList<>(List.of(evaluate(model, evalBatches)));
        double[] ms = new double[plan.tuneSteps()];
        log.printf(Locale.ROOT, "%-12s trainable %,d: val %.4f", m.name(), nTrain, losses.get(0));
        for (int s = 1; s <= plan.tuneSteps(); s++) {
            long t0 = System.nanoTime();
            last[0] = s == plan.tuneSteps();
            loop.takeStep();
            ms[s - 1] = (System.nanoTime() - t0) / 1e6;
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

        String slug = m.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("-$", "");
        Path file;
        if (pm != null) {
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
