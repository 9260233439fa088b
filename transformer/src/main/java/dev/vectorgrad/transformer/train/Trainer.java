package dev.vectorgrad.transformer.train;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.transformer.AtomicFiles;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.HfGpt2;
import dev.vectorgrad.transformer.data.Batcher;
import dev.vectorgrad.transformer.data.TextSplit;
import dev.vectorgrad.transformer.data.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * nanoGPT's training loop for a {@link Gpt}: random windows from the first 90% of the text, AdamW (autograd's, with
 * two parameter groups: weight decay on matrices only), linear warm-up then cosine decay, gradient clipping,
 * periodic evaluation on the last 10%.
 *
 * <p>Everything random — initialisation, batches, dropout, evaluation windows — comes from generators derived
 * from one seed, and a {@link #save checkpoint} holds all of their states with the weights and the optimiser's
 * moments, so that {@link #resume resuming} continues exactly the loss curve of an uninterrupted run.
 */
public final class Trainer {
    /** The recipe. Defaults ({@link #baby()}) are nanoGPT's CPU recipe. */
    public record Options(int batchSize, double lr, double minLr, int warmupIters, int decayIters, double weightDecay, double beta1,
                          double beta2, double gradClip, int evalInterval, int evalIters, int logInterval, long seed) {
        public static Options baby() {
            return new Options(12, 1e-3, 1e-4, 100, 2000, 0.1, 0.9, 0.99, 1.0, 250, 20, 10, 1337);
        }

        public Options withSeed(long s) {
            return new Options(batchSize, lr, minLr, warmupIters, decayIters, weightDecay, beta1, beta2, gradClip, evalInterval, evalIters, logInterval, s);
        }

        public Options withEval(int interval, int iters) {
            return new Options(batchSize, lr, minLr, warmupIters, decayIters, weightDecay, beta1, beta2, gradClip, interval, iters, logInterval, seed);
        }

        public Options withLog(int interval) {
            return new Options(batchSize, lr, minLr, warmupIters, decayIters, weightDecay, beta1, beta2, gradClip, evalInterval, evalIters, interval, seed);
        }

        public Options withBatch(int b) {
            return new Options(b, lr, minLr, warmupIters, decayIters, weightDecay, beta1, beta2, gradClip, evalInterval, evalIters, logInterval, seed);
        }

        public Options withSchedule(double lr, double minLr, int warmup, int decay) {
            return new Options(batchSize, lr, minLr, warmup, decay, weightDecay, beta1, beta2, gradClip, evalInterval, evalIters, logInterval, seed);
        }
    }

    /** What a run measured. */
    public record Result(int iters, double lastLoss, double valLoss, double medianStepMs) {}

    private final Gpt model;
    private final Tokenizer tokenizer;
    private final Options o;
    private final int[] trainIds, valIds;
    private Rng batchRng;
    private Batcher batcher;
    /** The model's parameters by name: the names of the optimiser state in a checkpoint. */
    private final LinkedHashMap<String, Variable> params;
    private final AdamW opt;
    /** The shared loop: step arena, clipping, this recipe's lr, progress, evaluation, history. */
    private final TrainLoop loop;

    private Trainer(Gpt model, Tokenizer tokenizer, String text, Options o) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.o = o;
        TextSplit split = TextSplit.of(text);
        this.trainIds = tokenizer.encode(split.train());
        this.valIds = tokenizer.encode(split.val());
        int t = model.config().blockSize();
        if (trainIds.length < t + 1 || valIds.length < t + 1)
            throw new IllegalArgumentException("corpus too small: " + trainIds.length + " training and " + valIds.length
                    + " validation tokens, need more than the block size " + t + " in each");
        this.batchRng = new Rng(o.seed()).fork(2);
        this.batcher = new Batcher(trainIds, o.batchSize(), t, batchRng);
        this.params = model.namedParameters();
        // nanoGPT's optim_groups: matrices (embeddings, linear weights) decay, vectors (biases, layer norms) do not
        List<Variable> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        for (Variable p : params.values()) (p.rank() >= 2 ? decay : noDecay).add(p);
        List<ParamGroup> groups = new ArrayList<>();
        if (!decay.isEmpty()) groups.add(ParamGroup.of(decay).weightDecay(o.weightDecay()));
        if (!noDecay.isEmpty()) groups.add(ParamGroup.of(noDecay).weightDecay(0));
        this.opt = new AdamW(groups, o.lr(), o.beta1(), o.beta2(), 1e-8, o.weightDecay());
        this.loop = new TrainLoop(model, b -> model.loss(b.x(), b.y()), params.values(), opt, (op, it) -> op.setLr(lrAt(it)), o.gradClip(), 1,
                () -> batcher.next());
    }

    /** A fresh model of {@code config} initialised from the seed, to be trained on {@code text}. */
    public static Trainer create(GptConfig config, Tokenizer tokenizer, String text, Options o) {
        return new Trainer(new Gpt(config, o.seed()), tokenizer, text, o);
    }

    public Gpt model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public int iter() {
        return loop.step();
    }

    /** Training loss of every step taken so far (including before a resume). */
    public List<Double> trainLosses() {
        return loop.trainLosses();
    }

    public List<Double> valLosses() {
        return loop.evalLosses();
    }

    /** The learning rate of step {@code it}: linear warm-up, cosine decay to minLr at decayIters, minLr after. */
    public double lrAt(int it) {
        if (it < o.warmupIters()) return o.lr() * (it + 1) / (o.warmupIters() + 1);
        if (it > o.decayIters()) return o.minLr();
        double ratio = (it - o.warmupIters()) / (double) Math.max(1, o.decayIters() - o.warmupIters());
        return o.minLr() + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (o.lr() - o.minLr());
    }

    /** One optimisation step on the next random batch; returns its training loss. */
    public double step() {
        return loop.takeStep();
    }

    /**
     * One optimisation step on the given batch (the loss-curve parity test feeds PyTorch's batches here, so it
     * checks this very loop); returns its training loss.
     */
    double step(Batcher.Batch b) {
        return loop.step(List.of(b));
    }

    /** Mean loss over {@code evalIters} validation windows drawn from a generator fixed by the seed and iteration. */
    public double evaluate() {
        Rng r = new Rng(o.seed()).fork(1_000_000L + iter());
        Batcher vb = new Batcher(valIds, o.batchSize(), model.config().blockSize(), r);
        List<Batcher.Batch> batches = new ArrayList<>();
        for (int i = 0; i < o.evalIters(); i++) batches.add(vb.next());
        return loop.evaluate(batches);
    }

    /**
     * Trains until iteration {@code total}, printing a progress line every {@code logInterval} steps,
     * {@code val loss: X} at every evaluation and at the end, and {@code median step ms: X} last. With
     * {@code outDir}, saves a checkpoint (and the loss plot) at every evaluation and at the end.
     */
    public Result run(int total, PrintStream out, Path outDir, boolean inPlace) throws IOException {
        TrainLoop.Result r = loop.run(total, new TrainLoop.Schedule(o.logInterval(), o.evalInterval(), o.warmupIters()),
                (long) o.batchSize() * model.config().blockSize(), this::evaluate, outDir == null ? null : () -> save(outDir), out, inPlace);
        out.println(String.format(Locale.ROOT, "median step ms: %.2f", r.medianStepMs()));
        return new Result(r.steps(), r.lastLoss(), r.valLoss(), r.medianStepMs());
    }

    // ---------------------------------------------------------------- checkpoints

    static final String STATE = "trainer.json", OPTIM = "optimizer.safetensors", PLOT = "loss.png", GPT = "gpt.json";

    /**
     * Writes a checkpoint directory: {@code config.json} + {@code model.safetensors} (Hugging Face GPT-2 layout),
     * {@code gpt.json} (the exact config), {@code tokenizer.json}, {@code optimizer.safetensors} (moments and
     * step), {@code trainer.json} (iteration, generator states, loss history) and {@code loss.png}. The directory
     * is built beside the target and renamed into place, so a crash never leaves a half-written checkpoint.
     */
    public void save(Path dir) throws IOException {
        Checkpoints.writeDirectory(dir, tmp -> {
            HfGpt2.save(model, tmp);
            AtomicFiles.writeString(tmp.resolve(GPT), configJson(model.config()));
            tokenizer.save(tmp.resolve(Tokenizer.FILE_NAME));
            Checkpoints.writeOptimizer(opt, params, tmp.resolve(OPTIM));
            Map<String, Object> st = new LinkedHashMap<>();
            st.put("iter", (long) iter());
            st.put("options", optionsMap(o));
            st.put("batch_rng", Checkpoints.longs(batchRng.snapshot()));
            st.put("dropout_rng", Checkpoints.longs(model.dropoutRng().snapshot()));
            Checkpoints.putHistory(loop, st);
            AtomicFiles.writeString(tmp.resolve(STATE), Json.writePretty(st) + "\n");
            loop.writePlot(tmp.resolve(PLOT), "vectorgrad GPT");
        });
    }

    /** Loads a checkpoint written by {@link #save} to continue training on {@code text} (the same corpus). */
    public static Trainer resume(Path dir, String text, Options override) throws IOException {
        GptConfig cfg = readConfigJson(Files.readString(dir.resolve(GPT)));
        Tokenizer tok = Tokenizer.load(dir.resolve(Tokenizer.FILE_NAME));
        Map<?, ?> st = (Map<?, ?>) Json.parse(Files.readString(dir.resolve(STATE)));
        Options o = override != null ? override : optionsFrom((Map<?, ?>) st.get("options"));
        Gpt model = new Gpt(cfg);
        HfGpt2.loadWeights(model, dir.resolve(HfGpt2.WEIGHTS));
        Trainer t = new Trainer(model, tok, text, o);
        Checkpoints.readOptimizer(t.opt, t.params, dir.resolve(OPTIM));
        Checkpoints.restoreHistory(t.loop, st, "iter", "eval_iter");
        t.batchRng = Rng.restore(Checkpoints.toLongs(st.get("batch_rng")));
        t.batcher = new Batcher(t.trainIds, o.batchSize(), cfg.blockSize(), t.batchRng);
        model.setDropoutRng(Rng.restore(Checkpoints.toLongs(st.get("dropout_rng"))));
        return t;
    }

    /** The config of a model folder: a checkpoint's exact {@code gpt.json}, else Hugging Face's {@code config.json}. */
    public static GptConfig loadModelConfig(Path dir) throws IOException {
        Path exact = dir.resolve(GPT);
        return Files.exists(exact) ? readConfigJson(Files.readString(exact)) : GptConfig.readHf(dir.resolve(GptConfig.HF_FILE));
    }

    /** The model of a checkpoint or Hugging Face GPT-2 folder, in evaluation mode (for sampling). */
    public static Gpt loadModel(Path dir) throws IOException {
        GptConfig cfg = loadModelConfig(dir);
        Gpt model = new Gpt(cfg);
        HfGpt2.loadWeights(model, dir.resolve(HfGpt2.WEIGHTS));
        model.train(false);
        return model;
    }

    // ---------------------------------------------------------------- JSON helpers

    public static String configJson(GptConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vocab_size", (long) c.vocabSize());
        m.put("block_size", (long) c.blockSize());
        m.put("n_layer", (long) c.layers());
        m.put("n_head", (long) c.heads());
        m.put("n_embd", (long) c.nEmbd());
        m.put("dropout", c.dropout());
        m.put("bias", c.bias());
        m.put("activation", c.activation().name());
        m.put("layer_norm_eps", c.layerNormEps());
        return Json.writePretty(m) + "\n";
    }

    public static GptConfig readConfigJson(String json) {
        Map<?, ?> m = (Map<?, ?>) Json.parse(json);
        return new GptConfig((int) num(m.get("vocab_size")), (int) num(m.get("block_size")), (int) num(m.get("n_layer")),
                (int) num(m.get("n_head")), (int) num(m.get("n_embd")), ((Number) m.get("dropout")).doubleValue(), (Boolean) m.get("bias"),
                GptConfig.Activation.valueOf((String) m.get("activation")), ((Number) m.get("layer_norm_eps")).doubleValue());
    }

    private static Map<String, Object> optionsMap(Options o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("batch_size", (long) o.batchSize());
        m.put("lr", o.lr());
        m.put("min_lr", o.minLr());
        m.put("warmup_iters", (long) o.warmupIters());
        m.put("decay_iters", (long) o.decayIters());
        m.put("weight_decay", o.weightDecay());
        m.put("beta1", o.beta1());
        m.put("beta2", o.beta2());
        m.put("grad_clip", o.gradClip());
        m.put("eval_interval", (long) o.evalInterval());
        m.put("eval_iters", (long) o.evalIters());
        m.put("log_interval", (long) o.logInterval());
        m.put("seed", o.seed());
        return m;
    }

    private static Options optionsFrom(Map<?, ?> m) {
        return new Options((int) num(m.get("batch_size")), dbl(m.get("lr")), dbl(m.get("min_lr")), (int) num(m.get("warmup_iters")),
                (int) num(m.get("decay_iters")), dbl(m.get("weight_decay")), dbl(m.get("beta1")), dbl(m.get("beta2")), dbl(m.get("grad_clip")),
                (int) num(m.get("eval_interval")), (int) num(m.get("eval_iters")), (int) num(m.get("log_interval")), num(m.get("seed")));
    }

    /** The recipe stored in a checkpoint. */
    public static Options readOptions(Path dir) throws IOException {
        Map<?, ?> st = (Map<?, ?>) Json.parse(Files.readString(dir.resolve(STATE)));
        return optionsFrom((Map<?, ?>) st.get("options"));
    }

    private static long num(Object o) {
        return ((Number) o).longValue();
    }

    private static double dbl(Object o) {
        return ((Number) o).doubleValue();
    }

    @Override
    public String toString() {
        return "Trainer[iter=" + iter() + ", " + Arrays.toString(new int[] {trainIds.length, valIds.length}) + " tokens]";
    }
}
