package dev.vectorgrad.transformer.train;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Adam;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.tensor.Json;
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

    /** Restores what {@link #putHistory} wrote; a malformed value is an {@link IllegalArgumentException} naming its key. */
    public static void restoreHistory(TrainLoop loop, Map<?, ?> st, String stepKey, String evalKey) {
        List<Double> train = new ArrayList<>(), evalLoss = new ArrayList<>();
        List<Integer> evalSteps = new ArrayList<>();
        for (Object x : Json.asList(st.get("train_loss"), "train_loss")) train.add(Json.asDouble(x, "train_loss"));
        for (Object x : Json.asList(st.get(evalKey), evalKey)) evalSteps.add(nonNegativeInt(x, evalKey));
        for (Object x : Json.asList(st.get("eval_loss"), "eval_loss")) evalLoss.add(Json.asDouble(x, "eval_loss"));
        if (evalSteps.size() != evalLoss.size())
            throw new IllegalArgumentException(evalKey + " has " + evalSteps.size() + " entries but eval_loss has " + evalLoss.size());
        loop.restore(nonNegativeInt(st.get(stepKey), stepKey), train, evalSteps, evalLoss);
    }

    private static int nonNegativeInt(Object v, String what) {
        int i = Json.asInt(v, what);
        if (i < 0) throw new IllegalArgumentException(what + " must be >= 0, got " + i);
        return i;
    }

    /** Longs as JSON strings (JSON readers round big longs through double). */
    public static List<Object> longs(long[] a) {
        List<Object> l = new ArrayList<>();
        for (long x : a) l.add(Long.toString(x));
        return l;
    }

    /** A generator state written by {@link #longs}: an array of decimal strings (or integers); errors name {@code what}. */
    public static long[] toLongs(Object o, String what) {
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
}
