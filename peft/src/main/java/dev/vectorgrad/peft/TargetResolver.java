package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which layers of a model a {@link PeftConfig} adapts, by PEFT's rules: {@code target_modules} as a full-match
 * regex or a list of names / dotted suffixes, {@code all-linear} (every Linear but the output head),
 * {@code exclude_modules}, {@code layers_to_transform} / {@code layers_pattern}, and the per-path rank and alpha
 * of {@code rank_pattern} / {@code alpha_pattern}. Pure: it reads the model and changes nothing.
 *
 * <p>Beyond PEFT: a target name may end in the name of an {@link OutputSlice} of the module it names,
 * {@code c_attn.q}, {@code c_attn.k}, {@code c_attn.v} (GPT-2's fused W_q, W_k, W_v): the adapter then acts on that
 * block of the layer's outputs alone, at the target path {@code <module path>.q}. Several slices of one module may
 * be targeted together; a slice and its whole module may not. Slices are addressed by name only (not by
 * {@code target_regex} or {@code all-linear}), exclusion of the module excludes its slices, and rank / alpha
 * patterns match the target path ({@code "c_attn.q"}).
 */
final class TargetResolver {
    private TargetResolver() {}

    /**
     * A Linear (or an already wrapped one) that an adapter can go on, at its dotted path; or, with
     * {@code embedding}, an Embedding with {@code in} = num_embeddings and {@code out} = embedding_dim; or, with
     * {@code slice}, a block of a Linear's outputs at path {@code <module>.<slice name>}, {@code out} the block's size.
     */
    record Target(String path, int in, int out, boolean embedding, OutputSlice slice) {
        Target(String path, int in, int out, boolean embedding) {
            this(path, in, out, embedding, null);
        }

        /** The module's path: the target path without the slice name. */
        String module() {
            return slice == null ? path : path.substring(0, path.length() - slice.name().length() - 1);
        }
    }

    /** The layers {@code cfg} selects in {@code model}, validated (names, kinds, ranks); no side effects. */
    static List<Target> resolve(Module model, PeftConfig cfg) {
        if (cfg.targetModules() == null && cfg.targetRegex() == null)
            throw new IllegalArgumentException("PEFT config: no target_modules given");
        LinkedHashMap<String, Module> all = candidates(model);
        boolean allLinear = cfg.allLinear();
        if (cfg.targetModules() != null && !allLinear) {
            for (String t : cfg.targetModules()) {
                if (t == null || t.isEmpty()) throw new IllegalArgumentException("PEFT config: empty target module name");
                boolean found = false;
                for (String k : all.keySet()) if (nameMatches(k, t)) { found = true; break; }
                if (!found && sliceOf(t, all) == null)
                    throw new IllegalArgumentException("target module '" + t + "' not found in the model (" + model.getClass().getSimpleName() + ")");
            }
        }
        List<Target> res = new ArrayList<>();
        for (Map.Entry<String, Module> e : all.entrySet()) {
            String k = e.getKey();
            Module m = e.getValue();
            boolean isLinear = m instanceof Linear || m instanceof AdapterLinear;
            boolean hit;
            if (allLinear) hit = isLinear && !isOutputHead(k);
            else if (cfg.targetRegex() != null) hit = Pattern.compile(cfg.targetRegex()).matcher(k).matches();
            else hit = cfg.targetModules().stream().anyMatch(t -> nameMatches(k, t));
            List<OutputSlice> slices = allLinear || cfg.targetRegex() != null ? List.of() : slicesTargeted(k, m, cfg.targetModules());
            if (hit && !slices.isEmpty())
                throw new IllegalArgumentException("targets adapt module '" + k + "' whole and its output slice(s) " + slices.stream().map(OutputSlice::name).toList()
                        + " too; adapt either the module or its slices");
            if (!slices.isEmpty() && !excluded(k, cfg) && inLayers(k, cfg)) {
                Linear l = AdapterLinear.innermost(m);
                for (OutputSlice sl : slices) {
                    String p = k + "." + sl.name();
                    if (!excluded(p, cfg)) res.add(new Target(p, l.inFeatures, sl.size(), false, sl));
                }
                continue;
            }
            if (!hit || k.isEmpty()) continue;
            if (excluded(k, cfg)) continue;
            if (!inLayers(k, cfg)) continue;
            boolean isEmbedding = m instanceof dev.vectorgrad.autograd.nn.Embedding || m instanceof LoraEmbedding;
            if (isEmbedding && !allLinear) {
                if (cfg.type() != PeftConfig.Type.LORA)
                    throw new IllegalArgumentException("target module '" + k + "' is an Embedding; only LoRA adapts embeddings");
                if (cfg.useDora() && m instanceof LoraEmbedding le && !(le instanceof DoraEmbedding))
                    throw new IllegalArgumentException("DoRA (use_dora) on embedding '" + k + "', which already carries plain LoRA adapters: "
                            + "a DoRA adapter needs its own DoraEmbedding wrapper; add the DoRA adapter first or delete the others");
                if (cfg.freezeA())
                    throw new IllegalArgumentException("LoRA-FA (freezeA) on embedding '" + k + "': an embedding's A starts at zero (PEFT's init), "
                            + "so freezing it would keep the adapter at zero for good; adapt '" + k + "' with a plain LoRA adapter or leave it out of the targets");
                dev.vectorgrad.autograd.nn.Embedding emb = m instanceof LoraEmbedding le ? le.embedding() : (dev.vectorgrad.autograd.nn.Embedding) m;
                res.add(new Target(k, emb.numEmbeddings, emb.embeddingDim, true));
                continue;
            }
            if (!isLinear)
                throw new IllegalArgumentException("target module '" + k + "' is a " + m.getClass().getSimpleName()
                        + "; only Linear and (for LoRA) Embedding layers can be adapted");
            Linear l = AdapterLinear.innermost(m);
            res.add(new Target(k, l.inFeatures, l.outFeatures, false));
        }
        if (res.isEmpty())
            throw new IllegalArgumentException("PEFT config selects no Linear layer of " + model.getClass().getSimpleName()
                    + " (targets " + (cfg.targetRegex() != null ? cfg.targetRegex() : cfg.targetModules()) + ")");
        for (Target t : res) {
            int r = rankFor(cfg, t.path());
            // AdaLoRA may prune a layer to nothing (PEFT loads it as an empty adapter)
            if (r <= 0 && !(r == 0 && cfg.type() == PeftConfig.Type.ADALORA)) throw new IllegalArgumentException("PEFT config: r must be positive, got " + r + " for module '" + t.path() + "'");
        }
        return res;
    }

    /** Every module by path, skipping the insides of adapter wrappers (their path stands for the layer). */
    static LinkedHashMap<String, Module> candidates(Module model) {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        List<String> wrappers = new ArrayList<>();
        outer:
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            String k = e.getKey();
            for (String w : wrappers) if (k.startsWith(w + ".")) continue outer;
            if (e.getValue() instanceof AdapterLayer) wrappers.add(k);
            out.put(k, e.getValue());
        }
        return out;
    }

    /** Whether {@code k} is in {@code layers_to_transform} (always, when that is not set). */
    private static boolean inLayers(String k, PeftConfig cfg) {
        if (cfg.layersToTransform() == null || cfg.layersToTransform().isEmpty()) return true;
        Integer idx = layerIndex(k, cfg.layersPattern());
        return idx != null && cfg.layersToTransform().contains(idx);
    }

    /**
     * For a target name {@code <module name>.<slice>} whose module part names a module of the model: that slice of
     * the first such module; null when no Linear matches the part before the last dot (then {@code t} is no slice
     * target). A Linear that matches but has no slice of that name is an error naming the slices it has.
     */
    static OutputSlice sliceOf(String t, Map<String, Module> all) {
        int dot = t.lastIndexOf('.');
        if (dot <= 0 || dot == t.length() - 1) return null;
        String mod = t.substring(0, dot), name = t.substring(dot + 1);
        for (Map.Entry<String, Module> e : all.entrySet()) {
            if (!nameMatches(e.getKey(), mod)) continue;
            Module m = e.getValue();
            if (!(m instanceof Linear || m instanceof AdapterLinear)) continue;
            List<OutputSlice> have = OutputSlice.of(e.getKey(), AdapterLinear.innermost(m).outFeatures);
            for (OutputSlice s : have) if (s.name().equals(name)) return s;
            throw new IllegalArgumentException("target '" + t + "': unknown output slice '" + name + "' of module '" + e.getKey() + "' ("
                    + (have.isEmpty() ? "a Linear with no named output slices; only GPT-2's fused c_attn has them: q, k, v"
                            : "its slices: " + String.join(", ", have.stream().map(OutputSlice::name).toList())) + ")");
        }
        return null;
    }

    /** The output slices of module {@code k} that target names select, in output order (checked by {@link #sliceOf}). */
    private static List<OutputSlice> slicesTargeted(String k, Module m, List<String> targets) {
        if (!(m instanceof Linear || m instanceof AdapterLinear)) return List.of();
        List<OutputSlice> out = new ArrayList<>();
        for (OutputSlice s : OutputSlice.of(k, AdapterLinear.innermost(m).outFeatures))
            for (String t : targets)
                if (t.endsWith("." + s.name()) && nameMatches(k, t.substring(0, t.length() - s.name().length() - 1))) {
                    out.add(s);
                    break;
                }
        return out;
    }

    static boolean nameMatches(String key, String target) {
        return key.equals(target) || key.endsWith("." + target);
    }

    private static boolean isOutputHead(String key) {
        return key.equals("lm_head") || key.endsWith(".lm_head");
    }

    private static boolean excluded(String k, PeftConfig cfg) {
        if (cfg.excludeRegex() != null && Pattern.compile(cfg.excludeRegex()).matcher(k).matches()) return true;
        if (cfg.excludeModules() != null) for (String x : cfg.excludeModules()) if (nameMatches(k, x)) return true;
        return false;
    }

    /** The layer index in a path, as PEFT finds it: {@code .<pattern>.<digits>.} (any pattern when none given). */
    static Integer layerIndex(String key, List<String> layersPattern) {
        List<String> pats = layersPattern == null || layersPattern.isEmpty() ? List.of("[^.]*") : layersPattern.stream().map(Pattern::quote).toList();
        for (String p : pats) {
            Matcher m = Pattern.compile("(?:.*\\.)?" + p + "\\.(\\d+)\\..*").matcher(key);
            if (m.matches()) return Integer.parseInt(m.group(1));
        }
        return null;
    }

    /** First pattern key matching the end of the path (PEFT: {@code (.*\.)?key$}). */
    static <T> T patternValue(Map<String, T> patterns, String key, T fallback) {
        for (Map.Entry<String, T> e : patterns.entrySet())
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")").matcher(key).matches()) return e.getValue();
        return fallback;
    }

    /** The adapter's rank at {@code path}: LoRA's rank_pattern or r; AdaLoRA's kept count of its boolean pattern, or init_r. */
    static int rankFor(PeftConfig cfg, String path) {
        if (cfg.type() == PeftConfig.Type.ADALORA) {
            List<Boolean> keep = cfg.adaRankPattern().get(path + ".lora_E");
            if (keep == null) return cfg.r();
            int n = 0;
            for (Boolean k : keep) if (Boolean.TRUE.equals(k)) n++;
            return n;
        }
        return patternValue(cfg.rankPattern(), path, cfg.r());
    }

    static double alphaFor(PeftConfig cfg, String path) {
        return patternValue(cfg.alphaPattern(), path, cfg.alpha());
    }
}
