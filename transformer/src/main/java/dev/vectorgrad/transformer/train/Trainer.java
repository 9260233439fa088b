package dev.vectorgrad.transformer.train;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Adam;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
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
import java.util.IdentityHashMap;
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
    private int iter;
    /** Every step's training loss, and the evaluations (iteration, val loss). */
    private final List<Double> trainLoss = new ArrayList<>();
    private final List<Integer> evalIter = new ArrayList<>();
    private final List<Double> evalLoss = new ArrayList<>();

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
        return iter;
    }

    /** Training loss of every step taken so far (including before a resume). */
    public List<Double> trainLosses() {
        return List.copyOf(trainLoss);
    }

    public List<Double> valLosses() {
        return List.copyOf(evalLoss);
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
        return step(batcher.next());
    }

    /**
     * One optimisation step on the given batch (the loss-curve parity test feeds PyTorch's batches here, so it
     * checks this very loop); returns its training loss.
     */
    double step(Batcher.Batch b) {
        double lr = lrAt(iter);
        model.train(true);
        model.zeroGrad();
        double l;
        // Activations and gradients of this step come from (and go back to) the arena: nothing made here is
        // used after the step, parameters and .grad buffers live outside it.
        try (StepArena a = arena()) {
            Variable loss = model.loss(b.x(), b.y());
            loss.backward();
            if (o.gradClip() > 0) Optimizer.clipGradNorm(params.values(), o.gradClip());
            opt.setLr(lr);
            opt.step(); // its state, created lazily in the first step, is plain arrays, not the arena's
            l = loss.item();
        }
        iter++;
        trainLoss.add(l);
        return l;
    }

    private StepArena arena;

    /** The trainer's arena, opened for one step or evaluation batch (created on first use, on that thread). */
    private StepArena arena() {
        if (arena == null) arena = StepArena.create();
        return arena.reopen();
    }

    /** Mean loss over {@code evalIters} validation windows drawn from a generator fixed by the seed and iteration. */
    public double evaluate() {
        Rng r = new Rng(o.seed()).fork(1_000_000L + iter);
        Batcher vb = new Batcher(valIds, o.batchSize(), model.config().blockSize(), r);
        model.train(false);
        double sum = 0;
        try (var g = Grad.disabled()) {
            for (int i = 0; i < o.evalIters(); i++) {
                Batcher.Batch b = vb.next();
                try (StepArena a = arena()) {
                    sum += model.loss(b.x(), b.y()).item();
                }
            }
        }
        model.train(true);
        return sum / o.evalIters();
    }

    /**
     * Trains until iteration {@code total}, printing a progress line every {@code logInterval} steps,
     * {@code val loss: X} at every evaluation and at the end, and {@code median step ms: X} last. With
     * {@code outDir}, saves a checkpoint (and the loss plot) at every evaluation and at the end.
     */
    public Result run(int total, PrintStream out, Path outDir, boolean inPlace) throws IOException {
        int start = iter;
        ProgressLine progress = new ProgressLine(total, (long) o.batchSize() * model.config().blockSize(), inPlace, out, System::nanoTime);
        progress.restartClock(iter);
        List<Double> stepMs = new ArrayList<>();
        double last = Double.NaN, val = Double.NaN;
        while (iter < total) {
            long t0 = System.nanoTime();
            last = step();
            stepMs.add((System.nanoTime() - t0) / 1e6);
            if (o.logInterval() > 0 && (iter % o.logInterval() == 0 || iter == total)) progress.report(iter, last, lrAt(iter - 1));
            if (o.evalInterval() > 0 && iter % o.evalInterval() == 0 && iter < total) {
                val = evaluate();
                evalIter.add(iter);
                evalLoss.add(val);
                progress.message(String.format(Locale.ROOT, "val loss: %.4f", val));
                if (outDir != null) save(outDir);
                progress.restartClock(iter);
            }
        }
        progress.endLine();
        if (o.evalInterval() > 0) {
            val = evaluate();
            if (evalIter.isEmpty() || evalIter.get(evalIter.size() - 1) != iter) {
                evalIter.add(iter);
                evalLoss.add(val);
            }
            out.println(String.format(Locale.ROOT, "val loss: %.4f", val));
        }
        if (outDir != null) save(outDir);
        int n = stepMs.size(), skip = Math.min(o.warmupIters(), n / 2);
        double median = Double.NaN;
        if (n > 0) {
            double[] s = stepMs.subList(skip, n).stream().mapToDouble(Double::doubleValue).sorted().toArray();
            median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        }
        out.println(String.format(Locale.ROOT, "median step ms: %.2f", median));
        return new Result(iter - start, last, val, median);
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
        Path abs = dir.toAbsolutePath();
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, abs.getFileName() + ".tmp-");
        try {
            HfGpt2.save(model, tmp);
            AtomicFiles.writeString(tmp.resolve(GPT), configJson(model.config()));
            tokenizer.save(tmp.resolve(Tokenizer.FILE_NAME));
            writeOptimizer(tmp.resolve(OPTIM));
            Map<String, Object> st = new LinkedHashMap<>();
            st.put("iter", (long) iter);
            st.put("options", optionsMap(o));
            st.put("batch_rng", longs(batchRng.snapshot()));
            st.put("dropout_rng", longs(model.dropoutRng().snapshot()));
            st.put("train_loss", new ArrayList<Object>(trainLoss));
            st.put("eval_iter", evalIter.stream().map(i -> (Object) (long) i).toList());
            st.put("eval_loss", new ArrayList<Object>(evalLoss));
            AtomicFiles.writeString(tmp.resolve(STATE), Json.writePretty(st) + "\n");
            writePlot(tmp.resolve(PLOT));
            Path old = null;
            if (Files.exists(abs)) {
                old = parent.resolve(abs.getFileName() + ".old-" + System.nanoTime());
                Files.move(abs, old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, abs, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            if (old != null) deleteTree(old);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    private void writePlot(Path png) throws IOException {
        List<Integer> xs = new ArrayList<>();
        for (int i = 1; i <= trainLoss.size(); i++) xs.add(i);
        List<LossPlot.Series> series = new ArrayList<>();
        series.add(LossPlot.Series.of("train", xs, trainLoss));
        if (!evalLoss.isEmpty()) series.add(LossPlot.Series.of("val", evalIter, evalLoss));
        LossPlot.write(png, "vectorgrad GPT", series);
    }

    /**
     * {@code optimizer.safetensors}: {@code exp_avg.<param>} and {@code exp_avg_sq.<param>} for every parameter, and
     * the step count as metadata {@code step}. A parameter not updated yet has no state in the optimiser; it is
     * written as zeros, which is what its state starts as. Every parameter of the GPT is updated in every step, so
     * all share one count; should one ever differ (a parameter that had no gradient in some step), it is written
     * beside as {@code step.<param>}.
     */
    private void writeOptimizer(Path file) throws IOException {
        Map<Integer, Adam.ParamState> state = opt.stateDict();
        List<String> names = stateNames();
        long step = 0;
        for (Adam.ParamState s : state.values()) step = Math.max(step, s.step());
        Safetensors.Writer w = Safetensors.writer().metadata("step", Long.toString(step));
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            Adam.ParamState s = state.get(i);
            int[] shape = params.get(n).shape();
            w.put("exp_avg." + n, s != null ? s.expAvg() : Tensor.zeros(shape));
            w.put("exp_avg_sq." + n, s != null ? s.expAvgSq() : Tensor.zeros(shape));
            long own = s != null ? s.step() : 0;
            if (own != step) w.metadata("step." + n, Long.toString(own));
        }
        w.write(file);
    }

    /** Restores the optimiser from {@link #writeOptimizer}'s file; every parameter's moments must be present. */
    private void readOptimizer(Path file) throws IOException {
        try (SafetensorsFile f = Safetensors.read(file)) {
            long step = stepCount(file, "step", f.metadata().get("step"));
            List<String> names = stateNames();
            Map<Integer, Adam.ParamState> state = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                String n = names.get(i), own = f.metadata().get("step." + n);
                if (!f.contains("exp_avg." + n) || !f.contains("exp_avg_sq." + n))
                    throw new IllegalArgumentException("optimizer state " + file + ": moments of '" + n + "' are missing");
                state.put(i, new Adam.ParamState(own != null ? stepCount(file, "step." + n, own) : step,
                        f.tensor("exp_avg." + n), f.tensor("exp_avg_sq." + n)));
            }
            try {
                opt.loadStateDict(state);
            } catch (IllegalArgumentException e) { // a moment of the wrong shape
                throw new IllegalArgumentException("optimizer state " + file + ": " + e.getMessage(), e);
            }
        }
    }

    /** A step count from the optimiser file's metadata, or an exception that names the file and the key. */
    private static long stepCount(Path file, String key, String value) {
        if (value == null) throw new IllegalArgumentException("optimizer state " + file + ": metadata '" + key + "' is missing");
        try {
            long v = Long.parseLong(value.trim());
            if (v >= 0) return v;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("optimizer state " + file + ": metadata '" + key + "' is not a step count: '" + value + "'");
    }

    /** The parameter names in the optimiser's numbering ({@link Optimizer#parameters()}). */
    private List<String> stateNames() {
        IdentityHashMap<Variable, String> byParam = new IdentityHashMap<>();
        params.forEach((n, p) -> byParam.put(p, n));
        return opt.parameters().stream().map(byParam::get).toList();
    }

    /**
     * Loads a checkpoint written by {@link #save} to continue training on {@code text} (the same corpus). A file
     * that is malformed, or does not fit the others, is an {@link IllegalArgumentException} naming it.
     */
    public static Trainer resume(Path dir, String text, Options override) throws IOException {
        GptConfig cfg = readConfigJson(dir.resolve(GPT));
        Path tokFile = dir.resolve(Tokenizer.FILE_NAME);
        Tokenizer tok = Tokenizer.load(tokFile);
        if (tok.vocabSize() > cfg.vocabSize())
            throw new IllegalArgumentException(tokFile + ": the tokenizer has " + tok.vocabSize() + " tokens but " + dir.resolve(GPT)
                    + " has a vocabulary of " + cfg.vocabSize());
        Path stateFile = dir.resolve(STATE);
        Map<String, Object> st = readObject(stateFile);
        Options o = override != null ? override : optionsFrom(st, stateFile);
        Gpt model = HfGpt2.newModelFor(cfg, dir.resolve(GPT), dir.resolve(HfGpt2.WEIGHTS));
        HfGpt2.loadWeights(model, dir.resolve(HfGpt2.WEIGHTS));
        Trainer t;
        try {
            t = new Trainer(model, tok, text, o);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
        t.readOptimizer(dir.resolve(OPTIM));
        try {
            t.iter = nonNegativeInt(st.get("iter"), "iter");
            t.batchRng = Rng.restore(toLongs(st.get("batch_rng"), "batch_rng"));
            t.batcher = new Batcher(t.trainIds, o.batchSize(), cfg.blockSize(), t.batchRng);
            model.setDropoutRng(Rng.restore(toLongs(st.get("dropout_rng"), "dropout_rng")));
            for (Object x : Json.asList(st.get("train_loss"), "train_loss")) t.trainLoss.add(Json.asDouble(x, "train_loss"));
            for (Object x : Json.asList(st.get("eval_iter"), "eval_iter")) t.evalIter.add(nonNegativeInt(x, "eval_iter"));
            for (Object x : Json.asList(st.get("eval_loss"), "eval_loss")) t.evalLoss.add(Json.asDouble(x, "eval_loss"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(stateFile + ": " + e.getMessage(), e);
        }
        return t;
    }

    /** The model and tokenizer of a checkpoint (for sampling). */
    public static Gpt loadModel(Path dir) throws IOException {
        Path exact = dir.resolve(GPT);
        Path cfgFile = Files.exists(exact) ? exact : dir.resolve(GptConfig.HF_FILE);
        GptConfig cfg = Files.exists(exact) ? readConfigJson(exact) : GptConfig.readHf(cfgFile);
        Gpt model = HfGpt2.newModelFor(cfg, cfgFile, dir.resolve(HfGpt2.WEIGHTS));
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

    /** The exact config of {@link #configJson}; a malformed one is an {@link IllegalArgumentException}. */
    public static GptConfig readConfigJson(String json) {
        return configFrom(Json.asMap(Json.parse(json), "gpt.json"));
    }

    private static GptConfig configFrom(Map<String, Object> m) {
        return new GptConfig(Json.asInt(m.get("vocab_size"), "vocab_size"), Json.asInt(m.get("block_size"), "block_size"),
                Json.asInt(m.get("n_layer"), "n_layer"), Json.asInt(m.get("n_head"), "n_head"), Json.asInt(m.get("n_embd"), "n_embd"),
                Json.asDouble(m.get("dropout"), "dropout"), Json.asBoolean(m.get("bias"), "bias"),
                activation(Json.asString(m.get("activation"), "activation")), Json.asDouble(m.get("layer_norm_eps"), "layer_norm_eps"));
    }

    /** {@link #readConfigJson(String)} of a file; errors name it. */
    static GptConfig readConfigJson(Path file) throws IOException {
        Map<String, Object> m = readObject(file);
        try {
            return configFrom(m);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static GptConfig.Activation activation(String name) {
        for (GptConfig.Activation a : GptConfig.Activation.values()) if (a.name().equals(name)) return a;
        throw new IllegalArgumentException("activation: \"" + name + "\" is not one of " + Arrays.toString(GptConfig.Activation.values()));
    }

    /** A JSON file holding an object; errors (not JSON, not UTF-8, not an object) name the file. */
    private static Map<String, Object> readObject(Path file) throws IOException {
        Object v = Json.read(file);
        if (!(v instanceof Map<?, ?>)) throw new IllegalArgumentException(file + ": expected a JSON object, got " + (v == null ? "null" : "a " + v.getClass().getSimpleName()));
        return Json.asMap(v, file.toString());
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

    /** The largest batch a checkpoint may ask for (rows of block-size tokens). */
    static final int MAX_BATCH = 1 << 16;

    /** The recipe in {@code trainer.json}'s {@code options}, each value checked; errors name the file and the key. */
    private static Options optionsFrom(Map<String, Object> st, Path file) {
        try {
            Map<String, Object> m = Json.asMap(st.get("options"), "options");
            int batch = Json.asInt(m.get("batch_size"), "options.batch_size");
            if (batch <= 0 || batch > MAX_BATCH) throw new IllegalArgumentException("options.batch_size must be in [1, " + MAX_BATCH + "], got " + batch);
            return new Options(batch, rate(m, "lr"), rate(m, "min_lr"), nonNegativeInt(m.get("warmup_iters"), "options.warmup_iters"),
                    nonNegativeInt(m.get("decay_iters"), "options.decay_iters"), rate(m, "weight_decay"), beta(m, "beta1"), beta(m, "beta2"),
                    rate(m, "grad_clip"), nonNegativeInt(m.get("eval_interval"), "options.eval_interval"),
                    nonNegativeInt(m.get("eval_iters"), "options.eval_iters"), nonNegativeInt(m.get("log_interval"), "options.log_interval"),
                    Json.asLong(m.get("seed"), "options.seed"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static double rate(Map<String, Object> m, String key) {
        double v = Json.asDouble(m.get(key), "options." + key);
        if (!(v >= 0) || !Double.isFinite(v)) throw new IllegalArgumentException("options." + key + " must be finite and >= 0, got " + v);
        return v;
    }

    private static double beta(Map<String, Object> m, String key) {
        double v = Json.asDouble(m.get(key), "options." + key);
        if (!(v >= 0 && v < 1)) throw new IllegalArgumentException("options." + key + " must be in [0, 1), got " + v);
        return v;
    }

    private static int nonNegativeInt(Object v, String what) {
        int i = Json.asInt(v, what);
        if (i < 0) throw new IllegalArgumentException(what + " must be >= 0, got " + i);
        return i;
    }

    /** The recipe stored in a checkpoint. */
    public static Options readOptions(Path dir) throws IOException {
        Path file = dir.resolve(STATE);
        return optionsFrom(readObject(file), file);
    }

    private static List<Object> longs(long[] a) {
        List<Object> l = new ArrayList<>();
        for (long x : a) l.add(Long.toString(x)); // as strings: JSON readers round big longs through double
        return l;
    }

    /** A generator state written by {@link #longs}: an array of decimal strings (or integers). */
    private static long[] toLongs(Object o, String what) {
        List<Object> l = Json.asList(o, what);
        long[] a = new long[l.size()];
        for (int i = 0; i < a.length; i++) {
            Object x = l.get(i);
            if (x instanceof String str) {
                try {
                    a[i] = Long.parseLong(str);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(what + "[" + i + "]: \"" + str + "\" is not a 64-bit integer");
                }
            } else {
                a[i] = Json.asLong(x, what + "[" + i + "]");
            }
        }
        return a;
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) Files.deleteIfExists(x);
        }
    }

    @Override
    public String toString() {
        return "Trainer[iter=" + iter + ", " + Arrays.toString(new int[] {trainIds.length, valIds.length}) + " tokens]";
    }
}
