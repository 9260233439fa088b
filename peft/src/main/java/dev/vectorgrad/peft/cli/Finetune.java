package dev.vectorgrad.peft.cli;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Adam;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.LrSchedule;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.peft.LoraDrop;
import dev.vectorgrad.peft.LoraGa;
import dev.vectorgrad.peft.LoraProOptimizer;
import dev.vectorgrad.peft.Methods;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.AtomicFiles;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.HfGpt2;
import dev.vectorgrad.transformer.data.Batcher;
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
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One {@code ./vectorgrad finetune} run: a base GPT (Hugging Face GPT-2 folder or vectorgrad checkpoint), a PEFT
 * method with PEFT's defaults, the shared {@link TrainLoop} (AdamW β = 0.9, 0.999, no weight decay, gradient
 * clipping at 1.0, linear decay to 0 over the run: transformers' {@code Trainer} defaults), and an output folder
 * rewritten atomically at every evaluation and at the end:
 * <ul>
 * <li>the result: a PEFT adapter directory ({@code adapter_config.json} + {@code adapter_model.safetensors};
 * PiSSA / MiLoRA / LoRA-GA converted to plain rank-2r LoRA on the original base; LoRA-Pro's a plain LoRA) for the
 * methods PEFT can load (vectorgrad's own folder for FLoRA and the bottleneck adapters); for BitFit {@value #BITFIT_FILE}
 * ({@link Methods#saveTrained}: the trained biases under the model's names); for {@code full} a checkpoint
 * ({@code config.json} + {@code model.safetensors} + {@code gpt.json} + the tokenizer) that {@code sample --model} reads;</li>
 * <li>what {@code --resume} needs: {@value #TRAINABLE} (every trained tensor, as the model holds it: for PiSSA the
 * factors on the rewritten base), {@value #OPTIM} (Adam's moments and step; for LoRA-Pro its full-size moments),
 * {@value #STATE} (the options, the step, both generators, the loss history), for AdaLoRA {@value #ALLOCATOR} (the
 * rank allocator's importance EMAs and kept-triplet patterns), for LoRA-GA {@value #GA_INIT} (its init, A₀ and B₀,
 * so that a resumed run rewrites the base exactly as the first did, without estimating the gradients again), and
 * {@value #PLOT}.</li>
 * </ul>
 * Everything random (adapter init, batches, dropout) comes from the seed, so a run resumed at step k writes
 * bit-identical weights to an uninterrupted one.
 *
 * <p>Per-step extras through the loop: AdaLoRA adds its orthogonal regulariser ({@code orth_reg_weight}·R) to the
 * training loss (as PEFT's model does when it computes the loss; the validation loss is the language-model loss
 * alone, comparable across methods) and runs PEFT's {@code update_and_allocate(global_step)} as a
 * {@link TrainLoop.StepHook}, after the optimiser step and before the gradients are cleared, with total_step =
 * {@code --iters}. LoRA-GA estimates the gradients on {@code --ga-batches} batches of the training split (their
 * own generator, in training mode as PEFT's {@code preprocess_loraga}) before the first step. LoRA-Drop
 * ({@link LoraDrop}) trains a plain LoRA for its sample phase (the first 10% of the steps, at least 1), which ends
 * with an evaluation and a checkpoint; then the importance over that phase's batches selects the modules that keep
 * their LoRA (T = 0.9), the others share one pair per module name and shape, the structure restarts from LoRA's
 * init with a fresh optimiser, and {@value #STATE} records the selection ({@code lora_drop}) for {@code --resume};
 * {@value #DROP_FILE} stores each shared pair once, the PEFT folder once per module.
 */
public final class Finetune {
    static final String STATE = "finetune.json", OPTIM = "optimizer.safetensors", TRAINABLE = "trainable.safetensors", PLOT = "loss.png",
            BITFIT_FILE = "bitfit.safetensors", DROP_FILE = "lora_drop.safetensors", ALLOCATOR = "allocator.safetensors", GA_INIT = "lora_ga_init.safetensors", ADAPTER = "default";
    static final List<String> METHODS = List.of("lora", "rslora", "lora+", "lora-fa", "lora-pro", "lora-ga", "lora-drop", "pissa", "milora", "dora",
            "adalora", "flora", "vera", "houlsby", "pfeiffer", "bitfit", "full");
    /** AdaLoRA's target_r when not given: PEFT's 8, or init_r when that is smaller (nothing pruned). */
    static final int ADALORA_TARGET_R = 8;
    /** LoRA-GA's gradient-estimation batches when not given. */
    static final int GA_BATCHES = 8;
    /** The largest --batch a saved run may hold (rows of --block tokens). */
    static final int MAX_BATCH = 1 << 16;
    /** PEFT's GPT-2 target (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING / ..._VERA_...). */
    static final List<String> GPT2_TARGETS = List.of("c_attn");

    /**
     * The recipe; {@code r}, {@code alpha}, {@code targets} are unused (0, NaN, empty) for bitfit and full;
     * {@code targetR} is AdaLoRA's target_r ({@code r} is its init_r) and {@code gaBatches} LoRA-GA's
     * gradient-estimation batches, each 0 for the other methods.
     */
    public record Options(String method, int r, double alpha, List<String> targets, int iters, int batch, int block, double lr, int gradAccum,
                          int evalInterval, int evalIters, long seed, int targetR, int gaBatches) {
        public Options {
            targets = List.copyOf(targets);
        }

        /** With the method's defaults for {@code targetR} and {@code gaBatches}. */
        public Options(String method, int r, double alpha, List<String> targets, int iters, int batch, int block, double lr, int gradAccum,
                       int evalInterval, int evalIters, long seed) {
            this(method, r, alpha, targets, iters, batch, block, lr, gradAccum, evalInterval, evalIters, seed,
                    method.equals("adalora") ? Math.min(ADALORA_TARGET_R, r) : 0, method.equals("lora-ga") ? GA_BATCHES : 0);
        }

        public Options withIters(int n) {
            return new Options(method, r, alpha, targets, n, batch, block, lr, gradAccum, evalInterval, evalIters, seed, targetR, gaBatches);
        }

        public Options withEvalInterval(int n) {
            return new Options(method, r, alpha, targets, iters, batch, block, lr, gradAccum, n, evalIters, seed, targetR, gaBatches);
        }

        public Options withTargetR(int t) {
            return new Options(method, r, alpha, targets, iters, batch, block, lr, gradAccum, evalInterval, evalIters, seed, t, gaBatches);
        }

        public Options withGaBatches(int n) {
            return new Options(method, r, alpha, targets, iters, batch, block, lr, gradAccum, evalInterval, evalIters, seed, targetR, n);
        }
    }

    /** Whether the method trains an adapter (LoRA / VeRA family) rather than the model's own weights. */
    static boolean isAdapter(String method) {
        return !method.equals("bitfit") && !method.equals("full");
    }

    /** PEFT's default rank of a method (LoRA 8, AdaLoRA's init_r 12, VeRA 256); 0 for bitfit and full. */
    static int defaultR(String method) {
        return switch (method) {
            case "vera" -> 256;
            case "adalora" -> 12;
            case "bitfit", "full" -> 0;
            default -> 8;
        };
    }

    /** The default learning rate (the demo's, not tuned per model): LoRA family 2e-3 (LoRA+: A's, B at 16×), VeRA 1e-2, BitFit 3e-3, full 5e-4. */
    static double defaultLr(String method) {
        return switch (method) {
            case "vera" -> 1e-2;
            case "bitfit" -> 3e-3;
            case "full" -> 5e-4;
            case "lora+" -> 5e-4;
            default -> 2e-3;
        };
    }

    private final Options o;
    private final Path modelDir;
    private final Gpt model;
    private final Tokenizer tokenizer;
    private final PeftModel pm;
    private final int[] trainIds, valIds;
    private final List<Batcher.Batch> evalBatches = new ArrayList<>();
    private LinkedHashMap<String, Variable> params;
    private List<Variable> trainable;
    private Optimizer opt;
    private final TrainLoop.Objective objective;
    private TrainLoop loop;
    private final LrSchedule schedule;
    /** LoRA-Drop: the steps of its sample phase (-1 for the other methods) and, once restructured, the selection. */
    private final int dropSample;
    private LoraDrop.Selection dropSelection;
    private Rng batchRng;
    private Batcher batcher;

    /**
     * Sets a run up, validating everything before anything is written: the model folder, the text (long enough
     * for one block in both splits), the method, the targets and the rank. Errors are {@link IllegalArgumentException}s
     * (or {@link IOException}s for unreadable files) whose message names what is wrong.
     */
    public Finetune(Path modelDir, String text, Options o) throws IOException {
        this(modelDir, text, o, null);
    }

    /** As the public constructor; LoRA-GA takes its init from {@code gaInit} (a {@value #GA_INIT}) when that is not null. */
    private Finetune(Path modelDir, String text, Options o, Path gaInit) throws IOException {
        if (!METHODS.contains(o.method()))
            throw new IllegalArgumentException("unknown method '" + o.method() + "' (methods: " + String.join(", ", METHODS) + ")");
        if (!Files.isDirectory(modelDir)) throw new IllegalArgumentException("--model " + modelDir + ": no such directory");
        if (o.batch() < 1 || o.gradAccum() < 1 || o.iters() < 0 || o.evalInterval() < 1 || o.evalIters() < 1)
            throw new IllegalArgumentException("--batch, --grad-accum, --eval-interval must be >= 1 and --iters >= 0");
        if (!(o.lr() > 0)) throw new IllegalArgumentException("--lr must be positive, got " + o.lr());
        if (o.method().equals("lora-ga") && o.gaBatches() < 1) throw new IllegalArgumentException("--ga-batches must be >= 1, got " + o.gaBatches());
        this.o = o;
        this.modelDir = modelDir;
        this.model = Trainer.loadModel(modelDir);
        this.tokenizer = Tokenizer.ofModel(modelDir);
        if (tokenizer.vocabSize() > model.config().vocabSize())
            throw new IllegalArgumentException("the tokenizer of " + modelDir + " has " + tokenizer.vocabSize() + " ids, the model only "
                    + model.config().vocabSize());
        if (o.block() < 1 || o.block() > model.config().blockSize())
            throw new IllegalArgumentException("--block " + o.block() + " must be in [1, " + model.config().blockSize() + "] (the model's block size)");
        TextSplit split = TextSplit.of(text);
        this.trainIds = tokenizer.encode(split.train());
        this.valIds = tokenizer.encode(split.val());
        if (trainIds.length < o.block() + 1 || valIds.length < o.block() + 1)
            throw new IllegalArgumentException("the text is too short: " + trainIds.length + " training and " + valIds.length
                    + " validation tokens (90% / 10%), each needs more than one block of " + o.block() + " (give a longer text or a smaller --block)");

        model.train(true);
        model.setDropoutRng(new Rng(o.seed()).fork(3));
        PeftModel p = null;
        switch (o.method()) {
            case "full" -> Methods.fullFineTune(model);
            case "bitfit" -> {
                model.requiresGrad(false);
                if (Methods.bitFit(model) == 0) throw new IllegalArgumentException("bitfit: the model has no biases (" + modelDir + ")");
            }
            case "lora-ga" -> {
                PeftConfig cfg = peftConfig(o);
                if (gaInit != null) {
                    p = LoraGa.wrapFromInit(model, cfg, gaInit);
                } else {
                    // PEFT's preprocess_loraga: the user's train step in training mode; here --ga-batches batches of the
                    // training split from their own generator (and dropout stream), so the training batches are unchanged
                    Batcher gb = new Batcher(trainIds, o.batch(), o.block(), new Rng(o.seed()).fork(4));
                    model.setDropoutRng(new Rng(o.seed()).fork(5));
                    p = LoraGa.wrap(model, cfg, o.gaBatches(), i -> {
                        Batcher.Batch b = gb.next();
                        model.loss(b.x(), b.y()).backward();
                    }, new LoraGa.Options(LoraGa.Direction.ARB2R, LoraGa.Scale.PEFT_STABLE, 16, o.seed()));
                    model.setDropoutRng(new Rng(o.seed()).fork(3));
                }
            }
            default -> p = PeftModel.wrap(model, peftConfig(o));
        }
        this.pm = p;
        // LoRA-Drop: its sample phase is the first 10% of the budget (at least 1 step, and one step must remain)
        this.dropSample = o.method().equals("lora-drop") ? LoraDrop.sampleSteps(o.iters(), LoraDrop.DEFAULT_SAMPLE_FRACTION) : -1;
        if (dropSample > 0) LoraDrop.parameters(pm, ADAPTER); // refuses now, not after the sample phase, what LoRA-Drop cannot share (an embedding target)
        Batcher vb = new Batcher(valIds, o.batch(), o.block(), new Rng(o.seed()).fork(1));
        for (int i = 0; i < o.evalIters(); i++) evalBatches.add(vb.next());
        this.batchRng = new Rng(o.seed()).fork(2);
        this.batcher = new Batcher(trainIds, o.batch(), o.block(), batchRng);
        this.schedule = LrSchedule.linear(0, o.iters(), 0.0); // transformers' default: linear decay to 0, no warm-up
        boolean adalora = o.method().equals("adalora");
        // AdaLoRA: the orthogonal regulariser joins the training loss (not the validation loss: evaluation runs in eval mode)
        this.objective = adalora
                ? b -> model.isTraining() ? model.loss(b.x(), b.y()).add(pm.rankAllocator().orthogonalLoss()) : model.loss(b.x(), b.y())
                : b -> model.loss(b.x(), b.y());
        setUpTraining();
    }

    /** The optimiser over the trainable parameters and the loop (again after LoRA-Drop's restructure: a fresh optimiser, as the demo). */
    private void setUpTraining() {
        this.opt = switch (o.method()) {
            case "lora+" -> Methods.loraPlusAdamW(model, o.lr(), Methods.LORA_PLUS_RATIO, 0.0);
            case "lora-fa" -> Methods.loraFaAdamW(pm, o.lr(), 0.0);
            case "lora-pro" -> Methods.loraProAdamW(pm, o.lr(), 0.0);
            default -> {
                List<Variable> ps = new ArrayList<>();
                for (Variable v : model.parameters()) if (v.requiresGrad()) ps.add(v);
                yield new AdamW(List.of(ParamGroup.of(ps).lr(o.lr())), o.lr(), 0.9, 0.999, 1e-8, 0.0);
            }
        };
        this.trainable = new ArrayList<>();
        for (Variable v : model.parameters()) if (v.requiresGrad()) trainable.add(v); // a LoRA-Drop shared pair once
        this.params = model.namedParameters();
        this.loop = new TrainLoop(model, objective, trainable, opt, (op, s) -> op.applySchedule(schedule, s), 1.0, o.gradAccum(), () -> batcher.next());
        // PEFT's update_and_allocate(global_step) with global_step counted from 0, after optimizer.step(), before zero_grad()
        if (o.method().equals("adalora")) loop.onStep(s -> pm.updateAndAllocate(s - 1));
    }

    /**
     * LoRA-Drop after its sample phase: the importance Σ‖ΔW·x‖² of every module over the sample (the phase's
     * micro-batches, drawn again from the training generator's seed, so a resumed run sees the same ones), the
     * selection at T = 0.9, and the restructure ({@link #applySelection}).
     */
    private void dropRestructure() {
        List<Batcher.Batch> sample = new ArrayList<>();
        Batcher sb = new Batcher(trainIds, o.batch(), o.block(), new Rng(o.seed()).fork(2)); // the training batches' stream
        for (int i = 0; i < dropSample * o.gradAccum(); i++) sample.add(sb.next());
        LinkedHashMap<String, Double> imp = LoraDrop.importance(pm, ADAPTER, () -> {
            for (Batcher.Batch b : sample) model.forward(b.x());
        });
        applySelection(LoraDrop.select(pm, ADAPTER, LoraDrop.normalise(imp), LoraDrop.DEFAULT_THRESHOLD));
    }

    /** Restructures the adapter as {@code sel} says (from LoRA's init) and starts a fresh optimiser; the loop's step and history carry over. */
    private void applySelection(LoraDrop.Selection sel) {
        LoraDrop.restructure(pm, ADAPTER, sel);
        dropSelection = sel;
        int step = loop.step();
        List<Double> train = loop.trainLosses(), evalLosses = loop.evalLosses();
        List<Integer> evalSteps = loop.evalSteps();
        setUpTraining();
        loop.restore(step, train, evalSteps, evalLosses);
    }

    /** The adapter config of an adapter method with PEFT's defaults for it. */
    static PeftConfig peftConfig(Options o) {
        String[] t = o.targets().toArray(String[]::new);
        PeftConfig.Builder b = switch (o.method()) {
            case "vera" -> PeftConfig.vera(o.r(), 0, t);
            case "rslora" -> PeftConfig.lora(o.r(), o.alpha(), t).rslora(true);
            case "pissa" -> PeftConfig.lora(o.r(), o.alpha(), t).init(PeftConfig.LoraInit.PISSA);
            case "milora" -> PeftConfig.lora(o.r(), o.alpha(), t).init(PeftConfig.LoraInit.MILORA);
            case "lora-fa" -> PeftConfig.lora(o.r(), o.alpha(), t).freezeA(true);
            case "dora" -> PeftConfig.lora(o.r(), o.alpha(), t).dora(true);
            // AdaLoRA: --r is init_r; total_step = --iters, PEFT's other defaults (tinit = tfinal = 0, deltaT 1, β 0.85, orth_reg_weight 0.5)
            case "adalora" -> PeftConfig.adalora(o.r(), o.targetR(), o.iters()).alpha(o.alpha()).targets(t);
            case "flora" -> PeftConfig.flora(o.r()).alpha(o.alpha()).targets(t);
            // bottleneck adapters place themselves (AdapterHub's configs: the output projections), so --targets does not apply
            case "houlsby" -> PeftConfig.houlsby();
            case "pfeiffer" -> PeftConfig.pfeiffer();
            default -> PeftConfig.lora(o.r(), o.alpha(), t);
        };
        // GPT-2's c_attn / c_proj / c_fc are Conv1D layers, for which PEFT forces fan_in_fan_out to true and writes it so
        return b.fanInFanOut(true).seed(o.seed()).build();
    }

    /** The loss the loop trains on (AdaLoRA: plus the orthogonal regulariser in training mode). */
    TrainLoop.Objective objective() {
        return objective;
    }

    /** The optimiser (Adam / AdamW, LoRA-FA's, or LoRA-Pro's). */
    Optimizer optimizer() {
        return opt;
    }

    public Options options() {
        return o;
    }

    public int step() {
        return loop.step();
    }

    public Gpt model() {
        return model;
    }

    public PeftModel peftModel() {
        return pm;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public long trainableParameters() {
        long n = 0;
        for (Variable v : trainable) n += v.numel();
        return n;
    }

    public int trainTokens() {
        return trainIds.length;
    }

    public int valTokens() {
        return valIds.length;
    }

    /** Mean loss over the fixed validation batches (the same at every evaluation, and across a resume). */
    public double evaluate() {
        return loop.evaluate(evalBatches);
    }

    /**
     * Trains until step {@code stop} (at most {@link Options#iters()}: the schedule spans that), writing {@code out}
     * at every evaluation and at the end; prints the progress lines and, last, {@code val loss: X}.
     */
    public TrainLoop.Result run(int stop, Path out, PrintStream log, boolean inPlace) throws IOException {
        int end = Math.min(stop, o.iters());
        if (dropSample > 0 && dropSelection == null) { // LoRA-Drop's sample phase ends with an evaluation and a checkpoint
            TrainLoop.Result r = runLoop(Math.min(end, dropSample), out, log, inPlace);
            if (end <= dropSample) return r;
            dropRestructure();
            log.println(String.format(Locale.ROOT, "lora-drop: after %d sample steps %d of %d modules keep their LoRA (importance %.3f of T = %.1f), "
                            + "the other %d share %d pairs; %,d trainable parameters from here", dropSample, dropSelection.kept().size(),
                    dropSelection.importance().size(), dropSelection.keptImportance(), dropSelection.threshold(), dropSelection.shared().size(),
                    dropSelection.groups().size(), trainableParameters()));
        }
        return runLoop(end, out, log, inPlace);
    }

    private TrainLoop.Result runLoop(int end, Path out, PrintStream log, boolean inPlace) throws IOException {
        return loop.run(end, new TrainLoop.Schedule(Math.max(1, o.evalInterval() / 5), o.evalInterval(), 0),
                (long) o.batch() * o.gradAccum() * o.block(), this::evaluate, () -> save(out), log, inPlace);
    }

    // ---------------------------------------------------------------- the output folder

    /** Writes the output folder (described at the class) atomically. */
    public void save(Path out) throws IOException {
        Checkpoints.writeDirectory(out, tmp -> {
            switch (o.method()) {
                case "full" -> {
                    HfGpt2.save(model, tmp);
                    AtomicFiles.writeString(tmp.resolve("gpt.json"), Trainer.configJson(model.config()));
                    tokenizer.save(tmp.resolve(Tokenizer.FILE_NAME));
                }
                case "bitfit" -> Methods.saveTrained(model, tmp.resolve(BITFIT_FILE));
                default -> PeftFiles.save(pm, ADAPTER, tmp);
            }
            if (!o.method().equals("full")) Methods.saveTrained(model, tmp.resolve(TRAINABLE));
            if (opt instanceof LoraProOptimizer pro) writeLoraPro(pro, params, tmp.resolve(OPTIM));
            else Checkpoints.writeOptimizer((Adam) opt, params, tmp.resolve(OPTIM));
            if (o.method().equals("adalora")) {
                Safetensors.Writer w = Safetensors.writer().metadata("format", "vectorgrad-adalora-allocator");
                pm.rankAllocator().state().forEach(w::put);
                w.write(tmp.resolve(ALLOCATOR));
            }
            if (o.method().equals("lora-ga")) LoraGa.saveInit(pm, ADAPTER, tmp.resolve(GA_INIT));
            if (dropSelection != null) LoraDrop.save(pm, ADAPTER, tmp.resolve(DROP_FILE), dropSelection); // each shared pair once
            Map<String, Object> st = new LinkedHashMap<>();
            st.put("base_model", modelDir.toAbsolutePath().toString());
            st.put("options", optionsMap(o));
            st.put("train_tokens", (long) trainIds.length);
            st.put("val_tokens", (long) valIds.length);
            Checkpoints.putHistory(loop, st);
            st.put("batch_rng", Checkpoints.longs(batchRng.snapshot()));
            st.put("dropout_rng", Checkpoints.longs(model.dropoutRng().snapshot()));
            if (dropSelection != null) st.put("lora_drop", selectionMap(dropSelection));
            AtomicFiles.writeString(tmp.resolve(STATE), Json.writePretty(st) + "\n");
            loop.writePlot(tmp.resolve(PLOT), "finetune " + o.method());
        });
    }

    /** Whether {@code out} holds a run to resume. */
    static boolean isRun(Path out) {
        return Files.isRegularFile(out.resolve(STATE));
    }

    /** The options a run in {@code out} was started with; a malformed {@value #STATE} is an error naming the file and the key. */
    public static Options readOptions(Path out) throws IOException {
        return readState(out.resolve(STATE)).options();
    }

    /** What {@value #STATE} holds, each value checked; {@code json} is the whole object (the history and generators are read from it on resume). */
    record State(Options options, int trainTokens, int valTokens, int step, LoraDrop.Selection dropSelection, Map<String, Object> json) {}

    /**
     * Reads {@value #STATE} strictly: a JSON object whose {@code options} hold a known method and values in range,
     * {@code train_tokens} and {@code val_tokens} counts, and {@code base_model} a string when present. Anything
     * else is an {@link IllegalArgumentException} naming the file and the key.
     */
    static State readState(Path file) throws IOException {
        Object v = Json.read(file); // not UTF-8 / not JSON: names the file
        try {
            Map<String, Object> st = Json.asMap(v, "the top level");
            if (st.containsKey("base_model")) Json.asString(st.get("base_model"), "base_model");
            return new State(optionsFrom(Json.asMap(st.get("options"), "options")), count(st.get("train_tokens"), "train_tokens", 0),
                    count(st.get("val_tokens"), "val_tokens", 0), count(st.get("iter"), "iter", 0),
                    st.get("lora_drop") == null ? null : selectionFrom(Json.asMap(st.get("lora_drop"), "lora_drop")), st);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Continues the run saved in {@code out}: the same base model and text, options equal to the saved ones but for
     * {@code iters} and {@code evalInterval}. Sets the run up as a fresh one (same seed, same adapter init; LoRA-GA's
     * init read back from {@value #GA_INIT}), then puts back the trained tensors, the optimiser's state, AdaLoRA's
     * allocator, both generators and the history. A malformed or mismatched file is an
     * {@link IllegalArgumentException} naming it.
     */
    public static Finetune resume(Path modelDir, String text, Path out, Options o) throws IOException {
        Path stateFile = out.resolve(STATE);
        State st = readState(stateFile);
        Options saved = st.options();
        Options same = saved.withIters(o.iters()).withEvalInterval(o.evalInterval());
        if (!same.equals(o))
            throw new IllegalArgumentException("--resume: the options differ from those of the run in " + stateFile + " (" + differences(saved, o)
                    + "); only --iters and --eval-interval may change");
        Finetune f = new Finetune(modelDir, text, o, o.method().equals("lora-ga") ? out.resolve(GA_INIT) : null);
        if (st.trainTokens() != f.trainIds.length || st.valTokens() != f.valIds.length)
            throw new IllegalArgumentException("--resume: the run in " + stateFile + " was trained on " + st.trainTokens() + " + " + st.valTokens()
                    + " tokens, this --data has " + f.trainIds.length + " + " + f.valIds.length + " (not the same text)");
        if (o.method().equals("lora-drop")) {
            int at = st.step();
            LoraDrop.Selection sel = st.dropSelection();
            if (at > f.dropSample && sel == null)
                throw new IllegalArgumentException(stateFile + ": lora_drop: missing for a run at step " + at + ", past its " + f.dropSample + " sample steps");
            if (at <= f.dropSample && sel != null)
                throw new IllegalArgumentException(stateFile + ": lora_drop: a selection in a run at step " + at + ", inside its " + f.dropSample + " sample steps");
            if (sel != null) {
                try {
                    // the structure must be the one its importance and threshold give (a changed kept / shared would not fit the tensors)
                    LoraDrop.Selection again = LoraDrop.select(f.pm, ADAPTER, sel.importance(), sel.threshold());
                    if (!again.kept().equals(sel.kept()) || !again.shared().equals(sel.shared()))
                        throw new IllegalArgumentException("kept " + sel.kept() + " and shared " + sel.shared() + " are not what its importance and threshold select (kept "
                                + again.kept() + ", shared " + again.shared() + ")");
                    f.applySelection(sel);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(stateFile + ": lora_drop: " + e.getMessage(), e);
                }
            }
        }
        if (o.method().equals("full")) HfGpt2.loadWeights(f.model, out.resolve(HfGpt2.WEIGHTS));
        else Methods.loadTrained(f.model, out.resolve(TRAINABLE));
        if (f.opt instanceof LoraProOptimizer pro) readLoraPro(pro, f.params, out.resolve(OPTIM));
        else Checkpoints.readOptimizer((Adam) f.opt, f.params, out.resolve(OPTIM));
        if (o.method().equals("adalora")) {
            Path file = out.resolve(ALLOCATOR);
            try (SafetensorsFile sf = Safetensors.read(file)) {
                Map<String, Tensor> state = new LinkedHashMap<>();
                for (String k : sf.names()) state.put(k, sf.tensor(k));
                f.pm.rankAllocator().restore(state);
            } catch (IllegalArgumentException e) {
                throw e.getMessage() != null && e.getMessage().contains(file.toString()) ? e : new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
        }
        try {
            Checkpoints.restoreHistory(f.loop, st.json(), "iter", "eval_iter");
            f.batchRng = rng(st.json(), "batch_rng");
            f.batcher = new Batcher(f.trainIds, o.batch(), o.block(), f.batchRng);
            f.model.setDropoutRng(rng(st.json(), "dropout_rng"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(stateFile + ": " + e.getMessage(), e);
        }
        return f;
    }

    /** The generator saved under {@code key}; errors name the key. */
    private static Rng rng(Map<String, Object> st, String key) {
        long[] snapshot = Checkpoints.toLongs(st.get(key), key);
        try {
            return Rng.restore(snapshot);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- LoRA-Pro's optimiser file

    /**
     * LoRA-Pro's {@value #OPTIM}: {@code exp_avg.<A's name>} and {@code exp_avg_sq.<A's name>} (the full-size
     * moments, out × in) of every LoRA pair, named by the pair's A, and the step count as metadata {@code step}
     * (metadata {@code optimizer} is {@code lora-pro}).
     */
    static void writeLoraPro(LoraProOptimizer pro, Map<String, Variable> params, Path file) throws IOException {
        IdentityHashMap<Variable, String> names = names(pro.pairAs(), params);
        Safetensors.Writer w = Safetensors.writer().metadata("optimizer", "lora-pro").metadata("step", Long.toString(pro.steps()));
        for (Map.Entry<Variable, Tensor[]> e : pro.moments().entrySet()) {
            w.put("exp_avg." + names.get(e.getKey()), e.getValue()[0]);
            w.put("exp_avg_sq." + names.get(e.getKey()), e.getValue()[1]);
        }
        w.write(file);
    }

    /** Reads {@link #writeLoraPro}'s file back into {@code pro}; every pair's moments must be there; errors name the file. */
    static void readLoraPro(LoraProOptimizer pro, Map<String, Variable> params, Path file) throws IOException {
        IdentityHashMap<Variable, String> names = names(pro.pairAs(), params);
        try (SafetensorsFile f = Safetensors.read(file)) {
            String step = f.metadata().get("step");
            long steps;
            try {
                steps = Long.parseLong(step == null ? "" : step.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("metadata 'step' is not a step count: " + (step == null ? "missing" : "'" + step + "'"));
            }
            if (!"lora-pro".equals(f.metadata().get("optimizer"))) throw new IllegalArgumentException("metadata 'optimizer' is not 'lora-pro' (not LoRA-Pro's state)");
            Map<Variable, Tensor[]> state = new IdentityHashMap<>();
            for (Variable a : pro.pairAs()) {
                String n = names.get(a);
                if (!f.contains("exp_avg." + n) || !f.contains("exp_avg_sq." + n)) throw new IllegalArgumentException("moments of '" + n + "' are missing");
                state.put(a, new Tensor[] {f.tensor("exp_avg." + n), f.tensor("exp_avg_sq." + n)});
            }
            if (f.names().size() != 2 * state.size()) throw new IllegalArgumentException(f.names().size() + " tensors, LoRA-Pro's state has " + 2 * state.size());
            pro.loadState(steps, state);
        } catch (IllegalArgumentException e) {
            throw e.getMessage() != null && e.getMessage().contains(file.toString()) ? e : new IllegalArgumentException("optimizer state " + file + ": " + e.getMessage(), e);
        }
    }

    /** The names of {@code vs} in the model ({@code params}: name → parameter). */
    private static IdentityHashMap<Variable, String> names(List<Variable> vs, Map<String, Variable> params) {
        IdentityHashMap<Variable, String> out = new IdentityHashMap<>();
        params.forEach((n, p) -> out.put(p, n));
        for (Variable v : vs) if (!out.containsKey(v)) throw new IllegalStateException("LoRA-Pro: a pair's A has no name in the model");
        return out;
    }

    private static String differences(Options a, Options b) {
        List<String> d = new ArrayList<>();
        if (!a.method().equals(b.method())) d.add("--method " + a.method() + " vs " + b.method());
        if (a.r() != b.r()) d.add("--r " + a.r() + " vs " + b.r());
        if (Double.compare(a.alpha(), b.alpha()) != 0) d.add("--alpha " + a.alpha() + " vs " + b.alpha());
        if (!a.targets().equals(b.targets())) d.add("--targets " + String.join(",", a.targets()) + " vs " + String.join(",", b.targets()));
        if (a.batch() != b.batch()) d.add("--batch " + a.batch() + " vs " + b.batch());
        if (a.block() != b.block()) d.add("--block " + a.block() + " vs " + b.block());
        if (Double.compare(a.lr(), b.lr()) != 0) d.add("--lr " + a.lr() + " vs " + b.lr());
        if (a.gradAccum() != b.gradAccum()) d.add("--grad-accum " + a.gradAccum() + " vs " + b.gradAccum());
        if (a.evalIters() != b.evalIters()) d.add("--eval-iters " + a.evalIters() + " vs " + b.evalIters());
        if (a.seed() != b.seed()) d.add("--seed " + a.seed() + " vs " + b.seed());
        if (a.targetR() != b.targetR()) d.add("--target-r " + a.targetR() + " vs " + b.targetR());
        if (a.gaBatches() != b.gaBatches()) d.add("--ga-batches " + a.gaBatches() + " vs " + b.gaBatches());
        return "saved vs given: " + String.join(", ", d);
    }

    private static Map<String, Object> optionsMap(Options o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", o.method());
        m.put("r", (long) o.r());
        m.put("alpha", Double.isNaN(o.alpha()) ? null : o.alpha());
        m.put("targets", new ArrayList<Object>(o.targets()));
        m.put("iters", (long) o.iters());
        m.put("batch", (long) o.batch());
        m.put("block", (long) o.block());
        m.put("lr", o.lr());
        m.put("grad_accum", (long) o.gradAccum());
        m.put("eval_interval", (long) o.evalInterval());
        m.put("eval_iters", (long) o.evalIters());
        m.put("seed", Long.toString(o.seed()));
        m.put("target_r", (long) o.targetR());
        m.put("ga_batches", (long) o.gaBatches());
        return m;
    }

    /**
     * The options of {@link #optionsMap}, each checked: {@code method} one of {@link #METHODS}, {@code alpha} null or
     * finite, {@code targets} strings, counts in range, {@code lr} finite and positive, {@code seed} a 64-bit integer
     * (a decimal string, as written); {@code target_r} and {@code ga_batches} may be absent (runs written before
     * they existed: 0). Errors name the key ({@code options.<key>}).
     */
    private static Options optionsFrom(Map<String, Object> m) {
        String method = Json.asString(m.get("method"), "options.method");
        if (!METHODS.contains(method)) throw new IllegalArgumentException("options.method: '" + method + "' is not a method (" + String.join(", ", METHODS) + ")");
        List<String> targets = new ArrayList<>();
        List<Object> ts = Json.asList(m.get("targets"), "options.targets");
        for (int i = 0; i < ts.size(); i++) targets.add(Json.asString(ts.get(i), "options.targets[" + i + "]"));
        Object a = m.get("alpha");
        double alpha = a == null ? Double.NaN : Json.asDouble(a, "options.alpha");
        if (a != null && !Double.isFinite(alpha)) throw new IllegalArgumentException("options.alpha must be finite, got " + alpha);
        double lr = Json.asDouble(m.get("lr"), "options.lr");
        if (!(lr > 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("options.lr must be finite and > 0, got " + lr);
        Object seed = m.get("seed");
        long sd;
        if (seed instanceof String str) {
            try {
                sd = Long.parseLong(str);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("options.seed: \"" + (str.length() > 40 ? str.substring(0, 40) + "…" : str) + "\" is not a 64-bit integer");
            }
        } else {
            sd = Json.asLong(seed, "options.seed");
        }
        return new Options(method, count(m.get("r"), "options.r", 0), alpha, targets, count(m.get("iters"), "options.iters", 0),
                bounded(count(m.get("batch"), "options.batch", 1), "options.batch", MAX_BATCH), count(m.get("block"), "options.block", 1), lr,
                count(m.get("grad_accum"), "options.grad_accum", 1), count(m.get("eval_interval"), "options.eval_interval", 1),
                count(m.get("eval_iters"), "options.eval_iters", 1), sd,
                m.containsKey("target_r") ? count(m.get("target_r"), "options.target_r", 0) : 0,
                m.containsKey("ga_batches") ? count(m.get("ga_batches"), "options.ga_batches", 0) : 0);
    }

    /** LoRA-Drop's selection as {@value #STATE} holds it. */
    private static Map<String, Object> selectionMap(LoraDrop.Selection sel) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("threshold", sel.threshold());
        m.put("importance", new LinkedHashMap<String, Object>(sel.importance()));
        m.put("kept", new ArrayList<Object>(sel.kept()));
        m.put("shared", new LinkedHashMap<String, Object>(sel.shared()));
        return m;
    }

    /** {@link #selectionMap} read back, each value checked; errors name the key ({@code lora_drop.<key>}). */
    private static LoraDrop.Selection selectionFrom(Map<String, Object> m) {
        double threshold = Json.asDouble(m.get("threshold"), "lora_drop.threshold");
        if (!(threshold >= 0 && threshold <= 1)) throw new IllegalArgumentException("lora_drop.threshold must be in [0, 1], got " + threshold);
        LinkedHashMap<String, Double> importance = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : Json.asMap(m.get("importance"), "lora_drop.importance").entrySet()) {
            double v = Json.asDouble(e.getValue(), "lora_drop.importance." + e.getKey());
            if (!(v >= 0) || !Double.isFinite(v)) throw new IllegalArgumentException("lora_drop.importance." + e.getKey() + " must be finite and >= 0, got " + v);
            importance.put(e.getKey(), v);
        }
        List<String> kept = new ArrayList<>();
        List<Object> k = Json.asList(m.get("kept"), "lora_drop.kept");
        for (int i = 0; i < k.size(); i++) kept.add(Json.asString(k.get(i), "lora_drop.kept[" + i + "]"));
        LinkedHashMap<String, String> shared = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : Json.asMap(m.get("shared"), "lora_drop.shared").entrySet())
            shared.put(e.getKey(), Json.asString(e.getValue(), "lora_drop.shared." + e.getKey()));
        return new LoraDrop.Selection(importance, kept, shared, threshold);
    }

    /** An int ≥ {@code min}, or an error naming {@code what}. */
    private static int count(Object v, String what, int min) {
        int i = Json.asInt(v, what);
        if (i < min) throw new IllegalArgumentException(what + " must be >= " + min + ", got " + i);
        return i;
    }

    private static int bounded(int v, String what, int max) {
        if (v > max) throw new IllegalArgumentException(what + " must be <= " + max + ", got " + v);
        return v;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "Finetune[%s, step %d, %s]", o.method(), loop.step(), Arrays.toString(new int[] {trainIds.length, valIds.length}));
    }
}
