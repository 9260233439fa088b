package dev.vectorgrad.spark;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Adam;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.peft.PeftConfig;
import dev.vectorgrad.peft.PeftFiles;
import dev.vectorgrad.peft.PeftModel;
import dev.vectorgrad.tensor.IntTensor;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.Gpt;
import dev.vectorgrad.transformer.GptConfig;
import dev.vectorgrad.transformer.data.Batcher;
import dev.vectorgrad.transformer.train.Checkpoints;
import dev.vectorgrad.transformer.train.TrainLoop;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.SparkSession;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Data-parallel adapter fine-tuning on Spark. A barrier stage runs one task per replica; each replica builds the
 * frozen base with the adapter ({@link ModelFactory}), and trains it with the one training loop
 * ({@link TrainLoop}): every step it draws the same global batch (the same seeded generator everywhere), runs
 * forward and backward on its own rows of it (rank r of R takes rows [r·B/R, (r+1)·B/R)), and in the loop's
 * gradient hook sends its adapter gradient and loss through {@link BarrierTaskContext#allGather} (Base64 of the
 * float32 values). Every replica sums the R gradients in rank order and divides by R: the mean over the global
 * batch, the same bits everywhere, so clipping and the same AdamW step keep the replicas bit-identical (checked
 * at the end of every barrier job).
 *
 * <p>Spark does not retry a failed barrier result stage: the job fails. Training therefore runs as a chain of
 * barrier jobs of {@link Job#checkpointEvery()} steps; after each the driver writes a checkpoint (adapter,
 * AdamW moments, generator state, losses; an atomic directory through {@link Checkpoints}), and when a job fails
 * it reads the last checkpoint back and resubmits from there, at most {@code maxRestarts} times.
 */
public final class DataParallel {
    /** Builds a replica's model: the frozen base with the adapter attached, the same on every call and every JVM. */
    @FunctionalInterface
    public interface ModelFactory extends Serializable {
        PeftModel build();
    }

    /** A PEFT configuration made on the executor (PeftConfig itself is not serializable). */
    @FunctionalInterface
    public interface PeftSpec extends Serializable {
        PeftConfig get();
    }

    /**
     * What to train: a GPT adapter on windows of {@code tokens}, {@code steps} AdamW steps (betas 0.9, 0.999, ε 1e-8,
     * constant {@code lr}) on global batches of {@code globalBatch} windows of {@code blockSize} tokens drawn by a
     * {@link Batcher} seeded with {@code batchSeed}, gradients clipped at {@code gradClip} (≤ 0: none), a barrier job
     * (and a checkpoint) every {@code checkpointEvery} steps.
     */
    public record Job(ModelFactory model, int[] tokens, int globalBatch, int blockSize, long batchSeed, int steps, double lr, double weightDecay,
                      double gradClip, int checkpointEvery) implements Serializable {
        public Job {
            if (model == null || tokens == null) throw new IllegalArgumentException("DataParallel.Job: model and tokens are required");
            if (globalBatch < 1 || blockSize < 1 || steps < 0 || checkpointEvery < 1)
                throw new IllegalArgumentException("DataParallel.Job: globalBatch " + globalBatch + ", blockSize " + blockSize + ", steps " + steps
                        + ", checkpointEvery " + checkpointEvery + " (all positive, steps >= 0)");
        }
    }

    /** A test's way to make a replica fail: called before each step with the replica's rank and the steps done. */
    @FunctionalInterface
    interface Fault extends Serializable {
        Fault NONE = (rank, step) -> {};

        void beforeStep(int rank, int step);
    }

    /**
     * What a run produced: the trained model (on the driver), the loss of every step (the mean over the global batch),
     * the restarts after failed barrier jobs, the bytes each replica sent per step through allGather (0 on one
     * machine), and the wall time of the training jobs.
     */
    public record Result(PeftModel model, double[] losses, int restarts, long bytesSentPerReplicaPerStep, double trainSeconds) {
        /** Writes the adapter as a PEFT directory ({@code adapter_config.json} + {@code adapter_model.safetensors}). */
        public void savePeft(Path dir) throws IOException {
            PeftFiles.save(model, "default", dir);
        }

        /** The trained adapter's values by parameter name. */
        public Map<String, Tensor> adapter() {
            Map<String, Tensor> out = new LinkedHashMap<>();
            trainable(model).forEach((n, p) -> out.put(n, p.data().copy()));
            return out;
        }
    }

    private DataParallel() {}

    // ------------------------------------------------------------------ the driver

    /**
     * Trains {@code job} on {@code replicas} replicas of a barrier stage, checkpointing into {@code checkpointDir}
     * and resubmitting from the last checkpoint after a failed job (at most {@code maxRestarts} times).
     */
    public static Result train(SparkSession spark, Job job, int replicas, Path checkpointDir, int maxRestarts, PrintStream log) throws IOException {
        return train(spark, job, replicas, checkpointDir, maxRestarts, log, Fault.NONE);
    }

    static Result train(SparkSession spark, Job job, int replicas, Path checkpointDir, int maxRestarts, PrintStream log, Fault fault) throws IOException {
        if (replicas < 1 || job.globalBatch() % replicas != 0)
            throw new IllegalArgumentException("DataParallel: the global batch " + job.globalBatch() + " must split evenly over " + replicas + " replicas");
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<Job> shared = jsc.broadcast(job);
        Driver driver = new Driver(job);
        State state = driver.initial();
        driver.checkpoint(state, checkpointDir);
        int restarts = 0;
        long bytes = 0;
        long t0 = System.nanoTime();
        while (state.step() < job.steps()) {
            int until = Math.min(job.steps(), state.step() + job.checkpointEvery());
            List<Integer> ranks = new ArrayList<>();
            for (int r = 0; r < replicas; r++) ranks.add(r);
            JavaRDD<Integer> rdd = jsc.parallelize(ranks, replicas);
            ClassTag<Out> tag = ClassTag$.MODULE$.apply(Out.class);
            RDD<Out> run = rdd.rdd().barrier().mapPartitions(new ReplicaTask(shared, state, until, fault), false, tag);
            List<Out> outs;
            long j0 = System.nanoTime();
            try {
                outs = JavaRDD.fromRDD(run, tag).collect();
            } catch (Exception e) {
                if (!(e instanceof SparkException) || restarts >= maxRestarts) throw e;
                restarts++;
                state = driver.readCheckpoint(checkpointDir);
                if (log != null)
                    log.printf(Locale.ROOT, "data-parallel: the barrier job for steps %d..%d failed (%s); resubmitting from the checkpoint at step %d (restart %d of at most %d)%n",
                            state.step() + 1, until, firstLine(e), state.step(), restarts, maxRestarts);
                continue;
            }
            state = identical(outs);
            bytes = outs.get(0).bytesPerStep();
            if (log != null)
                log.printf(Locale.ROOT, "data-parallel: barrier job for steps %d..%d: %.1f s, of it in allGather (rank 0) %.1f s; loss %.4f%n",
                        until - outs.get(0).steps() + 1, until, (System.nanoTime() - j0) / 1e9, outs.get(0).exchangeSeconds(),
                        state.losses()[state.losses().length - 1]);
            driver.checkpoint(state, checkpointDir);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        shared.destroy();
        return new Result(driver.load(state), state.losses(), restarts, bytes, seconds);
    }

    /** The same training on this machine alone: one replica, the whole global batch, no exchange. */
    public static Result trainOneMachine(Job job) {
        Driver driver = new Driver(job);
        State s = driver.initial();
        long t0 = System.nanoTime();
        Replica r = new Replica(job, job.tokens(), s, 0, 1, null);
        while (r.loop.step() < job.steps()) r.takeStep();
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Result(driver.load(r.state()), r.state().losses(), 0, 0, seconds);
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** Rank 0's state after checking that every replica holds the same bits. */
    private static State identical(List<Out> outs) {
        State first = outs.get(0).state();
        for (Out o : outs)
            if (!o.state().sameBits(first))
                throw new IllegalStateException("DataParallel: replica " + o.rank() + " diverged from replica " + outs.get(0).rank()
                        + " at step " + o.state().step() + " (the replicas must apply bit-identical updates)");
        return first;
    }

    /** The driver's copy of the model: where states start, are checkpointed, and end. */
    static final class Driver {
        final Job job;
        final PeftModel pm;
        final LinkedHashMap<String, Variable> named;
        final AdamW opt;

        Driver(Job job) {
            this.job = job;
            this.pm = job.model().build();
            this.named = trainable(pm);
            this.opt = adamW(job, named.values());
        }

        State initial() {
            return State.of(0, new ArrayList<>(named.values()), opt, new Rng(job.batchSeed()).snapshot(), new double[0]);
        }

        PeftModel load(State s) {
            s.loadInto(new ArrayList<>(named.values()), opt);
            return pm;
        }

        /** {@code adapter.safetensors}, {@code optimizer.safetensors} and {@code state.json}, written as one atomic directory. */
        void checkpoint(State s, Path dir) throws IOException {
            load(s);
            Checkpoints.writeDirectory(dir, tmp -> {
                Map<String, Tensor> values = new LinkedHashMap<>();
                named.forEach((n, p) -> values.put(n, p.data()));
                Safetensors.write(tmp.resolve("adapter.safetensors"), values);
                Checkpoints.writeOptimizer(opt, named, tmp.resolve("optimizer.safetensors"));
                Map<String, Object> st = new LinkedHashMap<>();
                st.put("iter", (long) s.step());
                st.put("rng", Checkpoints.longs(s.rng()));
                List<Object> losses = new ArrayList<>();
                for (double l : s.losses()) losses.add(l);
                st.put("train_loss", losses);
                Files.writeString(tmp.resolve("state.json"), Json.write(st), StandardCharsets.UTF_8);
            });
        }

        State readCheckpoint(Path dir) throws IOException {
            Map<String, Tensor> values = Safetensors.readAll(dir.resolve("adapter.safetensors"));
            for (Map.Entry<String, Variable> e : named.entrySet()) {
                Tensor t = values.get(e.getKey());
                if (t == null) throw new IllegalArgumentException("checkpoint " + dir + ": adapter.safetensors has no '" + e.getKey() + "'");
                e.getValue().data().copyFrom(t);
            }
            Checkpoints.readOptimizer(opt, named, dir.resolve("optimizer.safetensors"));
            Map<String, Object> st = Json.asMap(Json.read(dir.resolve("state.json")), "state.json");
            List<Object> l = Json.asList(st.get("train_loss"), "train_loss");
            double[] losses = new double[l.size()];
            for (int i = 0; i < losses.length; i++) losses[i] = Json.asDouble(l.get(i), "train_loss");
            int step = Json.asInt(st.get("iter"), "iter");
            if (losses.length != step) throw new IllegalArgumentException("checkpoint " + dir + ": " + losses.length + " losses for " + step + " steps");
            return State.of(step, new ArrayList<>(named.values()), opt, Checkpoints.toLongs(st.get("rng"), "rng"), losses);
        }
    }

    /** The trainable parameters (the adapter) by name, in the model's parameter order. */
    static LinkedHashMap<String, Variable> trainable(PeftModel pm) {
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        pm.model().namedParameters().forEach((n, p) -> {
            if (p.requiresGrad()) out.put(n, p);
        });
        if (out.isEmpty()) throw new IllegalArgumentException("DataParallel: the model has no trainable parameter");
        return out;
    }

    static AdamW adamW(Job job, java.util.Collection<Variable> params) {
        return new AdamW(List.of(ParamGroup.of(params).lr(job.lr())), job.lr(), 0.9, 0.999, 1e-8, job.weightDecay());
    }

    // ------------------------------------------------------------------ a replica

    /** What a replica task returns: its rank, its state at the end of the job, the bytes it sent per step, its steps and its time in allGather. */
    record Out(int rank, State state, long bytesPerStep, int steps, double exchangeSeconds) implements Serializable {}

    /** The barrier task: one replica training from {@code from} to step {@code until}. */
    static final class ReplicaTask extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<Out>> implements Serializable {
        private final Broadcast<Job> job;
        private final State from;
        private final int until;
        private final Fault fault;

        ReplicaTask(Broadcast<Job> job, State from, int until, Fault fault) {
            this.job = job;
            this.from = from;
            this.until = until;
            this.fault = fault;
        }

        @Override
        public scala.collection.Iterator<Out> apply(scala.collection.Iterator<Integer> ignored) {
            BarrierTaskContext ctx = BarrierTaskContext.get();
            int rank = ctx.partitionId(), world = ctx.getTaskInfos().length;
            Job j = job.value();
            Exchange ex = new Exchange(ctx, world);
            Replica r = new Replica(j, j.tokens(), from, rank, world, ex);
            int first = r.loop.step();
            while (r.loop.step() < until) {
                fault.beforeStep(rank, r.loop.step());
                r.takeStep();
            }
            return scala.jdk.javaapi.CollectionConverters.asScala(List.of(new Out(rank, r.state(), ex.bytesPerStep, until - first, ex.nanos / 1e9)).iterator());
        }
    }

    /**
     * One replica: the model, AdamW and the one training loop over this replica's rows of each global batch; with an
     * {@link Exchange}, the loop's gradient hook replaces the gradients by their mean over the replicas.
     */
    static final class Replica {
        final LinkedHashMap<String, Variable> named;
        final AdamW opt;
        final TrainLoop loop;
        final Rng rng;
        final List<Double> losses = new ArrayList<>();
        private double shardLoss;

        Replica(Job job, int[] tokens, State s, int rank, int world, Exchange ex) {
            PeftModel pm = job.model().build();
            if (!(pm.model() instanceof Gpt gpt))
                throw new IllegalArgumentException("DataParallel: the factory's model is a " + pm.model().getClass().getSimpleName() + ", not a Gpt");
            named = trainable(pm);
            opt = adamW(job, named.values());
            List<Variable> params = new ArrayList<>(named.values());
            s.loadInto(params, opt);
            for (double l : s.losses()) losses.add(l);
            rng = Rng.restore(s.rng());
            Batcher global = new Batcher(tokens, job.globalBatch(), job.blockSize(), rng);
            int rows = job.globalBatch() / world;
            loop = new TrainLoop(gpt, b -> {
                Variable l = gpt.loss(b.x(), b.y());
                shardLoss = l.item();
                return l;
            }, params, opt, (o, step) -> {}, job.gradClip(), 1, () -> rows(global.next(), rank * rows, rows));
            loop.restore(s.step(), losses, List.of(), List.of());
            if (ex != null) loop.onGradients(ps -> shardLoss = ex.average(ps, shardLoss));
        }

        /** One step; its loss is the global batch's: the exchange's mean over the replicas, or on one machine the batch's own. */
        void takeStep() {
            loop.takeStep();
            losses.add(shardLoss);
        }

        State state() {
            double[] l = new double[losses.size()];
            for (int i = 0; i < l.length; i++) l[i] = losses.get(i);
            return State.of(loop.step(), new ArrayList<>(named.values()), opt, rng.snapshot(), l);
        }
    }

    /** Rows [from, from + n) of a batch. */
    static Batcher.Batch rows(Batcher.Batch b, int from, int n) {
        int t = b.x().size(1);
        int[] x = Arrays.copyOfRange(b.x().storage(), from * t, (from + n) * t);
        int[] y = Arrays.copyOfRange(b.y().storage(), from * t, (from + n) * t);
        return new Batcher.Batch(IntTensor.wrap(x, n, t), IntTensor.wrap(y, n, t));
    }

    /**
     * The all-reduce of a step, over {@link BarrierTaskContext#allGather}: each replica sends
     * {@code loss|base64(float32 gradients, little-endian)}; every replica decodes the R messages, sums them in rank
     * order and divides by R, so all hold the same bits. Returns the mean loss.
     */
    static final class Exchange {
        private final BarrierTaskContext ctx;
        private final int world;
        long bytesPerStep, nanos;

        Exchange(BarrierTaskContext ctx, int world) {
            this.ctx = ctx;
            this.world = world;
        }

        double average(List<Variable> params, double loss) {
            int n = 0;
            for (Variable p : params) {
                if (p.grad() == null)
                    throw new IllegalStateException("DataParallel: a trainable parameter of shape " + Arrays.toString(p.shape()) + " got no gradient");
                n += p.numel();
            }
            String msg = Double.toString(loss) + "|" + Base64.getEncoder().encodeToString(pack(params, n));
            bytesPerStep = msg.length();
            long t0 = System.nanoTime();
            String[] all = ctx.allGather(msg);
            nanos += System.nanoTime() - t0;
            float[] sum = new float[n];
            double lossSum = 0;
            for (String m : all) { // in rank order
                int bar = m.indexOf('|');
                lossSum += Double.parseDouble(m.substring(0, bar));
                ByteBuffer bb = ByteBuffer.wrap(Base64.getDecoder().decode(m.substring(bar + 1))).order(ByteOrder.LITTLE_ENDIAN);
                if (bb.remaining() != 4 * n) throw new IllegalStateException("DataParallel: a replica sent " + bb.remaining() / 4 + " gradient values, expected " + n);
                for (int i = 0; i < n; i++) sum[i] += bb.getFloat();
            }
            float inv = 1f / world;
            int off = 0;

            for (int i = 0; i < n; i++) sum[i] *= inv;
            for (Variable p : params) { // in place: the .grad buffers live outside the step arena
                p.grad().copyFrom(Tensor.wrap(Arrays.copyOfRange(sum, off, off + p.numel()), p.shape()));
                off += p.numel();
            }
            return lossSum / world;
        }

        private static byte[] pack(List<Variable> params, int n) {
            ByteBuffer bb = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
            for (Variable p : params) for (float v : p.grad().contiguous().toArray()) bb.putFloat(v);
            return bb.array();
        }
    }

    // ------------------------------------------------------------------ state between jobs

    /**
     * Training between two steps: the adapter's values, AdamW's per-parameter step count and moments (empty arrays
     * where a parameter has no state yet), the batch generator, and the loss of every step so far.
     */
    record State(int step, float[][] params, long[] adamSteps, float[][] expAvg, float[][] expAvgSq, long[] rng, double[] losses)
            implements Serializable {
        static State of(int step, List<Variable> params, Adam opt, long[] rng, double[] losses) {
            int n = params.size();
            float[][] v = new float[n][], m = new float[n][], s = new float[n][];
            long[] steps = new long[n];
            Map<Integer, Adam.ParamState> st = opt.stateDict();
            for (int i = 0; i < n; i++) {
                v[i] = params.get(i).data().contiguous().toArray();
                Adam.ParamState ps = st.get(i);
                steps[i] = ps == null ? 0 : ps.step();
                m[i] = ps == null ? new float[0] : ps.expAvg().toArray();
                s[i] = ps == null ? new float[0] : ps.expAvgSq().toArray();
            }
            return new State(step, v, steps, m, s, rng.clone(), losses.clone());
        }

        void loadInto(List<Variable> params, Adam opt) {
            if (params.size() != this.params.length)
                throw new IllegalArgumentException("DataParallel: the state holds " + this.params.length + " parameters, the model has " + params.size());
            Map<Integer, Adam.ParamState> st = new LinkedHashMap<>();
            for (int i = 0; i < params.size(); i++) {
                Variable p = params.get(i);
                if (p.numel() != this.params[i].length)
                    throw new IllegalArgumentException("DataParallel: parameter " + i + " has " + p.numel() + " values, the state " + this.params[i].length);
                p.data().copyFrom(Tensor.wrap(this.params[i].clone(), p.shape()));
                if (adamSteps[i] > 0)
                    st.put(i, new Adam.ParamState(adamSteps[i], Tensor.wrap(expAvg[i].clone(), p.shape()), Tensor.wrap(expAvgSq[i].clone(), p.shape())));
            }
            opt.loadStateDict(st);
        }

        boolean sameBits(State o) {
            return step == o.step && Arrays.deepEquals(params, o.params) && Arrays.equals(adamSteps, o.adamSteps) && Arrays.deepEquals(expAvg, o.expAvg)
                    && Arrays.deepEquals(expAvgSq, o.expAvgSq) && Arrays.equals(rng, o.rng) && Arrays.equals(losses, o.losses);
        }
    }

    // ------------------------------------------------------------------ a GPT with an adapter

    /** A factory for a GPT of {@code cfg} with {@code weights}, frozen, wrapped with the adapter {@code peft} makes. */
    public static ModelFactory gpt(GptConfig cfg, Map<String, Tensor> weights, PeftSpec peft) {
        LinkedHashMap<String, float[]> values = new LinkedHashMap<>();
        LinkedHashMap<String, int[]> shapes = new LinkedHashMap<>();
        weights.forEach((n, t) -> {
            values.put(n, t.contiguous().toArray());
            shapes.put(n, t.shape());
        });
        return new GptAdapter(cfg.vocabSize(), cfg.blockSize(), cfg.layers(), cfg.heads(), cfg.nEmbd(), cfg.dropout(), cfg.bias(), cfg.activation(),
                cfg.layerNormEps(), values, shapes, peft);
    }

    /** {@link #gpt}'s factory: GptConfig's fields and the weights as plain arrays, so that it serializes. */
    record GptAdapter(int vocab, int block, int layers, int heads, int nEmbd, double dropout, boolean bias, GptConfig.Activation activation, double eps,
                      LinkedHashMap<String, float[]> values, LinkedHashMap<String, int[]> shapes, PeftSpec peft) implements ModelFactory {
        @Override
        public PeftModel build() {
            Gpt g = new Gpt(new GptConfig(vocab, block, layers, heads, nEmbd, dropout, bias, activation, eps), 0);
            Map<String, Tensor> w = new LinkedHashMap<>();
            values.forEach((n, v) -> w.put(n, Tensor.wrap(v.clone(), shapes.get(n))));
            g.loadStateDict(w, true);
            return PeftModel.wrap(g, peft.get());
        }
    }
}
