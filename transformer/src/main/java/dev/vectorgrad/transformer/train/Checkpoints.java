package dev.vectorgrad.transformer.train;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Adam;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What {@code train} and {@code finetune} checkpoints share: atomic directories, the optimiser state file, the loop's history. */
public final class Checkpoints {
    private Checkpoints() {}

    /** Fills a fresh directory. */
    @FunctionalInterface
    public interface DirWriter {
        void write(Path dir) throws IOException;
    }

    /**
     * Builds the directory beside {@code dir} with {@code writer} and renames it into place, so a crash never
     * leaves a half-written checkpoint (the old one is moved aside first and deleted after).
     */
    public static void writeDirectory(Path dir, DirWriter writer) throws IOException {
        Path abs = dir.toAbsolutePath();
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, abs.getFileName() + ".tmp-");
        try {
            writer.write(tmp);
            Path old = null;
            if (Files.exists(abs)) {
                old = parent.resolve(abs.getFileName() + ".old-" + System.nanoTime());
                Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            if (old != null) deleteTree(old);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    /**
     * {@code optimizer.safetensors}: {@code exp_avg.<param>} and {@code exp_avg_sq.<param>} for every parameter of
     * the optimiser ({@code params} names them), and the step count as metadata {@code step}. A parameter not
     * updated yet has no state in the optimiser; it is written as zeros, which is what its state starts as. Should
     * one parameter's count differ from the others' (one that had no gradient in some step), it is written beside
     * as {@code step.<param>}.
     */
    public static void writeOptimizer(Adam opt, Map<String, Variable> params, Path file) throws IOException {
        Map<Integer, Adam.ParamState> state = opt.stateDict();
        List<String> names = stateNames(opt, params);
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
    public static void readOptimizer(Adam opt, Map<String, Variable> params, Path file) throws IOException {
        try (SafetensorsFile f = Safetensors.read(file)) {
            long step = stepCount(file, "step", f.metadata().get("step"));
            List<String> names = stateNames(opt, params);
            Map<Integer, Adam.ParamState> state = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                String n = names.get(i), own = f.metadata().get("step." + n);
                if (!f.contains("exp_avg." + n) || !f.contains("exp_avg_sq." + n))
                    throw new IllegalArgumentException("optimizer state " + file + ": moments of '" + n + "' are missing");
                state.put(i, new Adam.ParamState(own != null ? stepCount(file, "step." + n, own) : step,
                        f.tensor("exp_avg." + n), f.tensor("exp_avg_sq." + n)));
            }
            opt.loadStateDict(state);
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
    private static List<String> stateNames(Optimizer opt, Map<String, Variable> params) {
        IdentityHashMap<Variable, String> byParam = new IdentityHashMap<>();
        params.forEach((n, p) -> byParam.put(p, n));
        List<String> names = new ArrayList<>();
        for (Variable p : opt.parameters()) {
            String n = byParam.get(p);
            if (n == null) throw new IllegalArgumentException("optimizer state: a parameter of shape " + java.util.Arrays.toString(p.shape()) + " has no name");
            names.add(n);
        }
        return names;
    }

    /** Puts the loop's step count and history into a checkpoint's JSON state: {@code iter}, {@code train_loss}, {@code eval_iter}, {@code eval_loss}. */
    public static void putHistory(TrainLoop loop, Map<String, Object> st) {
        st.put("iter", (long) loop.step());
        st.put("train_loss", new ArrayList<Object>(loop.trainLosses()));
        st.put("eval_iter", loop.evalSteps().stream().map(i -> (Object) (long) i).toList());
        st.put("eval_loss", new ArrayList<Object>(loop.evalLosses()));
    }

    /** Restores what {@link #putHistory} wrote. */
    public static void restoreHistory(TrainLoop loop, Map<?, ?> st, String stepKey, String evalKey) {
        List<Double> train = new ArrayList<>(), evalLoss = new ArrayList<>();
        List<Integer> evalSteps = new ArrayList<>();
        for (Object x : (List<?>) st.get("train_loss")) train.add(((Number) x).doubleValue());
        for (Object x : (List<?>) st.get(evalKey)) evalSteps.add(((Number) x).intValue());
        for (Object x : (List<?>) st.get("eval_loss")) evalLoss.add(((Number) x).doubleValue());
        loop.restore(((Number) st.get(stepKey)).intValue(), train, evalSteps, evalLoss);
    }

    /** Longs as JSON strings (JSON readers round big longs through double). */
    public static List<Object> longs(long[] a) {
        List<Object> l = new ArrayList<>();
        for (long x : a) l.add(Long.toString(x));
        return l;
    }

    public static long[] toLongs(Object o) {
        List<?> l = (List<?>) o;
        long[] a = new long[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = Long.parseLong(l.get(i).toString());
        return a;
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) Files.deleteIfExists(x);
        }
    }
}
