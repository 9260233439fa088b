package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * LoRA-Drop (Zhou et al., arXiv 2402.07721, COLING 2025): keep an individual LoRA only where it matters, and let the
 * other layers share one. No reference code exists and only the abstracts could be read
 * ({@code lora-family.md} §6), so the steps below are the project's reading of them, with the choices named:
 * <ol>
 * <li><b>Sample.</b> Train an ordinary LoRA on a sample D_s for the first {@link #DEFAULT_SAMPLE_FRACTION} (10%) of
 *     the step budget ({@link #sampleSteps}); those steps count in the budget. The sample is what the caller trains
 *     on in that phase (the demo: the windows of its first 12 batches).</li>
 * <li><b>Importance</b> ({@link #importance}, {@link #normalise}): per LoRA module i,
 *     I_i = Σ_{x ∈ D_s} ‖ΔW_i·x_i‖² with ΔW_i = s·B_i·A_i and x_i the module's input (summed over tokens; dropout
 *     off), then I_i / Σ_j I_j.</li>
 * <li><b>Select</b> ({@link #select}): modules by importance, descending (ties: model order); the individual LoRAs
 *     are the smallest top set whose cumulative importance reaches the threshold T ({@link #DEFAULT_THRESHOLD} = 0.9,
 *     the value secondary summaries give).</li>
 * <li><b>Share.</b> Every other module shares one LoRA pair (A, B) with the dropped modules of the same
 *     {@link #group} — the same module name (last path component) and shape. The paper's abstract says the rest
 *     "share"; per name and shape is the one choice that fits differing shapes (GPT-2's {@code attn.c_proj} is
 *     d → d, {@code mlp.c_proj} 4d → d). A shared A and B are single parameters used by several layers: their
 *     gradients add up over those layers, and an optimiser sees each once.</li>
 * <li><b>Train</b> ({@link #restructure}): the selected structure starts again from LoRA's init (the same seed, so
 *     the same initial A; B = 0) and trains for the rest of the budget.</li>
 * </ol>
 * The kept fraction ({@link Selection#keptFraction}) is the share of modules with their own LoRA; the share of
 * LoRA parameters left is (kept + shared pairs) over all pairs at equal shapes.
 *
 * <p><b>File</b> ({@link #save}, {@link #load}): one safetensors file. A module with its own LoRA has PEFT's keys
 * {@code base_model.model.<path>.lora_A.weight} (r, in) and {@code .lora_B.weight} (out, r); a shared pair is stored
 * once, as {@code lora_drop.<group>.lora_A.weight} / {@code .lora_B.weight}. The metadata entry {@value #METADATA}
 * holds a JSON object: {@code peft_config} (the LoRA config, as a native adapter file's), {@code shared}
 * ({@code {"<module path>": "<group>"}}) and, when saved with a {@link Selection}, {@code threshold} and
 * {@code importance} (for the record; loading ignores them). {@link PeftFiles#loadNative} reads it too. A
 * PEFT directory written by {@link PeftFiles#save} from the same model holds the shared pair once per module
 * instead: a plain LoRA adapter, larger, that Hugging Face PEFT loads to the same function.
 */
public final class LoraDrop {
    /** The share of the step budget spent training the sample LoRA. */
    public static final double DEFAULT_SAMPLE_FRACTION = 0.1;
    /** The cumulative importance the individually kept modules must reach. */
    public static final double DEFAULT_THRESHOLD = 0.9;
    /** Metadata key of a LoRA-Drop file. */
    public static final String METADATA = "vectorgrad.lora_drop";
    /** Key prefix of the shared pairs in a LoRA-Drop file. */
    public static final String SHARED_PREFIX = "lora_drop.";

    private LoraDrop() {}

    /**
     * What {@link #select} chose: the normalised importance of every module (model order), the modules keeping an
     * individual LoRA (most important first) and, for each other module, the group whose pair it shares.
     */
    public record Selection(LinkedHashMap<String, Double> importance, List<String> kept, LinkedHashMap<String, String> shared, double threshold) {
        public Selection {
            importance = new LinkedHashMap<>(importance);
            kept = List.copyOf(kept);
            shared = new LinkedHashMap<>(shared);
        }

        /** Modules with an individual LoRA over all modules. */
        public double keptFraction() {
            return importance.isEmpty() ? 0 : (double) kept.size() / importance.size();
        }

        /** The shared groups, in the model order of their first member. */
        public List<String> groups() {
            return List.copyOf(new LinkedHashSet<>(shared.values()));
        }

        /** The importance the kept modules cover together. */
        public double keptImportance() {
            double s = 0;
            for (String p : kept) s += importance.get(p);
            return s;
        }
    }

    /** The steps of the sample phase in a budget of {@code totalSteps}: round(fraction · total), at least 1 and less than the total. */
    public static int sampleSteps(int totalSteps, double fraction) {
        if (totalSteps < 2) throw new IllegalArgumentException("LoRA-Drop: a budget of " + totalSteps + " step(s) leaves nothing after the sample phase");
        if (!(fraction > 0 && fraction < 1)) throw new IllegalArgumentException("LoRA-Drop: the sample fraction must be in (0, 1), got " + fraction);
        return (int) Math.max(1, Math.min(totalSteps - 1, Math.round(fraction * totalSteps)));
    }

    /** The group a dropped module shares a pair with: its name (last path component) and shape, {@code <name>.<out>x<in>}. */
    public static String group(String path, int in, int out) {
        return path.substring(path.lastIndexOf('.') + 1) + "." + out + "x" + in;
    }

    // ------------------------------------------------------------------ importance

    /**
     * I_i = Σ ‖ΔW_i·x‖² (not normalised) for every LoRA module of adapter {@code name}, by path: {@code passes} runs
     * the forward passes over the sample (their outputs are not used), with gradients off and the model in
     * evaluation mode (no dropout); each module's input x is caught on the way and ‖s·B·A·x‖² added up, in double,
     * over all its rows. The model is as before afterwards.
     */
    public static LinkedHashMap<String, Double> importance(PeftModel pm, String name, Runnable passes) {
        LinkedHashMap<String, LoraLinear> layers = loraLayers(pm, name);
        double[] sums = new double[layers.size()];
        List<Linear> linears = new ArrayList<>();
        List<Module> previous = new ArrayList<>();
        Module model = pm.model();
        boolean training = model.isTraining();
        try {
            int i = 0;
            for (LoraLinear l : layers.values()) {
                Linear lin = l.linear();
                Module prev = lin.forwardDelegate();
                linears.add(lin);
                previous.add(prev);
                lin.setForwardDelegate(new Capture(prev == null ? l : prev, l, name, sums, i++));
            }
            model.train(false);
            try (var g = Grad.disabled()) {
                passes.run();
            }
        } finally {
            model.train(training);
            // last installed first: wrappers on slices of one layer share its Linear, so their captures are chained
            for (int i = linears.size() - 1; i >= 0; i--) linears.get(i).setForwardDelegate(previous.get(i));
        }
        LinkedHashMap<String, Double> out = new LinkedHashMap<>();
        int i = 0;
        for (String path : layers.keySet()) out.put(path, sums[i++]);
        return out;
    }

    /** Calls the module it replaces and adds ‖s·B·A·x‖² of every row of its input to {@code sums[index]}. */
    private static final class Capture extends Module {
        private final Module next;
        private final LoraLinear layer;
        private final String name;
        private final double[] sums;
        private final int index;

        Capture(Module next, LoraLinear layer, String name, double[] sums, int index) {
            this.next = next;
            this.layer = layer;
            this.name = name;
            this.sums = sums;
            this.index = index;
        }

        @Override
        public Variable forward(Variable x) {
            sums[index] += branchSquares(x.data(), layer.a(name).data(), layer.b(name).data(), layer.scaling(name));
            return next.forward(x);
        }
    }

    /** Σ over rows of x [.., in] of ‖s·B·A·x_row‖², A (r × in), B (out × r). */
    static double branchSquares(Tensor x, Tensor a, Tensor b, float s) {
        int in = a.shape()[1];
        Tensor rows = x.contiguous().reshape(x.numel() / in, in);
        Tensor y = rows.matmul(a.t()).matmul(b.t()).contiguous(); // [tokens, out]
        float[] v = y.storage();
        double sum = 0;
        for (int k = y.offset(), e = y.offset() + y.numel(); k < e; k++) sum += (double) v[k] * v[k];
        return sum * s * s;
    }

    /** {@code raw} divided by its sum (same order); refused when empty, negative, not finite or all zero. */
    public static LinkedHashMap<String, Double> normalise(Map<String, Double> raw) {
        if (raw.isEmpty()) throw new IllegalArgumentException("LoRA-Drop: no module importance to normalise");
        double total = 0;
        for (Map.Entry<String, Double> e : raw.entrySet()) {
            Double v = e.getValue();
            if (v == null || !Double.isFinite(v) || v < 0) throw new IllegalArgumentException("LoRA-Drop: importance of '" + e.getKey() + "' is " + v + "; it must be finite and ≥ 0");
            total += v;
        }
        if (!(total > 0)) throw new IllegalArgumentException("LoRA-Drop: every module's importance is 0 (an untrained LoRA: B = 0); train the sample LoRA first");
        LinkedHashMap<String, Double> out = new LinkedHashMap<>();
        for (Map.Entry<String, Double> e : raw.entrySet()) out.put(e.getKey(), e.getValue() / total);
        return out;
    }

    // ------------------------------------------------------------------ selection

    /** {@link #select(Map, Map, double)} for the LoRA modules of adapter {@code name} of {@code pm}. */
    public static Selection select(PeftModel pm, String name, Map<String, Double> normalised, double threshold) {
        LinkedHashMap<String, int[]> shapes = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLinear> e : loraLayers(pm, name).entrySet())
            shapes.put(e.getKey(), new int[] {e.getValue().inFeatures(), e.getValue().outFeatures()});
        return select(normalised, shapes, threshold);
    }

    /**
     * The modules (by path → {in, out} in {@code shapes}, model order) sorted by normalised importance, descending,
     * ties in model order; the smallest top set whose cumulative importance reaches {@code threshold} keeps
     * individual LoRAs (a cumulative sum within 1e-12 of T counts as reaching it: 0.6 + 0.3 is 0.8999…9 in
     * binary); every other module shares the pair of its {@link #group}. T = 0 keeps none, T = 1 keeps every module
     * with a non-zero importance.
     */
    static Selection select(Map<String, Double> normalised, Map<String, int[]> shapes, double threshold) {
        if (!(threshold >= 0 && threshold <= 1)) throw new IllegalArgumentException("LoRA-Drop: threshold must be in [0, 1], got " + threshold);
        if (!normalised.keySet().equals(shapes.keySet()))
            throw new IllegalArgumentException("LoRA-Drop: importance is given for " + new TreeSet<>(normalised.keySet()) + " but the adapter's modules are "
                    + new TreeSet<>(shapes.keySet()));
        double total = 0;
        for (Map.Entry<String, Double> e : normalised.entrySet()) {
            Double v = e.getValue();
            if (v == null || !Double.isFinite(v) || v < 0) throw new IllegalArgumentException("LoRA-Drop: importance of '" + e.getKey() + "' is " + v + "; it must be finite and ≥ 0");
            total += v;
        }
        if (Math.abs(total - 1) > 1e-6) throw new IllegalArgumentException("LoRA-Drop: the importance must be normalised (sum 1), it sums to " + total + " (see normalise)");
        List<String> order = new ArrayList<>(shapes.keySet());
        order.sort((p, q) -> Double.compare(normalised.get(q), normalised.get(p))); // stable: ties stay in model order
        List<String> kept = new ArrayList<>();
        double cum = 0;
        for (String p : order) {
            if (cum >= threshold - 1e-12) break;
            kept.add(p);
            cum += normalised.get(p);
        }
        LinkedHashMap<String, String> shared = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : shapes.entrySet())
            if (!kept.contains(e.getKey())) shared.put(e.getKey(), group(e.getKey(), e.getValue()[0], e.getValue()[1]));
        LinkedHashMap<String, Double> imp = new LinkedHashMap<>();
        for (String p : shapes.keySet()) imp.put(p, normalised.get(p));
        return new Selection(imp, kept, shared, threshold);
    }

    // ------------------------------------------------------------------ structure

    /**
     * Makes the modules of each group in {@code shared} (path → group) use one LoRA pair: the pair of the group's
     * first module in model order; the other members' own A and B are dropped. Only plain LoRA on Linear layers.
     */
    public static void share(PeftModel pm, String name, Map<String, String> shared) {
        LinkedHashMap<String, LoraLinear> layers = loraLayers(pm, name);
        for (String p : shared.keySet())
            if (!layers.containsKey(p)) throw new IllegalArgumentException("LoRA-Drop: '" + p + "' is not a LoRA module of adapter '" + name + "' (have " + layers.keySet() + ")");
        LinkedHashMap<String, LoraLinear> owner = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLinear> e : layers.entrySet()) { // check every group before changing any layer
            String g = shared.get(e.getKey());
            if (g == null) continue;
            LoraLinear o = owner.putIfAbsent(g, e.getValue());
            LoraLinear l = e.getValue();
            if (o != null && (o.inFeatures() != l.inFeatures() || o.outFeatures() != l.outFeatures() || o.rank(name) != l.rank(name) || o.scaling(name) != l.scaling(name)))
                throw new IllegalArgumentException("LoRA-Drop: group '" + g + "' mixes shapes or ranks: '" + e.getKey() + "' is " + l.inFeatures() + " → " + l.outFeatures()
                        + " (r " + l.rank(name) + ", scaling " + l.scaling(name) + "), its first module " + o.inFeatures() + " → " + o.outFeatures()
                        + " (r " + o.rank(name) + ", scaling " + o.scaling(name) + ")");
        }
        for (Map.Entry<String, LoraLinear> e : layers.entrySet()) {
            String g = shared.get(e.getKey());
            if (g != null) e.getValue().shareFrom(name, owner.get(g));
        }
    }

    /**
     * Step 5: adapter {@code name} starts again from its config's init (the same seed: the same initial A, B = 0)
     * in the structure {@code sel} chose — individual pairs for the kept modules, one per group for the others.
     * It stays the active adapter.
     */
    public static void restructure(PeftModel pm, String name, Selection sel) {
        PeftConfig cfg = pm.config(name);
        loraLayers(pm, name);
        pm.deleteAdapter(name);
        pm.addAdapter(name, cfg);
        share(pm, name, sel.shared());
        pm.setAdapter(name);
    }

    /** The LoRA layers of adapter {@code name} by path; refuses other methods, DoRA, embeddings and inits that rewrote W. */
    static LinkedHashMap<String, LoraLinear> loraLayers(PeftModel pm, String name) {
        PeftConfig cfg = pm.config(name);
        if (cfg.type() != PeftConfig.Type.LORA || cfg.useDora())
            throw new IllegalArgumentException("LoRA-Drop works on plain LoRA adapters; '" + name + "' is " + (cfg.useDora() ? "DoRA" : cfg.type().toString()));
        LinkedHashMap<String, LoraLinear> out = new LinkedHashMap<>();
        for (String path : pm.targets(name)) {
            AdapterLayer a = PeftFiles.layerWith(pm, path, name);
            if (!(a instanceof LoraLinear l))
                throw new IllegalArgumentException("LoRA-Drop: '" + path + "' is a LoRA on an embedding; LoRA-Drop shares Linear LoRA pairs only: leave it out of the targets");
            if (l.initialFactors(name) != null)
                throw new IllegalArgumentException("LoRA-Drop: '" + path + "' was initialised by rewriting its base weight (PiSSA / MiLoRA / LoRA-GA); LoRA-Drop needs LoRA's default init");
            out.put(path, l);
        }
        return out;
    }

    // ------------------------------------------------------------------ files

    /** {@link #save(PeftModel, String, Path, Selection)} without the importance record. */
    public static void save(PeftModel pm, String name, Path file) throws IOException {
        save(pm, name, file, null);
    }

    /**
     * Writes adapter {@code name} as a LoRA-Drop file (the class comment gives the layout), atomically. Which
     * modules share is read from the model itself (layers whose A is the same parameter), so a pair is stored once
     * however it came to be shared; {@code sel} (may be null) only adds its threshold and importance to the
     * metadata. A group whose members are not all sharing the same B as the same A is refused.
     */
    public static void save(PeftModel pm, String name, Path file, Selection sel) throws IOException {
        PeftConfig cfg = pm.config(name);
        LinkedHashMap<String, LoraLinear> layers = loraLayers(pm, name);
        IdentityHashMap<Variable, Integer> users = new IdentityHashMap<>();
        for (LoraLinear l : layers.values()) users.merge(l.a(name), 1, Integer::sum);
        IdentityHashMap<Variable, String> groupOf = new IdentityHashMap<>();
        IdentityHashMap<Variable, Variable> bOf = new IdentityHashMap<>();
        LinkedHashSet<String> names = new LinkedHashSet<>();
        LinkedHashMap<String, String> shared = new LinkedHashMap<>();
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
        for (Map.Entry<String, LoraLinear> e : layers.entrySet()) {
            LoraLinear l = e.getValue();
            Variable a = l.a(name), b = l.b(name);
            if (users.get(a) == 1) {
                w.put(PeftModel.PREFIX + e.getKey() + ".lora_A.weight", a.data().contiguous());
                w.put(PeftModel.PREFIX + e.getKey() + ".lora_B.weight", b.data().contiguous());
                continue;
            }
            String g = groupOf.get(a);
            if (g == null) {
                String base = group(e.getKey(), l.inFeatures(), l.outFeatures());
                g = base;
                for (int k = 2; names.contains(g); k++) g = base + "-" + k; // two differently shared sets of one name and shape
                names.add(g);
                groupOf.put(a, g);
                bOf.put(a, b);
                w.put(SHARED_PREFIX + g + ".lora_A.weight", a.data().contiguous());
                w.put(SHARED_PREFIX + g + ".lora_B.weight", b.data().contiguous());
            } else if (bOf.get(a) != b) {
                throw new IllegalStateException("LoRA-Drop: '" + e.getKey() + "' shares A with group '" + g + "' but not B; cannot save it as one pair");
            }
            shared.put(e.getKey(), g);
        }
        LinkedHashMap<String, Object> meta = new LinkedHashMap<>();
        meta.put("peft_config", PeftFiles.configJson(cfg, false));
        meta.put("shared", shared);
        if (sel != null) {
            meta.put("threshold", sel.threshold());
            meta.put("importance", new LinkedHashMap<>(sel.importance()));
        }
        w.metadata(METADATA, Json.write(meta));
        if (file.getParent() != null) Files.createDirectories(file.getParent());
        w.write(file);
    }

    /** Loads a LoRA-Drop file into {@code model} as a new {@link PeftModel} with adapter "default". */
    public static PeftModel load(Module model, Path file) throws IOException {
        PeftModel pm = PeftModel.of(model);
        load(pm, file, "default");
        return pm;
    }

    /**
     * Adds the adapter of a LoRA-Drop file under {@code name}: the LoRA of its config, the modules of each group
     * sharing one pair, every tensor copied in. Every key, shape and group is checked against the model first; a
     * malformed file or one that does not fit is an {@link IllegalArgumentException} naming the file (and key), and
     * then nothing changed.
     */
    public static void load(PeftModel pm, Path file, String name) throws IOException {
        String json;
        try (SafetensorsFile f = Safetensors.read(file)) {
            json = f.metadata().get(METADATA);
        }
        if (json == null) throw new IllegalArgumentException(file + ": no '" + METADATA + "' metadata (not a LoRA-Drop adapter file)");
        PeftConfig cfg;
        LinkedHashMap<String, String> shared = new LinkedHashMap<>();
        try {
            Map<String, Object> j = Json.asMap(Json.parse(json), METADATA);
            Object c = j.get("peft_config");
            if (c == null) throw new IllegalArgumentException("missing '" + METADATA + ".peft_config'");
            cfg = PeftFiles.parseConfig(Json.asMap(c, "peft_config"), file);
            Object s = j.get("shared");
            if (s == null) throw new IllegalArgumentException("missing '" + METADATA + ".shared'");
            for (var e : Json.asMap(s, "shared").entrySet()) shared.put(e.getKey(), Json.asString(e.getValue(), "shared." + e.getKey()));
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(file + ": ")) throw e;
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        if (cfg.type() != PeftConfig.Type.LORA || cfg.useDora() || cfg.loraInit() != PeftConfig.LoraInit.DEFAULT)
            throw new IllegalArgumentException(file + ": a LoRA-Drop file holds a plain LoRA config, this one is " + cfg);
        List<TargetResolver.Target> targets;
        try {
            targets = TargetResolver.resolve(pm.model(), cfg);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        LinkedHashMap<String, TargetResolver.Target> byPath = new LinkedHashMap<>();
        for (TargetResolver.Target t : targets) {
            if (t.embedding()) throw new IllegalArgumentException(file + ": target '" + t.path() + "' is an embedding; LoRA-Drop adapts Linear layers only");
            byPath.put(t.path(), t);
        }
        for (String p : shared.keySet())
            if (!byPath.containsKey(p)) throw new IllegalArgumentException(file + ": shared module '" + p + "' is not a target of the file's config in this model");
        // key → expected shape; a group's members must agree on shape, rank and α
        LinkedHashMap<String, int[]> expected = new LinkedHashMap<>();
        LinkedHashMap<String, String> firstOfGroup = new LinkedHashMap<>();
        for (TargetResolver.Target t : targets) {
            int r = TargetResolver.rankFor(cfg, t.path());
            String g = shared.get(t.path());
            String k = g == null ? PeftModel.PREFIX + t.path() : SHARED_PREFIX + g;
            if (g != null) {
                String first = firstOfGroup.putIfAbsent(g, t.path());
                if (first != null) {
                    TargetResolver.Target f = byPath.get(first);
                    if (f.in() != t.in() || f.out() != t.out() || TargetResolver.rankFor(cfg, first) != r
                            || TargetResolver.alphaFor(cfg, first) != TargetResolver.alphaFor(cfg, t.path()))
                        throw new IllegalArgumentException(file + ": group '" + g + "' mixes '" + first + "' (" + f.in() + " → " + f.out() + ", r " + TargetResolver.rankFor(cfg, first)
                                + ") and '" + t.path() + "' (" + t.in() + " → " + t.out() + ", r " + r + "); a shared pair needs one shape, rank and α");
                    continue;
                }
            }
            expected.put(k + ".lora_A.weight", new int[] {r, t.in()});
            expected.put(k + ".lora_B.weight", new int[] {t.out(), r});
        }
        LinkedHashMap<String, Tensor> tensors = PeftFiles.readExactly(file, expected, Set.of());
        try {
            pm.addAdapter(name, cfg);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        share(pm, name, shared);
        try (var g = Grad.disabled()) {
            for (Map.Entry<String, LoraLinear> e : loraLayers(pm, name).entrySet()) {
                String grp = shared.get(e.getKey());
                String k = grp == null ? PeftModel.PREFIX + e.getKey() : SHARED_PREFIX + grp;
                e.getValue().a(name).data().copyFrom(tensors.get(k + ".lora_A.weight"));
                e.getValue().b(name).data().copyFrom(tensors.get(k + ".lora_B.weight"));
            }
        }
    }

    /** The number of distinct LoRA parameters (elements) of adapter {@code name}: a shared pair counts once. */
    public static long parameters(PeftModel pm, String name) {
        java.util.Set<Variable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long n = 0;
        for (LoraLinear l : loraLayers(pm, name).values())
            for (Variable p : l.adapterParameters(name)) if (seen.add(p)) n += p.numel();
        return n;
    }
}
