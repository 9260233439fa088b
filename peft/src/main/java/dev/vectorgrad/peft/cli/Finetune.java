package dev.vectorgrad.peft.cli;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Adam;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.LrSchedule;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.peft.Methods;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Rng;
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
 * PiSSA / MiLoRA converted to plain LoRA) for the methods PEFT has; for BitFit {@value #BITFIT_FILE}
 * ({@link Methods#saveTrained}: the trained biases under the model's names); for {@code full} a checkpoint
 * ({@code config.json} + {@code model.safetensors} + {@code gpt.json} + the tokenizer) that {@code sample --model} reads;</li>
 * <li>what {@code --resume} needs: {@value #TRAINABLE} (every trained tensor, as the model holds it: for PiSSA the
 * factors on the rewritten base), {@value #OPTIM} (Adam's moments and step), {@value #STATE} (the options, the
 * step, both generators, the loss history), and {@value #PLOT}.</li>
 * </ul>
 * Everything random (adapter init, batches, dropout) comes from the seed, so a run resumed at step k writes
 * bit-identical weights to an uninterrupted one.
 */
public final class Finetune {
    static final String STATE = "finetune.json", OPTIM = "optimizer.safetensors", TRAINABLE = "trainable.safetensors", PLOT = "loss.png",
            BITFIT_FILE = "bitfit.safetensors", ADAPTER = "default";
    static final List<String> METHODS = List.of("lora", "rslora", "lora+", "lora-fa", "pissa", "milora", "dora", "flora", "vera", "houlsby", "pfeiffer", "bitfit", "full");
    /** PEFT's GPT-2 target (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING / ..._VERA_...). */
    static final List<String> GPT2_TARGETS = List.of("c_attn");

    /** The recipe; {@code r}, {@code alpha}, {@code targets} are unused (0, NaN, empty) for bitfit and full. */
    public record Options(String method, int r, double alpha, List<String> targets, int iters, int batch, int block, double lr, int gradAccum,
                          int evalInterval, int evalIters, long seed) {
        public Options {
            targets = List.copyOf(targets);
        }

        public Options withIters(int n) {
            return new Options(method, r, alpha, targets, n, batch, block, lr, gradAccum, evalInterval, evalIters, seed);
        }

        public Options withEvalInterval(int n) {
            return new Options(method, r, alpha, targets, iters, batch, block, lr, gradAccum, n, evalIters, seed);
        }
    }

    /** Whether the method trains an adapter (LoRA / VeRA family) rather than the model's own weights. */
    static boolean isAdapter(String method) {
        return !method.equals("bitfit") && !method.equals("full");
    }

    /** PEFT's default rank of a method (LoRA 8, VeRA 256); 0 for bitfit and full. */
    static int defaultR(String method) {
        return method.equals("vera") ? 256 : isAdapter(method) ? 8 : 0;
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
    private final LinkedHashMap<String, Variable> params;
    private final List<Variable> trainable = new ArrayList<>();
    private final Adam opt;
    private final TrainLoop loop;
    private Rng batchRng;
    private Batcher batcher;

    /**
     * Sets a run up, validating everything before anything is written: the model folder, the text (long enough
     * for one block in both splits), the method, the targets and the rank. Errors are {@link IllegalArgumentException}s
     * (or {@link IOException}s for unreadable files) whose message names what is wrong.
     */
    public Finetune(Path modelDir, String text, Options o) throws IOException {
        if (!METHODS.contains(o.method()))
            throw new IllegalArgumentException("unknown method '" + o.method() + "' (methods: " + String.join(", ", METHODS) + ")");
        if (!Files.isDirectory(modelDir)) throw new IllegalArgumentException("--model " + modelDir + ": no such directory");
        if (o.batch() < 1 || o.gradAccum() < 1 || o.iters() < 0 || o.evalInterval() < 1 || o.evalIters() < 1)
            throw new IllegalArgumentException("--batch, --grad-accum, --eval-interval must be >= 1 and --iters >= 0");
        if (!(o.lr() > 0)) throw new IllegalArgumentException("--lr must be positive, got " + o.lr());
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
            default -> p = PeftModel.wrap(model, peftConfig(o));
        }
        this.pm = p;
        this.opt = switch (o.method()) {
            case "lora+" -> Methods.loraPlusAdamW(model, o.lr(), Methods.LORA_PLUS_RATIO, 0.0);
            case "lora-fa" -> (Adam) Methods.loraFaAdamW(pm, o.lr(), 0.0);
            default -> {
                List<Variable> ps = new ArrayList<>();
                for (Variable v : model.parameters()) if (v.requiresGrad()) ps.add(v);
                yield new AdamW(List.of(ParamGroup.of(ps).lr(o.lr())), o.lr(), 0.9, 0.999, 1e-8, 0.0);
            }
        };
        for (Variable v : model.parameters()) if (v.requiresGrad()) trainable.add(v);
        this.params = model.namedParameters();
        Batcher vb = new Batcher(valIds, o.batch(), o.block(), new Rng(o.seed()).fork(1));
        for (int i = 0; i < o.evalIters(); i++) evalBatches.add(vb.next());
        this.batchRng = new Rng(o.seed()).fork(2);
        this.batcher = new Batcher(trainIds, o.batch(), o.block(), batchRng);
        LrSchedule schedule = LrSchedule.linear(0, o.iters(), 0.0); // transformers' default: linear decay to 0, no warm-up
        this.loop = new TrainLoop(model, b -> model.loss(b.x(), b.y()), trainable, opt, (op, s) -> op.applySchedule(schedule, s), 1.0,
                o.gradAccum(), () -> batcher.next());
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
            case "flora" -> PeftConfig.flora(o.r()).alpha(o.alpha()).targets(t);
            // bottleneck adapters place themselves (AdapterHub's configs: the output projections), so --targets does not apply
            case "houlsby" -> PeftConfig.houlsby();
            case "pfeiffer" -> PeftConfig.pfeiffer();
            default -> PeftConfig.lora(o.r(), o.alpha(), t);
        };
        return b.seed(o.seed()).build();
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
        return loop.run(Math.min(stop, o.iters()), new TrainLoop.Schedule(Math.max(1, o.evalInterval() / 5), o.evalInterval(), 0),
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
            Checkpoints.writeOptimizer(opt, params, tmp.resolve(OPTIM));
            Map<String, Object> st = new LinkedHashMap<>();
            st.put("base_model", modelDir.toAbsolutePath().toString());
            st.put("options", optionsMap(o));
            st.put("train_tokens", (long) trainIds.length);
            st.put("val_tokens", (long) valIds.length);
            Checkpoints.putHistory(loop, st);
            st.put("batch_rng", Checkpoints.longs(batchRng.snapshot()));
            st.put("dropout_rng", Checkpoints.longs(model.dropoutRng().snapshot()));
            AtomicFiles.writeString(tmp.resolve(STATE), Json.writePretty(st) + "\n");
            loop.writePlot(tmp.resolve(PLOT), "finetune " + o.method());
        });
    }

    /** Whether {@code out} holds a run to resume. */
    static boolean isRun(Path out) {
        return Files.isRegularFile(out.resolve(STATE));
    }

    /** The options a run in {@code out} was started with. */
    public static Options readOptions(Path out) throws IOException {
        Map<?, ?> st = (Map<?, ?>) Json.parse(Files.readString(out.resolve(STATE)));
        return optionsFrom((Map<?, ?>) st.get("options"));
    }

    /**
     * Continues the run saved in {@code out}: the same base model and text, options equal to the saved ones but for
     * {@code iters} and {@code evalInterval}. Sets the run up as a fresh one (same seed, same adapter init), then
     * puts back the trained tensors, the optimiser's moments, both generators and the history.
     */
    public static Finetune resume(Path modelDir, String text, Path out, Options o) throws IOException {
        Map<?, ?> st = (Map<?, ?>) Json.parse(Files.readString(out.resolve(STATE)));
        Options saved = optionsFrom((Map<?, ?>) st.get("options"));
        Options same = saved.withIters(o.iters()).withEvalInterval(o.evalInterval());
        if (!same.equals(o))
            throw new IllegalArgumentException("--resume: the options differ from those of the run in " + out + " (" + differences(saved, o)
                    + "); only --iters and --eval-interval may change");
        Finetune f = new Finetune(modelDir, text, o);
        if (((Number) st.get("train_tokens")).intValue() != f.trainIds.length || ((Number) st.get("val_tokens")).intValue() != f.valIds.length)
            throw new IllegalArgumentException("--resume: the run in " + out + " was trained on " + st.get("train_tokens") + " + " + st.get("val_tokens")
                    + " tokens, this --data has " + f.trainIds.length + " + " + f.valIds.length + " (not the same text)");
        if (o.method().equals("full")) HfGpt2.loadWeights(f.model, out.resolve(HfGpt2.WEIGHTS));
        else Methods.loadTrained(f.model, out.resolve(TRAINABLE));
        Checkpoints.readOptimizer(f.opt, f.params, out.resolve(OPTIM));
        Checkpoints.restoreHistory(f.loop, st, "iter", "eval_iter");
        f.batchRng = Rng.restore(Checkpoints.toLongs(st.get("batch_rng"), "batch_rng"));
        f.batcher = new Batcher(f.trainIds, o.batch(), o.block(), f.batchRng);
        f.model.setDropoutRng(Rng.restore(Checkpoints.toLongs(st.get("dropout_rng"), "dropout_rng")));
        return f;
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
        return m;
    }

    private static Options optionsFrom(Map<?, ?> m) {
        List<String> targets = new ArrayList<>();
        for (Object t : (List<?>) m.get("targets")) targets.add((String) t);
        Object alpha = m.get("alpha");
        return new Options((String) m.get("method"), num(m.get("r")), alpha == null ? Double.NaN : ((Number) alpha).doubleValue(), targets,
                num(m.get("iters")), num(m.get("batch")), num(m.get("block")), ((Number) m.get("lr")).doubleValue(), num(m.get("grad_accum")),
                num(m.get("eval_interval")), num(m.get("eval_iters")), Long.parseLong(m.get("seed").toString()));
    }

    private static int num(Object o) {
        return ((Number) o).intValue();
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "Finetune[%s, step %d, %s]", o.method(), loop.step(), Arrays.toString(new int[] {trainIds.length, valIds.length}));
    }
}
