package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Json;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsException;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.transformer.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * PEFT adapter directories: {@code adapter_config.json} + {@code adapter_model.safetensors} with PEFT's key names
 * ({@code base_model.model.<module>.lora_A.weight} (r, in), {@code .lora_B.weight} (out, r), on an embedding
 * {@code .lora_embedding_A} (r, num) and {@code .lora_embedding_B} (dim, r),
 * DoRA's {@code .lora_magnitude_vector} (out), {@code .vera_lambda_b}, {@code .vera_lambda_d},
 * {@code base_model.vera_A}, {@code base_model.vera_B}).
 * Reading checks every key and shape before touching the model: a file that is malformed or does not fit the
 * model is an {@link IllegalArgumentException} ({@link SafetensorsException} for the tensors) naming it, and an
 * {@link IOException} means the file could not be read. Writing is atomic per file.
 *
 * <p><b>Output slices</b> (vectorgrad's format; PEFT cannot load it): an adapter on {@code c_attn.q} /
 * {@code .k} / {@code .v} ({@link OutputSlice}) is written in the same two files, with
 * <ul>
 *   <li>{@code target_modules} holding the slice names as given ({@code ["c_attn.q", "c_attn.v"]}) and
 *   {@code peft_type} {@code LORA} or {@code VERA} with all their usual keys;</li>
 *   <li>one extra key, {@value #OUTPUT_SLICES}: per sliced target name, the rows of the layer's weight [out, in] it
 *   adapts, {@code {"c_attn.q": {"offset": 0, "size": 768, "out_features": 2304}, ...}} (in HF's Conv1D layout,
 *   weight [in, out], these are columns); loading checks it against the model;</li>
 *   <li>tensors under the target path: {@code base_model.model.transformer.h.0.attn.c_attn.q.lora_A.weight}
 *   (r, in), {@code ...c_attn.q.lora_B.weight} (size, r); VeRA {@code ...c_attn.q.vera_lambda_b} (size),
 *   {@code ...c_attn.q.vera_lambda_d} (r), the shared {@code base_model.vera_A} (r, max in) and
 *   {@code base_model.vera_B} (max out, r) with max out the largest target's out: n_embd for slices alone.</li>
 * </ul>
 * The native file ({@link #saveNative}) holds the same tensors with that config in its metadata. An adapter
 * without slices is written exactly as before, without the extra key.
 */
public final class PeftFiles {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String VERA_A = "base_model.vera_A";
    public static final String VERA_B = "base_model.vera_B";
    /** The config key listing an adapter's output slices (vectorgrad only; absent when it has none). */
    public static final String OUTPUT_SLICES = "vectorgrad_output_slices";

    private PeftFiles() {}

    /** Reads a PEFT directory's config. */
    public static PeftConfig readConfig(Path dir) throws IOException {
        return parseConfig(readConfigJson(dir), dir.resolve(CONFIG));
    }

    private static Map<String, Object> readConfigJson(Path dir) throws IOException {
        Path f = dir.resolve(CONFIG);
        if (!Files.isRegularFile(f)) throw new IOException(dir + ": no " + CONFIG + " (not a PEFT adapter directory)");
        Object parsed = Json.read(f); // not UTF-8 or not JSON: an IllegalArgumentException naming f
        if (!(parsed instanceof Map<?, ?>)) throw new IllegalArgumentException(f + ": " + CONFIG + " is not a JSON object");
        return Json.asMap(parsed, CONFIG);
    }

    /**
     * The config in JSON object {@code j} read from {@code f}; any malformed or invalid value is an
     * {@link IllegalArgumentException} naming {@code f} and the key.
     */
    static PeftConfig parseConfig(Map<String, Object> j, Path f) {
        try {
            return parseConfigValues(j, f);
        } catch (IllegalArgumentException e) { // Json's typed access and PeftConfig.Builder.build() name the key
            if (e.getMessage() != null && e.getMessage().startsWith(f + ": ")) throw e;
            throw new IllegalArgumentException(f + ": " + e.getMessage(), e);
        }
    }

    private static PeftConfig parseConfigValues(Map<String, Object> j, Path f) {
        String type = Json.asString(require(j, "peft_type", f), "peft_type");
        if (!List.of("LORA", "VERA", "ADALORA", "FLORA", "BOTTLENECK").contains(type)) throw new IllegalArgumentException(f + ": peft_type '" + type + "' is not supported (LORA, VERA, ADALORA, FLORA, BOTTLENECK)");
        int r = Json.asInt(require(j, type.equals("ADALORA") ? "init_r" : "r", f), type.equals("ADALORA") ? "init_r" : "r"); // AdaLoRA ignores r
        if (r <= 0) throw new IllegalArgumentException(f + ": r must be positive, got " + r);
        PeftConfig.Builder c;
        switch (type) {
            case "LORA" -> {
                c = PeftConfig.lora(r);
                if (j.get("lora_alpha") != null) c.alpha(Json.asDouble(j.get("lora_alpha"), "lora_alpha"));
                if (j.get("lora_dropout") != null) c.dropout(Json.asDouble(j.get("lora_dropout"), "lora_dropout"));
                c.rslora(bool(j, "use_rslora"));
                c.dora(bool(j, "use_dora"));
                if (j.get("rank_pattern") != null)
                    for (var e : Json.asMap(j.get("rank_pattern"), "rank_pattern").entrySet()) c.rankPattern(e.getKey(), Json.asInt(e.getValue(), "rank_pattern." + e.getKey()));
                if (j.get("alpha_pattern") != null)
                    for (var e : Json.asMap(j.get("alpha_pattern"), "alpha_pattern").entrySet()) c.alphaPattern(e.getKey(), Json.asDouble(e.getValue(), "alpha_pattern." + e.getKey()));
            }
            case "VERA" -> {
                c = PeftConfig.vera(r);
                if (j.get("vera_dropout") != null) c.dropout(Json.asDouble(j.get("vera_dropout"), "vera_dropout"));
                if (j.get("projection_prng_key") != null) c.projectionPrngKey(Json.asLong(j.get("projection_prng_key"), "projection_prng_key"));
                c.saveProjection(j.get("save_projection") == null || Json.asBoolean(j.get("save_projection"), "save_projection"));
                if (j.get("d_initial") != null) c.dInitial(Json.asDouble(j.get("d_initial"), "d_initial"));
            }
            case "BOTTLENECK" -> { // vectorgrad's own config (AdapterHub's key names), not an AdapterHub adapter_config.json
                c = PeftConfig.builder(PeftConfig.Type.BOTTLENECK).r(r)
                        .reductionFactor(Json.asDouble(require(j, "reduction_factor", f), "reduction_factor"));
                String nl = Json.asString(require(j, "non_linearity", f), "non_linearity");
                switch (nl) {
                    case "relu" -> c.nonLinearity(PeftConfig.NonLinearity.RELU);
                    case "swish" -> c.nonLinearity(PeftConfig.NonLinearity.SWISH);
                    default -> throw new IllegalArgumentException(f + ": non_linearity '" + nl + "' is not supported (relu, swish)");
                }
                if (j.get("dropout") != null) c.dropout(Json.asDouble(j.get("dropout"), "dropout"));
            }
            case "ADALORA" -> {
                c = PeftConfig.adalora(r, Json.asInt(require(j, "target_r", f), "target_r"), Json.asInt(require(j, "total_step", f), "total_step"));
                if (j.get("lora_alpha") != null) c.alpha(Json.asDouble(j.get("lora_alpha"), "lora_alpha"));
                if (j.get("lora_dropout") != null) c.dropout(Json.asDouble(j.get("lora_dropout"), "lora_dropout"));
                c.schedule(j.get("tinit") == null ? 0 : Json.asInt(j.get("tinit"), "tinit"), j.get("tfinal") == null ? 0 : Json.asInt(j.get("tfinal"), "tfinal"),
                        j.get("deltaT") == null ? 1 : Json.asInt(j.get("deltaT"), "deltaT"));
                c.betas(j.get("beta1") == null ? 0.85 : Json.asDouble(j.get("beta1"), "beta1"), j.get("beta2") == null ? 0.85 : Json.asDouble(j.get("beta2"), "beta2"));
                if (j.get("orth_reg_weight") != null) c.orthRegWeight(Json.asDouble(j.get("orth_reg_weight"), "orth_reg_weight"));
                if (j.get("rank_pattern") != null)
                    for (var e : Json.asMap(j.get("rank_pattern"), "rank_pattern").entrySet()) {
                        List<Boolean> keep = new ArrayList<>();
                        for (Object o : Json.asList(e.getValue(), "rank_pattern." + e.getKey())) keep.add(Json.asBoolean(o, "rank_pattern." + e.getKey()));
                        c.adaRankPattern(e.getKey(), keep);
                    }
            }
            case "FLORA" -> { // vectorgrad's own type for FLoRA (Si et al.); Hugging Face PEFT has none
                c = PeftConfig.flora(r);
                if (j.get("lora_alpha") != null) c.alpha(Json.asDouble(j.get("lora_alpha"), "lora_alpha"));
                if (j.get("lora_dropout") != null) c.dropout(Json.asDouble(j.get("lora_dropout"), "lora_dropout"));
                if (j.get("rank_pattern") != null)
                    for (var e : Json.asMap(j.get("rank_pattern"), "rank_pattern").entrySet()) c.rankPattern(e.getKey(), Json.asInt(e.getValue(), "rank_pattern." + e.getKey()));
                if (j.get("alpha_pattern") != null)
                    for (var e : Json.asMap(j.get("alpha_pattern"), "alpha_pattern").entrySet()) c.alphaPattern(e.getKey(), Json.asDouble(e.getValue(), "alpha_pattern." + e.getKey()));
            }
            default -> throw new IllegalArgumentException(f + ": peft_type '" + type + "' is not supported (LORA, VERA, ADALORA, FLORA)");
        }
        c.fanInFanOut(bool(j, "fan_in_fan_out"));
        Object t = require(j, "target_modules", f);
        if (t instanceof String s) {
            if (s.equals(PeftConfig.ALL_LINEAR)) c.targets(s);
            else c.targetRegex(s);
        } else {
            c.targets(strings(t, "target_modules"));
        }
        Object ex = j.get("exclude_modules");
        if (ex instanceof String s) c.excludeRegex(s);
        else if (ex != null) c.exclude(strings(ex, "exclude_modules").toArray(String[]::new));
        Object lt = j.get("layers_to_transform");
        if (lt instanceof List<?> l) {
            List<Integer> idx = new ArrayList<>();
            for (Object o : l) idx.add(Json.asInt(o, "layers_to_transform"));
            c.layers(idx.toArray(Integer[]::new));
        } else if (lt != null) c.layers(Json.asInt(lt, "layers_to_transform"));
        Object ms = j.get("modules_to_save");
        if (ms != null) c.modulesToSave(strings(ms, "modules_to_save").toArray(String[]::new));
        Object lp = j.get("layers_pattern");
        if (lp instanceof String s) c.layersPattern(s);
        else if (lp != null) c.layersPattern(strings(lp, "layers_pattern").toArray(String[]::new));
        return c.build();
    }

    private static List<String> strings(Object list, String what) {
        List<String> names = new ArrayList<>();
        for (Object o : Json.asList(list, what)) names.add(Json.asString(o, what));
        return names;
    }

    private static Object require(Map<String, Object> j, String key, Path f) {
        Object v = j.get(key);
        if (v == null) throw new IllegalArgumentException(f + ": missing '" + key + "'");
        return v;
    }

    private static boolean bool(Map<String, Object> j, String key) {
        Object v = j.get(key);
        return v != null && Json.asBoolean(v, key);
    }

    /** Loads a PEFT directory into {@code model} as a new {@link PeftModel} with adapter "default". */
    public static PeftModel load(Module model, Path dir) throws IOException {
        PeftModel pm = PeftModel.of(model);
        load(pm, dir, "default");
        return pm;
    }

    /**
     * Adds the adapter of a PEFT directory under {@code name}. Every key and shape is checked against the model
     * first; a missing key, a wrong shape or an unexpected tensor is an error naming it, and then nothing changed.
     */
    public static void load(PeftModel pm, Path dir, String name) throws IOException {
        Map<String, Object> j = readConfigJson(dir);
        PeftConfig cfg = parseConfig(j, dir.resolve(CONFIG));
        Path wf = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(wf)) throw new IOException(dir + ": no " + WEIGHTS);
        apply(pm, cfg, j.get(OUTPUT_SLICES), dir.resolve(CONFIG), wf, name);
    }

    /**
     * The tensors {@code expected} names (key → shape) read from {@code file}: a missing key, a wrong shape or a
     * tensor it does not name (other than {@code tolerated}) is a {@link SafetensorsException} naming the file and the key.
     */
    static LinkedHashMap<String, Tensor> readExactly(Path file, Map<String, int[]> expected, Set<String> tolerated) throws IOException {
        LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
        try (SafetensorsFile f = Safetensors.read(file)) {
            TreeSet<String> unexpected = new TreeSet<>(f.names());
            for (Map.Entry<String, int[]> e : expected.entrySet()) {
                String k = e.getKey();
                if (!f.contains(k)) throw new SafetensorsException(file + ": missing tensor '" + k + "' (expected shape " + Arrays.toString(e.getValue()) + ")");
                Tensor t = f.tensor(k);
                if (!Arrays.equals(t.shape(), e.getValue()))
                    throw new SafetensorsException(file + ": tensor '" + k + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
                tensors.put(k, t);
                unexpected.remove(k);
            }
            unexpected.removeAll(tolerated);
            if (!unexpected.isEmpty()) throw new SafetensorsException(file + ": unexpected tensor(s) " + unexpected + " for this config and model");
        }
        return tensors;
    }

    private static void apply(PeftModel pm, PeftConfig cfg, Object slices, Path cf, Path wf, String name) throws IOException {
        Path dir = wf;
        List<TargetResolver.Target> targets;
        try {
            targets = TargetResolver.resolve(pm.model(), cfg);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
        try {
            checkSlices(slices, cfg, pm, targets, cf);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(cf + ": ")) throw e;
            throw new IllegalArgumentException(cf + ": " + e.getMessage(), e);
        }
        LinkedHashMap<String, int[]> expected = new LinkedHashMap<>();
        int maxIn = 0, maxOut = 0;
        for (TargetResolver.Target t : targets) {
            String k = PeftModel.PREFIX + t.path();
            // each layer class names its own keys and shapes (PeftModel.fileShapes picks the class of the method)
            for (var e : PeftModel.fileShapes(cfg, t).entrySet()) expected.put(k + e.getKey(), e.getValue());
            if (t.embedding()) continue; // an embedding does not size VeRA's projections (VeRA refuses embeddings anyway)
            maxIn = Math.max(maxIn, t.in());
            maxOut = Math.max(maxOut, t.out());
        }
        if (cfg.type() == PeftConfig.Type.VERA && cfg.saveProjection()) {
            expected.put(VERA_A, new int[] {cfg.r(), maxIn});
            expected.put(VERA_B, new int[] {maxOut, cfg.r()});
        }
        LinkedHashMap<String, Variable> saved = new LinkedHashMap<>();
        try {
            for (var m : PeftModel.modulesToSave(pm.model(), cfg).entrySet())
                for (var e : m.getValue().namedParameters().entrySet()) {
                    String k = PeftModel.PREFIX + m.getKey() + "." + e.getKey();
                    expected.put(k, e.getValue().shape());
                    saved.put(k, e.getValue());
                }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
        // stored projections in a key-only VeRA file are tolerated: regenerated from the key anyway
        Map<String, Tensor> tensors = readExactly(wf, expected,
                cfg.type() == PeftConfig.Type.VERA && !cfg.saveProjection() ? Set.of(VERA_A, VERA_B) : Set.of());
        VeraProjections proj = null;
        if (cfg.type() == PeftConfig.Type.VERA && cfg.saveProjection())
            proj = new VeraProjections(cfg.projectionPrngKey(), cfg.r(), maxIn, maxOut, tensors.get(VERA_A), tensors.get(VERA_B));
        try {
            pm.addAdapter(name, cfg, proj);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
        try (var g = Grad.disabled()) {
            for (TargetResolver.Target t : targets) {
                String k = PeftModel.PREFIX + t.path();
                for (var e : layerWith(pm, t.path(), name).fileTensors(name).entrySet()) e.getValue().data().copyFrom(tensors.get(k + e.getKey()));
            }
            for (var e : saved.entrySet()) e.getValue().data().copyFrom(tensors.get(e.getKey()));
        }
    }

    /** Metadata key of a native adapter file holding its config (JSON). */
    public static final String NATIVE_CONFIG = "vectorgrad.peft_config";

    /**
     * A native adapter file: one safetensors file with only what was trained (LoRA's A and B, VeRA's λ vectors,
     * never VeRA's A and B) under PEFT's keys, and the config (method, r, α, targets, key) in its metadata.
     * A VeRA file is ≈ 4 bytes × Σ(out + r) plus the header; loading regenerates A and B from the key.
     * A PiSSA / MiLoRA adapter is written converted, as {@link #save(PeftModel, String, Path)} says.
     */
    public static void saveNative(PeftModel pm, String name, Path file) throws IOException {
        Portable p = portable(pm, name, false);
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt")
                .metadata(NATIVE_CONFIG, Json.write(withSlices(configJson(p.config(), false), p.config(), pm, name)));
        for (var e : p.tensors().entrySet()) w.put(e.getKey(), e.getValue());
        if (file.getParent() != null) Files.createDirectories(file.getParent());
        w.write(file);
    }

    /** Adds the adapter of a native file (or a {@link LoraDrop} file) under {@code name}; checks as {@link #load(PeftModel, Path, String)}. */
    public static void loadNative(PeftModel pm, Path file, String name) throws IOException {
        String json;
        boolean loraDrop;
        try (SafetensorsFile f = Safetensors.read(file)) {
            json = f.metadata().get(NATIVE_CONFIG);
            loraDrop = f.metadata().containsKey(LoraDrop.METADATA);
        }
        if (json == null && loraDrop) {
            LoraDrop.load(pm, file, name); // shared pairs stored once: its own layout
            return;
        }
        if (json == null) throw new IllegalArgumentException(file + ": no '" + NATIVE_CONFIG + "' metadata (not a vectorgrad adapter file)");
        Map<String, Object> j;
        try {
            j = Json.asMap(Json.parse(json), NATIVE_CONFIG);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        PeftConfig cfg = parseConfig(j, file);
        apply(pm, cfg, j.get(OUTPUT_SLICES), file, file, name);
    }

    /** The adapter layer at {@code path} (a Linear wrapper in its chain, or an embedding) that holds adapter {@code name}. */
    static AdapterLayer layerWith(PeftModel pm, String path, String name) {
        return pm.layer(path, name);
    }

    /**
     * The adapter's tensors as the model holds them (for PiSSA / MiLoRA: valid on the rewritten base only; the
     * files hold {@link #portable}'s instead) under PEFT's file keys: {@code <module>.lora_A.weight} / {@code .lora_B.weight} on a
     * Linear, {@code <module>.lora_embedding_A} (r, num) / {@code .lora_embedding_B} (dim, r) on an Embedding
     * (PEFT keeps those in a ParameterDict, so there is no {@code .weight}), VeRA's λ vectors and projections.
     */
    public static LinkedHashMap<String, Tensor> stateDict(PeftModel pm, String name, boolean saveProjection) {
        PeftConfig cfg = pm.config(name);
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (String path : pm.targets(name)) {
            String k = PeftModel.PREFIX + path;
            for (var e : layerWith(pm, path, name).savedTensors(name).entrySet()) out.put(k + e.getKey(), e.getValue());
        }
        if (cfg.type() == PeftConfig.Type.VERA && saveProjection) {
            VeraProjections p = pm.projections(name);
            out.put(VERA_A, p.a());
            out.put(VERA_B, p.b());
        }
        return out;
    }

    /**
     * Writes adapter {@code name} as a PEFT directory (VeRA: with vera_A/vera_B as the config says). The file
     * always reproduces the tuned model on the <em>original</em> base model. For PiSSA and MiLoRA, whose init
     * rewrote each W₀ to the residual W₀ − s·B₀A₀, that means the conversion PEFT does with
     * {@code save_pretrained(..., path_initial_model_for_weight_conversion=...)}: a plain rank-2r LoRA with
     * A' = [A; A₀], B' = [B, −B₀] (so s·B'A' = s·BA − s·B₀A₀), {@code r} and {@code lora_alpha} doubled
     * (α·√2 with rsLoRA) and the rank / alpha patterns likewise, so that every scaling is unchanged, and
     * {@code init_lora_weights: true}. Layers of the adapter whose W₀ was not rewritten (a LoRA on an embedding)
     * get zero rows / columns. PEFT loads that directory onto the original model unchanged.
     */
    public static void save(PeftModel pm, String name, Path dir) throws IOException {
        save(pm, name, dir, pm.config(name).saveProjection());
    }

    /** {@link #save(PeftModel, String, Path)} with VeRA's projections written or not as {@code saveProjection} says. */
    public static void save(PeftModel pm, String name, Path dir, boolean saveProjection) throws IOException {
        Portable p = portable(pm, name, saveProjection);
        Files.createDirectories(dir);
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
        for (var e : p.tensors().entrySet()) w.put(e.getKey(), e.getValue());
        w.write(dir.resolve(WEIGHTS));
        AtomicFiles.writeString(dir.resolve(CONFIG), Json.writePretty(withSlices(configJson(p.config(), saveProjection), p.config(), pm, name)));
    }

    /**
     * {@code j} with {@value #OUTPUT_SLICES} added when {@code targets} has output slices: per target name of
     * {@code cfg} that selects slices, the rows of the first layer it selects (every GPT layer has the same).
     */
    static LinkedHashMap<String, Object> withSlices(LinkedHashMap<String, Object> j, PeftConfig cfg, PeftModel pm, String name) {
        LinkedHashMap<String, Object> m = sliceTable(cfg, pm, pm.targetList(name));
        if (!m.isEmpty()) j.put(OUTPUT_SLICES, m);
        return j;
    }

    /** The {@value #OUTPUT_SLICES} entries of {@code targets} (resolved from {@code cfg} on {@code pm}'s model); empty without slices. */
    private static LinkedHashMap<String, Object> sliceTable(PeftConfig cfg, PeftModel pm, List<TargetResolver.Target> targets) {
        LinkedHashMap<String, Object> m = new LinkedHashMap<>();
        if (cfg.targetModules() != null)
            for (String t : cfg.targetModules())
                for (TargetResolver.Target x : targets)
                    if (x.slice() != null && TargetResolver.nameMatches(x.path(), t)) {
                        LinkedHashMap<String, Object> e = new LinkedHashMap<>();
                        e.put("offset", x.slice().offset());
                        e.put("size", x.slice().size());
                        e.put("out_features", (long) AdapterLinear.innermost(pm.moduleAt(x.module())).outFeatures);
                        m.put(t, e);
                        break;
                    }
        return m;
    }

    /**
     * Checks a file's {@value #OUTPUT_SLICES} (null when absent) against the slices the model gives its targets:
     * the same sliced target names, each with the same rows; else an {@link IllegalArgumentException} naming
     * {@code cf}. A file without the key is accepted (the target names alone define the slices).
     */
    private static void checkSlices(Object slices, PeftConfig cfg, PeftModel pm, List<TargetResolver.Target> targets, Path cf) {
        if (slices == null) return;
        Map<String, Object> have = Json.asMap(slices, OUTPUT_SLICES);
        LinkedHashMap<String, Object> want = sliceTable(cfg, pm, targets);
        for (Map.Entry<String, Object> e : have.entrySet()) {
            Map<String, Object> s = Json.asMap(e.getValue(), OUTPUT_SLICES + "." + e.getKey());
            List<Long> got = new ArrayList<>();
            for (String k : List.of("offset", "size", "out_features")) got.add(Json.asLong(require(s, k, cf), OUTPUT_SLICES + "." + e.getKey() + "." + k));
            @SuppressWarnings("unchecked")
            Map<String, Object> w = (Map<String, Object>) want.get(e.getKey());
            if (w == null)
                throw new IllegalArgumentException(cf + ": " + OUTPUT_SLICES + " lists '" + e.getKey() + "', which is not an output slice target of this config ("
                        + (want.isEmpty() ? "it has none" : "it has " + want.keySet()) + ")");
            List<Long> exp = List.of(((Number) w.get("offset")).longValue(), ((Number) w.get("size")).longValue(), ((Number) w.get("out_features")).longValue());
            if (!got.equals(exp))
                throw new IllegalArgumentException(cf + ": " + OUTPUT_SLICES + "." + e.getKey() + " is rows [" + got.get(0) + ", " + (got.get(0) + got.get(1)) + ") of "
                        + got.get(2) + " outputs, but in this model it is rows [" + exp.get(0) + ", " + (exp.get(0) + exp.get(1)) + ") of " + exp.get(2));
        }
        for (String k : want.keySet())
            if (!have.containsKey(k)) throw new IllegalArgumentException(cf + ": " + OUTPUT_SLICES + " does not list output slice target '" + k + "'");
    }

    /** What a saved file holds for an adapter: its config and its tensors under PEFT's keys. */
    record Portable(PeftConfig config, LinkedHashMap<String, Tensor> tensors) {}

    /**
     * The config and tensors that reproduce adapter {@code name} on the original base model: {@link #stateDict}
     * as it is, or, when the adapter's init rewrote base weights (PiSSA, MiLoRA), the rank-2r conversion
     * described at {@link #save(PeftModel, String, Path)}.
     */
    static Portable portable(PeftModel pm, String name, boolean saveProjection) {
        Portable p = adapterPortable(pm, name, saveProjection);
        // modules_to_save: the whole module, as PEFT 0.15+ saves it (ModulesToSaveWrapper.adapter_state_dict drops
        // "modules_to_save.<adapter>."): base_model.model.<path>.<parameter>
        for (var m : PeftModel.modulesToSave(pm.model(), p.config()).entrySet())
            for (var e : m.getValue().namedParameters().entrySet())
                p.tensors().put(PeftModel.PREFIX + m.getKey() + "." + e.getKey(), e.getValue().data().contiguous());
        return p;
    }

    private static Portable adapterPortable(PeftModel pm, String name, boolean saveProjection) {
        PeftConfig cfg = pm.config(name);
        LinkedHashMap<String, Tensor> sd = stateDict(pm, name, saveProjection);
        if (cfg.type() == PeftConfig.Type.ADALORA) { // PEFT writes the kept-triplet masks into the config's rank_pattern
            PeftConfig.Builder b = cfg.toBuilder();
            for (String path : pm.targets(name)) {
                boolean[] keep = ((AdaLoraLinear) layerWith(pm, path, name)).pattern(name);
                if (keep == null) continue;
                List<Boolean> l = new ArrayList<>();
                for (boolean x : keep) l.add(x);
                b.adaRankPattern(path + ".lora_E", l);
            }
            return new Portable(b.build(), sd);
        }
        boolean mutated = false;
        for (String path : pm.targets(name))
            if (layerWith(pm, path, name) instanceof LoraLinear l && l.initialFactors(name) != null)
                mutated = true;
        if (!mutated) return new Portable(cfg, sd);
        // r → 2r with α → 2α (α/r unchanged) or, with rsLoRA, α → √2·α (α/√r unchanged)
        double f = cfg.useRslora() ? Math.sqrt(2) : 2;
        PeftConfig.Builder b = cfg.toBuilder().r(2 * cfg.r()).alpha(cfg.alpha() * f).init(PeftConfig.LoraInit.DEFAULT);
        for (Map.Entry<String, Integer> e : cfg.rankPattern().entrySet()) b.rankPattern(e.getKey(), 2 * e.getValue());
        for (Map.Entry<String, Double> e : cfg.alphaPattern().entrySet()) b.alphaPattern(e.getKey(), e.getValue() * f);
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        try (var g = Grad.disabled()) {
            for (String path : pm.targets(name)) {
                String k = PeftModel.PREFIX + path;
                if (layerWith(pm, path, name) instanceof LoraEmbedding) {
                    Tensor a = sd.get(k + ".lora_embedding_A"), bb = sd.get(k + ".lora_embedding_B");
                    out.put(k + ".lora_embedding_A", Tensor.concat(0, a, Tensor.zerosLike(a)));
                    out.put(k + ".lora_embedding_B", Tensor.concat(1, bb, Tensor.zerosLike(bb)));
                    continue;
                }
                Tensor a = sd.get(k + ".lora_A.weight"), bb = sd.get(k + ".lora_B.weight");
                Tensor[] init = ((LoraLinear) layerWith(pm, path, name)).initialFactors(name);
                Tensor a0 = init == null ? Tensor.zerosLike(a) : init[0], b0 = init == null ? Tensor.zerosLike(bb) : init[1];
                out.put(k + ".lora_A.weight", Tensor.concat(0, a, a0).contiguous()); // A' = [A; A₀]   (2r × in)
                out.put(k + ".lora_B.weight", Tensor.concat(1, bb, b0.neg()).contiguous()); // B' = [B, −B₀] (out × 2r)
            }
        }
        for (var e : sd.entrySet()) out.putIfAbsent(e.getKey(), e.getValue()); // DoRA's magnitude: the same on W and on W_res + s·B₀A₀
        return new Portable(b.build(), out);
    }

    /**
     * Writes VeRA adapter {@code name} as an exact LoRA adapter: per layer B' = diag(λ_b)·B_s, A' = diag(λ_d)·A_s,
     * r = VeRA's r and lora_alpha = r (scaling 1). Lossless, unlike PEFT's SVD-based conversion.
     */
    public static void saveVeraAsLora(PeftModel pm, String name, Path dir) throws IOException {
        PeftConfig v = pm.config(name);
        if (v.type() != PeftConfig.Type.VERA) throw new IllegalArgumentException("adapter '" + name + "' is not a VeRA adapter");
        // r = VeRA's r and α = r: scaling 1, so B'A' is ΔW exactly
        PeftConfig.Builder b = PeftConfig.lora(v.r()).alpha(v.r()).fanInFanOut(v.fanInFanOut()).dropout(v.dropout());
        if (v.targetRegex() != null) b.targetRegex(v.targetRegex());
        else b.targets(v.targetModules());
        if (v.excludeModules() != null) b.exclude(v.excludeModules().toArray(String[]::new));
        if (v.excludeRegex() != null) b.excludeRegex(v.excludeRegex());
        if (v.layersToTransform() != null) b.layers(v.layersToTransform().toArray(Integer[]::new));
        if (v.layersPattern() != null) b.layersPattern(v.layersPattern().toArray(String[]::new));
        PeftConfig c = b.build();
        Files.createDirectories(dir);
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
        for (String path : pm.targets(name)) {
            Tensor[] ba = ((VeraLinear) layerWith(pm, path, name)).loraPair(name);
            w.put(PeftModel.PREFIX + path + ".lora_A.weight", ba[1]);
            w.put(PeftModel.PREFIX + path + ".lora_B.weight", ba[0]);
        }
        w.write(dir.resolve(WEIGHTS));
        AtomicFiles.writeString(dir.resolve(CONFIG), Json.writePretty(withSlices(configJson(c, false), c, pm, name)));
    }

    static LinkedHashMap<String, Object> configJson(PeftConfig cfg, boolean saveProjection) {
        LinkedHashMap<String, Object> j = new LinkedHashMap<>();
        j.put("base_model_name_or_path", null);
        j.put("bias", "none");
        j.put("fan_in_fan_out", cfg.fanInFanOut());
        j.put("inference_mode", true);
        j.put("layers_pattern", cfg.layersPattern());
        j.put("layers_to_transform", cfg.layersToTransform());
        j.put("modules_to_save", cfg.modulesToSave() == null ? null : new ArrayList<>(cfg.modulesToSave()));
        j.put("r", cfg.r());
        j.put("revision", null);
        j.put("target_modules", cfg.targetRegex() != null ? cfg.targetRegex()
                : (cfg.allLinear() ? PeftConfig.ALL_LINEAR : new ArrayList<>(cfg.targetModules())));
        Object exclude = cfg.excludeRegex() != null ? cfg.excludeRegex() : cfg.excludeModules();
        // PEFT 0.21's VeraConfig has no exclude_modules field: write it for VeRA only when set (vectorgrad reads it)
        if (exclude != null || cfg.type() != PeftConfig.Type.VERA) j.put("exclude_modules", exclude);
        j.put("task_type", null);
        if (cfg.type() == PeftConfig.Type.LORA) {
            j.put("peft_type", "LORA");
            j.put("lora_alpha", cfg.alpha());
            j.put("lora_dropout", cfg.dropout());
            j.put("use_rslora", cfg.useRslora());
            j.put("use_dora", cfg.useDora());
            j.put("init_lora_weights", true);
            j.put("rank_pattern", new LinkedHashMap<>(cfg.rankPattern()));
            j.put("alpha_pattern", new LinkedHashMap<>(cfg.alphaPattern()));
        } else if (cfg.type() == PeftConfig.Type.FLORA) {
            j.put("peft_type", "FLORA"); // not a PEFT type: PEFT cannot load this directory, vectorgrad can
            j.put("lora_alpha", cfg.alpha());
            j.put("lora_dropout", cfg.dropout());
            j.put("rank_pattern", new LinkedHashMap<>(cfg.rankPattern()));
            j.put("alpha_pattern", new LinkedHashMap<>(cfg.alphaPattern()));
        } else if (cfg.type() == PeftConfig.Type.BOTTLENECK) {
            j.put("peft_type", "BOTTLENECK");
            j.put("reduction_factor", cfg.reductionFactor());
            j.put("non_linearity", cfg.nonLinearity().name().toLowerCase(java.util.Locale.ROOT));
            j.put("dropout", cfg.dropout());
            j.put("init_weights", "zero_up"); // informational: up-projection zero, down kaiming_uniform (AdapterHub's mam_adapter)
        } else if (cfg.type() == PeftConfig.Type.ADALORA) {
            j.put("peft_type", "ADALORA");
            j.put("r", 8); // as PEFT writes it: LoraConfig's default r, which AdaLoRA ignores (init_r is the rank)
            j.put("lora_alpha", cfg.alpha());
            j.put("use_rslora", false);
            j.put("use_dora", false);
            j.put("lora_dropout", cfg.dropout());
            j.put("init_lora_weights", true);
            j.put("init_r", cfg.r());
            j.put("target_r", cfg.targetR());
            j.put("tinit", cfg.tinit());
            j.put("tfinal", cfg.tfinal());
            j.put("deltaT", cfg.deltaT());
            j.put("beta1", cfg.beta1());
            j.put("beta2", cfg.beta2());
            j.put("orth_reg_weight", cfg.orthRegWeight());
            j.put("total_step", cfg.totalStep());
            j.put("rank_pattern", cfg.adaRankPattern().isEmpty() ? null : new LinkedHashMap<>(cfg.adaRankPattern()));
        } else {
            j.put("peft_type", "VERA");
            j.put("projection_prng_key", cfg.projectionPrngKey());
            j.put("save_projection", saveProjection);
            j.put("vera_dropout", cfg.dropout());
            j.put("d_initial", cfg.dInitial());
            j.put("init_weights", true);
        }
        return j;
    }

    /** The gradients of the adapter's trainable parameters under PEFT's names ({@code grad.} not included). */
    public static LinkedHashMap<String, Tensor> grads(PeftModel pm) {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Variable> e : pm.model().namedParameters().entrySet()) {
            Variable p = e.getValue();
            if (!p.requiresGrad()) continue;
            out.put(PeftModel.peftName(e.getKey()), p.grad() == null ? Tensor.zeros(p.shape()) : p.grad());
        }
        return out;
    }
}
