package dev.vectorgrad.peft.demo;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.AtomicFiles;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.HfGpt2;
import dev.vectorgrad.transformer.data.Batcher;
import dev.vectorgrad.transformer.data.CharTokenizer;
import dev.vectorgrad.transformer.data.EmbeddedCorpus;
import dev.vectorgrad.transformer.data.TextSplit;
import dev.vectorgrad.transformer.data.Tokenizer;
import dev.vectorgrad.transformer.train.Checkpoints;
import dev.vectorgrad.transformer.train.TrainLoop;
import dev.vectorgrad.transformer.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The demo's adaptation task, shared by {@code demo} and {@code analyze}: a GPT pretrained on one text (the baby
 * shape with biases on Europarl English, or a given model folder) and the target text to adapt it to (Europarl
 * Dutch, or a given file), tokenized, with fixed validation batches. Pretraining is cached as a model folder
 * ({@code config.json}, {@code model.safetensors}, {@code gpt.json}, {@code tokenizer.json}) when a cache folder is
 * given: the saved float32 weights are the trained ones bit for bit, so a cached run gives the same numbers.
 */
public final class DemoTask {
    static final long SEED = PeftDemo.SEED, EVAL_SEED = PeftDemo.EVAL_SEED;

    private final GptConfig config;
    private final Tokenizer tokenizer;
    private final LinkedHashMap<String, Tensor> weights;
    private final int[] targetTrain;
    private final List<Batcher.Batch> sourceEval, targetEval;
    private final double sourceLoss, targetLoss;
    private final String description;

    private DemoTask(GptConfig config, Tokenizer tokenizer, LinkedHashMap<String, Tensor> weights, int[] targetTrain,
                     List<Batcher.Batch> sourceEval, List<Batcher.Batch> targetEval, String description) {
        this.config = config;
        this.tokenizer = tokenizer;
        this.weights = weights;
        this.targetTrain = targetTrain;
        this.sourceEval = sourceEval;
        this.targetEval = targetEval;
        this.description = description;
        Gpt m = freshModel();
        this.sourceLoss = sourceEval == null ? Double.NaN : evaluate(m, sourceEval);
        this.targetLoss = evaluate(m, targetEval);
    }

    /**
     * The demo's task: the baby GPT (with biases) pretrained on Europarl {@link PeftDemo#SOURCE} for the plan's
     * iterations, to be adapted to {@link PeftDemo#TARGET}. With {@code cache} (a folder), the pretrained model is
     * read from {@code cache/<key>} if there, else trained and written there.
     */
    public static DemoTask pretrained(PeftDemo.Plan plan, Path cache, PrintStream log) throws IOException {
        return pretrained(plan, "vectorgrad PEFT demo", plan.tuneSteps() + " steps per method", cache, log);
    }

    /**
     * As {@link #pretrained(PeftDemo.Plan, Path, PrintStream)}, the log's first line naming the command ({@code who})
     * and its adaptation budget ({@code budget}, e.g. "200 steps per run") rather than the demo's.
     */
    public static DemoTask pretrained(PeftDemo.Plan plan, String who, String budget, Path cache, PrintStream log) throws IOException {
        String en = plan.corpusChars() > 0 ? EmbeddedCorpus.language(PeftDemo.SOURCE, plan.corpusChars()) : EmbeddedCorpus.language(PeftDemo.SOURCE);
        String nl = plan.corpusChars() > 0 ? EmbeddedCorpus.language(PeftDemo.TARGET, plan.corpusChars()) : EmbeddedCorpus.language(PeftDemo.TARGET);
        CharTokenizer tok = CharTokenizer.fit(en, nl);
        GptConfig base = GptConfig.baby(tok.vocabSize());
        GptConfig cfg = new GptConfig(base.vocabSize(), base.blockSize(), base.layers(), base.heads(), base.nEmbd(), 0.0, true,
                base.activation(), base.layerNormEps());
        log.printf(Locale.ROOT, "%s: pretrain a GPT (baby preset with biases: %d layers, n_embd %d, block %d, vocab %d) on Europarl '%s' "
                + "(%d chars) for %d iterations, then adapt it to '%s' (%d chars), %s, batch %d%n",
                who, cfg.layers(), cfg.nEmbd(), cfg.blockSize(), cfg.vocabSize(), PeftDemo.SOURCE, en.length(), plan.pretrainIters(), PeftDemo.TARGET,
                nl.length(), budget, plan.batch());

        Path dir = cache == null ? null : cache.resolve(String.format(Locale.ROOT, "demo-%s-c%d-b%d-i%d-e%d-s%d-v%d", PeftDemo.SOURCE,
                plan.corpusChars(), plan.batch(), plan.pretrainIters(), plan.evalBatches(), SEED, cfg.vocabSize()));
        LinkedHashMap<String, Tensor> weights = new LinkedHashMap<>();
        if (dir != null && Files.isRegularFile(dir.resolve(HfGpt2.WEIGHTS)) && Trainer.loadModelConfig(dir).equals(cfg)) {
            log.println("pretrained model: read from " + dir + " (delete it to pretrain again)");
            Trainer.loadModel(dir).stateDict().forEach((k, v) -> weights.put(k, v.copy()));
        } else {
            // 1. pretraining on the source language
            Trainer.Options o = Trainer.Options.baby().withSeed(SEED).withBatch(plan.batch())
                    .withSchedule(1e-3, 1e-4, Math.min(50, plan.pretrainIters() / 5), plan.pretrainIters())
                    .withEval(Math.max(1, plan.pretrainIters() / 4), plan.evalBatches()).withLog(Math.max(1, plan.pretrainIters() / 14));
            Trainer pre = Trainer.create(cfg, tok, en, o);
            pre.run(plan.pretrainIters(), log, null, false);
            pre.model().stateDict().forEach((k, v) -> weights.put(k, v.copy()));
            if (dir != null) {
                Gpt model = pre.model();
                Checkpoints.writeDirectory(dir, tmp -> {
                    HfGpt2.save(model, tmp);
                    AtomicFiles.writeString(tmp.resolve("gpt.json"), Trainer.configJson(cfg));
                    tok.save(tmp.resolve(Tokenizer.FILE_NAME));
                });
                log.println("pretrained model: saved to " + dir);
            }
        }
        int block = cfg.blockSize();
        TextSplit tsplit = TextSplit.of(nl);
        int[] srcVal = tok.encode(TextSplit.of(en).val());
        return new DemoTask(cfg, tok, weights, tok.encode(tsplit.train()), fixedBatches(srcVal, plan.batch(), block, plan.evalBatches()),
                fixedBatches(tok.encode(tsplit.val()), plan.batch(), block, plan.evalBatches()),
                "the baby GPT pretrained on Europarl '" + PeftDemo.SOURCE + "', adapted to '" + PeftDemo.TARGET + "'");
    }

    /**
     * A given model folder (a {@code train} / {@code finetune} checkpoint or a Hugging Face GPT-2 folder) adapted to
     * the text of {@code corpus} (90% train, 10% validation, as {@code finetune} splits it).
     */
    public static DemoTask of(Path modelDir, Path corpus, int batch, int evalBatches, PrintStream log) throws IOException {
        Gpt model = Trainer.loadModel(modelDir);
        Tokenizer tok = Tokenizer.ofModel(modelDir);
        TextSplit split = TextSplit.read(corpus);
        int[] train = tok.encode(split.train()), val = tok.encode(split.val());
        int block = model.config().blockSize();
        if (train.length <= block || val.length <= block)
            throw new IllegalArgumentException(corpus + ": too short for block size " + block + " (" + train.length + " train and " + val.length
                    + " validation tokens)");
        LinkedHashMap<String, Tensor> weights = new LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> weights.put(k, v.copy()));
        log.printf(Locale.ROOT, "model %s (%d layers, n_embd %d, block %d), adapted to %s (%d train tokens)%n", modelDir, model.config().layers(),
                model.config().nEmbd(), block, corpus, train.length);
        return new DemoTask(model.config(), tok, weights, train, null, fixedBatches(val, batch, block, evalBatches), modelDir + " adapted to " + corpus);
    }

    static List<Batcher.Batch> fixedBatches(int[] ids, int batch, int block, int count) {
        Batcher b = new Batcher(ids, batch, block, new Rng(EVAL_SEED));
        List<Batcher.Batch> out = new ArrayList<>();
        for (int i = 0; i < count; i++) out.add(b.next());
        return out;
    }

    /** Mean loss over the batches, in evaluation mode and without a graph. */
    public static double evaluate(Gpt model, List<Batcher.Batch> batches) {
        boolean was = model.isTraining();
        model.train(false);
        double sum = 0;
        try (var g = Grad.disabled()) {
            for (Batcher.Batch b : batches) sum += model.loss(b.x(), b.y()).item();
        }
        model.train(was);
        return sum / batches.size();
    }

    /** The model's parameters that train now (requiresGrad), in the model's order. */
    static List<Variable> trainable(Gpt model) {
        List<Variable> out = new ArrayList<>();
        for (Variable v : model.parameters()) if (v.requiresGrad()) out.add(v);
        return out;
    }

    /** AdamW over {@code params} at learning rate {@code lr}, betas (0.9, 0.999), eps 1e-8, no weight decay: the demo's optimiser. */
    static AdamW adamW(List<Variable> params, double lr) {
        return new AdamW(List.of(ParamGroup.of(params).lr(lr)), lr, 0.9, 0.999, 1e-8, 0.0);
    }

    /**
     * The shared loop as {@code demo} and {@code analyze} configure it: the optimiser's lr held constant, clipping
     * at a global gradient norm of 1.0, one micro-batch per step from {@code source}.
     */
    static TrainLoop loop(Gpt model, TrainLoop.Objective objective, List<Variable> trainable, Optimizer opt, Supplier<Batcher.Batch> source) {
        return new TrainLoop(model, objective, trainable, opt, (o, s) -> {}, 1.0, 1, source);
    }

    /** A new model holding a copy of the pretrained weights, in training mode. */
    public Gpt freshModel() {
        Gpt model = new Gpt(config, SEED);
        model.loadStateDict(weights, true);
        model.train(true);
        return model;
    }

    /** The pretrained model's shape. */
    public GptConfig config() { return config; }

    /** The model's tokenizer (for the demo's task, a character tokenizer fitted to both texts). */
    public Tokenizer tokenizer() { return tokenizer; }

    /** The pretrained weights (shared: copy before changing). */
    public Map<String, Tensor> weights() { return weights; }

    /** Token ids of the target's training split. */
    public int[] targetTrain() { return targetTrain; }

    /** Fixed validation batches of the target text. */
    public List<Batcher.Batch> targetEval() { return targetEval; }

    /** The pretrained model's loss on the source's validation batches (NaN when the task has no source text). */
    public double sourceLoss() { return sourceLoss; }

    /** The pretrained model's loss on the target's validation batches: the shift to adapt to. */
    public double targetLoss() { return targetLoss; }

    /** One line saying what the task is. */
    public String description() { return description; }
}
