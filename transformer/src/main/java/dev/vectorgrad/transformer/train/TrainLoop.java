package dev.vectorgrad.transformer.train;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.transformer.data.Batcher;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/**
 * The one training loop, configured by {@code train} ({@link Trainer}), {@code finetune}, the PEFT demo and the
 * benches: a step is K micro-batches (gradient accumulation; each micro-batch's loss scaled by 1/K, so K
 * micro-batches of B rows give the update of one batch of K·B rows), each forward + backward inside the step
 * arena, then the {@link GradientHook}s (data-parallel replicas average their gradients there), gradient
 * clipping, the learning rate of this step ({@link LrPolicy}), the optimiser step and the {@link StepHook}s (PEFT's per-step extras, e.g. AdaLoRA's {@code update_and_allocate(step)}).
 * {@link #run} adds the progress line, evaluation every N steps ({@code val loss: X}), checkpoints and the loss
 * history that checkpoints and plots carry.
 *
 * <p>With K = 1 a step is exactly the sequence nanoGPT runs (zero grads, forward, backward, clip, set lr,
 * optimiser step) in one arena scope: {@code LossCurveParityTest} pins it against PyTorch.
 */
public final class TrainLoop {
    /** The loss of one micro-batch (a graph to backpropagate through). */
    @FunctionalInterface
    public interface Objective {
        Variable loss(Batcher.Batch batch);
    }

    /** Sets the optimiser's learning rate(s) for the step about to be taken (0-based). */
    @FunctionalInterface
    public interface LrPolicy {
        void apply(Optimizer opt, int step);
    }

    /**
     * Runs after each optimiser step with the number of steps completed (1 after the first). The step's gradients
     * are still on the parameters (they are cleared when the next step starts), as AdaLoRA's
     * {@code update_and_allocate(step)} needs them for its sensitivity scores.
     */
    @FunctionalInterface
    public interface StepHook {
        void afterStep(int step);
    }

    /**
     * Runs after the step's backward pass(es), before clipping and the optimiser step, with the step's summed
     * gradients on the trained parameters: data-parallel replicas replace each gradient by its mean over the
     * replicas here, so that clipping and the optimiser see the gradient of the global batch. A hook changes
     * gradients in place (the {@code .grad} buffers live outside the step arena).
     */
    @FunctionalInterface
    public interface GradientHook {
        void afterBackward(List<Variable> params);
    }

    /** Writes a checkpoint of the current state. */
    @FunctionalInterface
    public interface Checkpoint {
        void save() throws IOException;
    }

    /** What a run measured: steps taken, last training loss, last validation loss, median step time. */
    public record Result(int steps, double lastLoss, double valLoss, double medianStepMs) {}

    /** When to print and evaluate: every {@code logInterval} / {@code evalInterval} steps (0: never); steps left out of the median. */
    public record Schedule(int logInterval, int evalInterval, int warmupSteps) {}

    private final Module model;
    private final Objective objective;
    private final List<Variable> params;
    private final Optimizer opt;
    private final LrPolicy lr;
    private final double gradClip;
    private final int gradAccum;
    private final List<StepHook> hooks = new ArrayList<>();
    private final List<GradientHook> gradientHooks = new ArrayList<>();
    private Supplier<Batcher.Batch> batches;
    private StepArena arena;
    private int step;
    private final List<Double> trainLoss = new ArrayList<>();
    private final List<Integer> evalStep = new ArrayList<>();
    private final List<Double> evalLoss = new ArrayList<>();

    /**
     * @param model     switched to training mode for each step (evaluation switches it back and forth)
     * @param objective the loss of a micro-batch
     * @param params    the trained parameters: their gradients are cleared before and clipped after backward
     * @param opt       the optimiser over them
     * @param lr        sets the learning rate of each step
     * @param gradClip  maximum global gradient norm (≤ 0: no clipping)
     * @param gradAccum micro-batches per step (K ≥ 1)
     * @param batches   where micro-batches come from ({@link #step()}); may be null when only {@link #step(List)} is used
     */
    public TrainLoop(Module model, Objective objective, Collection<Variable> params, Optimizer opt, LrPolicy lr, double gradClip, int gradAccum,
                     Supplier<Batcher.Batch> batches) {
        if (gradAccum < 1) throw new IllegalArgumentException("TrainLoop: gradient accumulation must be >= 1 micro-batch, got " + gradAccum);
        this.model = Objects.requireNonNull(model, "model");
        this.objective = Objects.requireNonNull(objective, "objective");
        this.params = List.copyOf(params);
        this.opt = Objects.requireNonNull(opt, "opt");
        this.lr = Objects.requireNonNull(lr, "lr");
        this.gradClip = gradClip;
        this.gradAccum = gradAccum;
        this.batches = batches;
    }

    /** Adds a hook that runs after every optimiser step. */
    public TrainLoop onStep(StepHook hook) {
        hooks.add(Objects.requireNonNull(hook, "hook"));
        return this;
    }

    /** Adds a hook that runs between backward and the optimiser step (before clipping). */
    public TrainLoop onGradients(GradientHook hook) {
        gradientHooks.add(Objects.requireNonNull(hook, "hook"));
        return this;
    }

    /** Replaces the source of micro-batches (after restoring a generator on resume). */
    public void batches(Supplier<Batcher.Batch> source) {
        this.batches = source;
    }

    public Optimizer optimizer() {
        return opt;
    }

    public int gradAccum() {
        return gradAccum;
    }

    /** Steps completed. */
    public int step() {
        return step;
    }

    /** One step on the next {@link #gradAccum()} micro-batches of the batch source; returns the mean training loss. */
    public double takeStep() {
        if (batches == null) throw new IllegalStateException("TrainLoop: no batch source");
        List<Batcher.Batch> micro = new ArrayList<>(gradAccum);
        for (int i = 0; i < gradAccum; i++) micro.add(batches.get());
        return step(micro);
    }

    /** One step on these micro-batches (exactly {@link #gradAccum()} of them); returns their mean training loss. */
    public double step(List<Batcher.Batch> micro) {
        if (micro.size() != gradAccum)
            throw new IllegalArgumentException("TrainLoop: a step takes " + gradAccum + " micro-batches, got " + micro.size());
        model.train(true);
        for (Variable p : params) p.zeroGrad();
        double l;
        // Activations and gradients of each micro-batch come from (and go back to) the arena: nothing made there is
        // used after it closes; parameters, .grad buffers and the optimiser's state live outside it.
        if (gradAccum == 1) {
            try (StepArena a = arena()) {
                Variable loss = objective.loss(micro.get(0));
                loss.backward();
                update();
                l = loss.item();
            }
        } else {
            double sum = 0;
            for (Batcher.Batch b : micro) {
                try (StepArena a = arena()) {
                    Variable loss = objective.loss(b);
                    loss.mul((float) (1.0 / gradAccum)).backward(); // mean over the K·B rows = (1/K) Σ per-micro-batch means
                    sum += loss.item();
                }
            }
            try (StepArena a = arena()) {
                update();
            }
            l = sum / gradAccum;
        }
        step++;
        trainLoss.add(l);
        for (StepHook h : hooks) h.afterStep(step);
        return l;
    }

    private void update() {
        for (GradientHook h : gradientHooks) h.afterBackward(params);
        if (gradClip > 0) Optimizer.clipGradNorm(params, gradClip);
        lr.apply(opt, step);
        opt.step(); // its state, created lazily in the first step, is plain arrays, not the arena's
    }

    /** The loop's arena, opened for one micro-batch or evaluation batch (created on first use, on that thread). */
    public StepArena arena() {
        if (arena == null) arena = StepArena.create();
        return arena.reopen();
    }

    /** The mean loss of {@code batches} without gradients, in evaluation mode, each batch in the arena. */
    public double evaluate(Iterable<Batcher.Batch> evalBatches) {
        model.train(false);
        double sum = 0;
        int n = 0;
        try (var g = Grad.disabled()) {
            for (Batcher.Batch b : evalBatches) {
                try (StepArena a = arena()) {
                    sum += objective.loss(b).item();
                }
                n++;
            }
        }
        model.train(true);
        return sum / n;
    }

    /** The learning rate the last step used (the first group's). */
    public double lastLr() {
        return opt.paramGroups().get(0).lr();
    }

    /**
     * Trains until step {@code total}: a progress line every {@code logInterval} steps, at every
     * {@code evalInterval} an evaluation ({@code val loss: X}) and a checkpoint (when {@code checkpoint} is not
     * null), and at the end a last evaluation ({@code val loss: X}) and checkpoint. Prints nothing else.
     */
    public Result run(int total, Schedule s, long tokensPerStep, DoubleSupplier evaluate, Checkpoint checkpoint, PrintStream out, boolean inPlace)
            throws IOException {
        int start = step;
        ProgressLine progress = new ProgressLine(total, tokensPerStep, inPlace, out, System::nanoTime);
        progress.restartClock(step);
        List<Double> stepMs = new ArrayList<>();
        double last = Double.NaN, val = Double.NaN;
        while (step < total) {
            long t0 = System.nanoTime();
            last = takeStep();
            stepMs.add((System.nanoTime() - t0) / 1e6);
            if (s.logInterval() > 0 && (step % s.logInterval() == 0 || step == total)) progress.report(step, last, lastLr());
            if (s.evalInterval() > 0 && step % s.evalInterval() == 0 && step < total) {
                val = evaluate.getAsDouble();
                evalStep.add(step);
                evalLoss.add(val);
                progress.message(String.format(Locale.ROOT, "val loss: %.4f", val));
                if (checkpoint != null) checkpoint.save();
                progress.restartClock(step);
            }
        }
        progress.endLine();
        if (s.evalInterval() > 0) {
            val = evaluate.getAsDouble();
            if (evalStep.isEmpty() || evalStep.get(evalStep.size() - 1) != step) {
                evalStep.add(step);
                evalLoss.add(val);
            }
            out.println(String.format(Locale.ROOT, "val loss: %.4f", val));
        }
        if (checkpoint != null) checkpoint.save();
        int n = stepMs.size(), skip = Math.min(s.warmupSteps(), n / 2);
        double median = Double.NaN;
        if (n > 0) {
            double[] sorted = stepMs.subList(skip, n).stream().mapToDouble(Double::doubleValue).sorted().toArray();
            median = sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        }
        return new Result(step - start, last, val, median);
    }

    // ---------------------------------------------------------------- history (checkpoints and plots)

    /** Training loss of every step taken (including before a resume). */
    public List<Double> trainLosses() {
        return List.copyOf(trainLoss);
    }

    public List<Integer> evalSteps() {
        return List.copyOf(evalStep);
    }

    public List<Double> evalLosses() {
        return List.copyOf(evalLoss);
    }

    /** Puts back the step count and the history of a checkpoint. */
    public void restore(int steps, List<Double> train, List<Integer> evalSteps, List<Double> evalLosses) {
        if (train.size() != steps || evalSteps.size() != evalLosses.size())
            throw new IllegalArgumentException("TrainLoop.restore: " + train.size() + " training losses for " + steps + " steps, "
                    + evalSteps.size() + " evaluation steps for " + evalLosses.size() + " losses");
        step = steps;
        trainLoss.clear();
        trainLoss.addAll(train);
        evalStep.clear();
        evalStep.addAll(evalSteps);
        evalLoss.clear();
        evalLoss.addAll(evalLosses);
    }

    /** Writes the training curve and the evaluations as a PNG. */
    public void writePlot(Path png, String title) throws IOException {
        List<Integer> xs = new ArrayList<>();
        for (int i = 1; i <= trainLoss.size(); i++) xs.add(i);
        List<LossPlot.Series> series = new ArrayList<>();
        series.add(LossPlot.Series.of("train", xs, trainLoss));
        if (!evalLoss.isEmpty()) series.add(LossPlot.Series.of("val", evalStep, evalLoss));
        LossPlot.write(png, title, series);
    }
}
