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
import java.util.TreeSet;

/**
 * PEFT adapter directories: {@code adapter_config.json} + {@code adapter_model.safetensors} with PEFT's key names
 * ({@code base_model.model.<module>.lora_A.weight} (r, in), {@code .lora_B.weight} (out, r), on an embedding
 * {@code .lora_embedding_A} (r, num) and {@code .lora_embedding_B} (dim, r),
 * {@code .vera_lambda_b}, {@code .vera_lambda_d}, {@code base_model.vera_A}, {@code base_model.vera_B}).
 * Reading checks every key and shape before touching the model: a file that is malformed or does not fit the
 * model is an {@link IllegalArgumentException} ({@link SafetensorsException} for the tensors) naming it, and an
 * {@link IOException} means the file could not be read. Writing is atomic per file.
 */
public final class PeftFiles {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String VERA_A = "base_model.vera_A";
    public static final String VERA_B = "base_model.vera_B";

    private PeftFiles() {}

    /** Reads a PEFT directory's config. */
    public static PeftConfig readConfig(Path dir) throws IOException {
        Path f = dir.resolve(CONFIG);
        if (!Files.isRegularFile(f)) throw new IOException(dir + ": no " + CONFIG + " (not a PEFT adapter directory)");
        Map<String, Object> j;
        Object parsed = Json.read(f); // not UTF-8 or not JSON: an IllegalArgumentException naming f
        if (!(parsed instanceof Map<?, ?>)) throw new IllegalArgumentException(f + ": " + CONFIG + " is not a JSON object");
        j = Json.asMap(parsed, CONFIG);
        return parseConfig(j, f);
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
        if (!type.equals("LORA") && !type.equals("VERA")) throw new IllegalArgumentException(f + ": peft_type '" + type + "' is not supported (LORA, VERA)");
        int r = Json.asInt(require(j, "r", f), "r");
        if (r <= 0) throw new IllegalArgumentException(f + ": r must be positive, got " + r);
        PeftConfig.Builder c;
        switch (type) {
            case "LORA" -> {
                c = PeftConfig.lora(r);
                if (j.get("lora_alpha") != null) c.alpha(Json.asDouble(j.get("lora_alpha"), "lora_alpha"));
                if (j.get("lora_dropout") != null) c.dropout(Json.asDouble(j.get("lora_dropout"), "lora_dropout"));
                c.rslora(bool(j, "use_rslora"));
                if (bool(j, "use_dora")) throw new IllegalArgumentException(f + ": use_dora is not supported");
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
            default -> throw new IllegalArgumentException(f + ": peft_type '" + type + "' is not supported (LORA, VERA)");
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
        PeftConfig cfg = readConfig(dir);
        Path wf = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(wf)) throw new IOException(dir + ": no " + WEIGHTS);
        apply(pm, cfg, wf, name);
    }

    private static void apply(PeftModel pm, PeftConfig cfg, Path wf, String name) throws IOException {
        Path dir = wf;
        List<PeftModel.Target> targets;
        try {
            targets = PeftModel.resolveTargets(pm.model(), cfg);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
        LinkedHashMap<String, int[]> expected = new LinkedHashMap<>();
        int maxIn = 0, maxOut = 0;
        for (PeftModel.Target t : targets) {
            String k = PeftModel.PREFIX + t.path();
            if (t.embedding()) {
                int r = PeftModel.rankFor(cfg, t.path());
                expected.put(k + ".lora_embedding_A", new int[] {r, t.in()});
                expected.put(k + ".lora_embedding_B", new int[] {t.out(), r});
                continue; // an embedding does not size VeRA's projections (VeRA refuses embeddings anyway)
            }
            if (cfg.type() == PeftConfig.Type.LORA) {
                int r = PeftModel.rankFor(cfg, t.path());
                expected.put(k + ".lora_A.weight", new int[] {r, t.in()});
                expected.put(k + ".lora_B.weight", new int[] {t.out(), r});
            } else {
                expected.put(k + ".vera_lambda_b", new int[] {t.out()});
                expected.put(k + ".vera_lambda_d", new int[] {cfg.r()});
            }
            maxIn = Math.max(maxIn, t.in());
            maxOut = Math.max(maxOut, t.out());
        }
        if (cfg.type() == PeftConfig.Type.VERA && cfg.saveProjection()) {
            expected.put(VERA_A, new int[] {cfg.r(), maxIn});
            expected.put(VERA_B, new int[] {maxOut, cfg.r()});
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try (SafetensorsFile f = Safetensors.read(wf)) {
            TreeSet<String> unexpected = new TreeSet<>(f.names());
            for (Map.Entry<String, int[]> e : expected.entrySet()) {
                String k = e.getKey();
                if (!f.contains(k)) throw new SafetensorsException(wf + ": missing tensor '" + k + "' (expected shape " + Arrays.toString(e.getValue()) + ")");
                Tensor t = f.tensor(k);
                if (!Arrays.equals(t.shape(), e.getValue()))
                    throw new SafetensorsException(wf + ": tensor '" + k + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
                tensors.put(k, t);
                unexpected.remove(k);
            }
            if (cfg.type() == PeftConfig.Type.VERA && !cfg.saveProjection()) {
                unexpected.remove(VERA_A); // tolerated; regenerated from the key anyway
                unexpected.remove(VERA_B);
            }
            if (!unexpected.isEmpty()) throw new SafetensorsException(wf + ": unexpected tensor(s) " + unexpected + " for this config and model");
        }
        VeraProjections proj = null;
        if (cfg.type() == PeftConfig.Type.VERA && cfg.saveProjection())
            proj = new VeraProjections(cfg.projectionPrngKey(), cfg.r(), maxIn, maxOut, tensors.get(VERA_A), tensors.get(VERA_B));
        try {
            pm.addAdapter(name, cfg, proj);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
        try (var g = Grad.disabled()) {
            for (PeftModel.Target t : targets) {
                String k = PeftModel.PREFIX + t.path();
                if (t.embedding()) {
                    LoraEmbedding le = embeddingWith(pm, t.path(), name);
                    le.a(name).data().copyFrom(tensors.get(k + ".lora_embedding_A"));
                    le.b(name).data().copyFrom(tensors.get(k + ".lora_embedding_B"));
                    continue;
                }
                AdapterLinear w = layerWith(pm, t.path(), name);
                if (w instanceof LoraLinear l) {
                    l.a(name).data().copyFrom(tensors.get(k + ".lora_A.weight"));
                    l.b(name).data().copyFrom(tensors.get(k + ".lora_B.weight"));
                } else {
                    VeraLinear v = (VeraLinear) w;
                    v.lambdaB(name).data().copyFrom(tensors.get(k + ".vera_lambda_b"));
                    v.lambdaD(name).data().copyFrom(tensors.get(k + ".vera_lambda_d"));
                }
            }
        }
    }

    /** Metadata key of a native adapter file holding its config (JSON). */
    public static final String NATIVE_CONFIG = "vectorgrad.peft_config";

    /**
     * A native adapter file: one safetensors file with only what was trained (LoRA's A and B, VeRA's λ vectors,
     * never VeRA's A and B) under PEFT's keys, and the config (method, r, α, targets, key) in its metadata.
     * A VeRA file is ≈ 4 bytes × Σ(out + r) plus the header; loading regenerates A and B from the key.
     */
    public static void saveNative(PeftModel pm, String name, Path file) throws IOException {
        PeftConfig cfg = pm.config(name);
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt")
                .metadata(NATIVE_CONFIG, Json.write(configJson(cfg, false)));
        for (var e : stateDict(pm, name, false).entrySet()) w.put(e.getKey(), e.getValue());
        if (file.getParent() != null) Files.createDirectories(file.getParent());
        w.write(file);
    }

    /** Adds the adapter of a native file under {@code name}; checks as {@link #load(PeftModel, Path, String)}. */
    public static void loadNative(PeftModel pm, Path file, String name) throws IOException {
        String json;
        try (SafetensorsFile f = Safetensors.read(file)) {
            json = f.metadata().get(NATIVE_CONFIG);
        }
        if (json == null) throw new IllegalArgumentException(file + ": no '" + NATIVE_CONFIG + "' metadata (not a vectorgrad adapter file)");
        Map<String, Object> j;
        try {
            j = Json.asMap(Json.parse(json), NATIVE_CONFIG);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        PeftConfig cfg = parseConfig(j, file);
        apply(pm, cfg, file, name);
    }

    static AdapterLinear layerWith(PeftModel pm, String path, String name) {
        Module m = pm.moduleAt(path);
        while (m instanceof AdapterLinear a) {
            if (a.hasAdapter(name)) return a;
            m = a.base;
        }
        throw new IllegalStateException("no adapter '" + name + "' at " + path);
    }

    static LoraEmbedding embeddingWith(PeftModel pm, String path, String name) {
        if (pm.moduleAt(path) instanceof LoraEmbedding le && le.hasAdapter(name)) return le;
        throw new IllegalStateException("no adapter '" + name + "' on an embedding at " + path);
    }

    /**
     * The adapter's tensors under PEFT's file keys: {@code <module>.lora_A.weight} / {@code .lora_B.weight} on a
     * Linear, {@code <module>.lora_embedding_A} (r, num) / {@code .lora_embedding_B} (dim, r) on an Embedding
     * (PEFT keeps those in a ParameterDict, so there is no {@code .weight}), VeRA's λ vectors and projections.
     */
    public static LinkedHashMap<String, Tensor> stateDict(PeftModel pm, String name, boolean saveProjection) {
        PeftConfig cfg = pm.config(name);
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (String path : pm.targets(name)) {
            String k = PeftModel.PREFIX + path;
            if (pm.moduleAt(path) instanceof LoraEmbedding) {
                LoraEmbedding le = embeddingWith(pm, path, name);
                out.put(k + ".lora_embedding_A", le.a(name).data().contiguous());
                out.put(k + ".lora_embedding_B", le.b(name).data().contiguous());
                continue;
            }
            AdapterLinear w = layerWith(pm, path, name);
            if (w instanceof LoraLinear l) {
                out.put(k + ".lora_A.weight", l.a(name).data().contiguous());
                out.put(k + ".lora_B.weight", l.b(name).data().contiguous());
            } else {
                VeraLinear v = (VeraLinear) w;
                out.put(k + ".vera_lambda_b", v.lambdaB(name).data().contiguous());
                out.put(k + ".vera_lambda_d", v.lambdaD(name).data().contiguous());
            }
        }
        if (cfg.type() == PeftConfig.Type.VERA && saveProjection) {
            VeraProjections p = pm.projections(name);
            out.put(VERA_A, p.a());
            out.put(VERA_B, p.b());
        }
        return out;
    }

    /** Writes adapter {@code name} as a PEFT directory (VeRA: with vera_A/vera_B as the config says). */
    public static void save(PeftModel pm, String name, Path dir) throws IOException {
        save(pm, name, dir, pm.config(name).saveProjection());
    }

    public static void save(PeftModel pm, String name, Path dir, boolean saveProjection) throws IOException {
        PeftConfig cfg = pm.config(name);
        Files.createDirectories(dir);
        LinkedHashMap<String, Tensor> sd = stateDict(pm, name, saveProjection);
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
        for (var e : sd.entrySet()) w.put(e.getKey(), e.getValue());
        w.write(dir.resolve(WEIGHTS));
        AtomicFiles.writeString(dir.resolve(CONFIG), Json.writePretty(configJson(cfg, saveProjection)));
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
        AtomicFiles.writeString(dir.resolve(CONFIG), Json.writePretty(configJson(c, false)));
    }

    static LinkedHashMap<String, Object> configJson(PeftConfig cfg, boolean saveProjection) {
        LinkedHashMap<String, Object> j = new LinkedHashMap<>();
        j.put("base_model_name_or_path", null);
        j.put("bias", "none");
        j.put("fan_in_fan_out", cfg.fanInFanOut());
        j.put("inference_mode", true);
        j.put("layers_pattern", cfg.layersPattern());
        j.put("layers_to_transform", cfg.layersToTransform());
        j.put("modules_to_save", null);
        j.put("r", cfg.r());
        j.put("revision", null);
        j.put("target_modules", cfg.targetRegex() != null ? cfg.targetRegex()
                : (cfg.allLinear() ? PeftConfig.ALL_LINEAR : new ArrayList<>(cfg.targetModules())));
        j.put("exclude_modules", cfg.excludeRegex() != null ? cfg.excludeRegex() : cfg.excludeModules());
        j.put("task_type", null);
        if (cfg.type() == PeftConfig.Type.LORA) {
            j.put("peft_type", "LORA");
            j.put("lora_alpha", cfg.alpha());
            j.put("lora_dropout", cfg.dropout());
            j.put("use_rslora", cfg.useRslora());
            j.put("use_dora", false);
            j.put("init_lora_weights", true);
            j.put("rank_pattern", new LinkedHashMap<>(cfg.rankPattern()));
            j.put("alpha_pattern", new LinkedHashMap<>(cfg.alphaPattern()));
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
