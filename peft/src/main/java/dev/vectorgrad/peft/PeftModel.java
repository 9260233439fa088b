package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model with named adapters injected into its Linear layers, as PEFT's {@code PeftModel}. The wrapped
 * {@link Module} is changed in place (its adapted children become {@link LoraLinear} / {@link VeraLinear});
 * its own parameters are frozen and only the adapters' train. Parameter names inside the model are PEFT's
 * without the {@code base_model.model.} prefix ({@link #peftName} adds it).
 */
public final class PeftModel {
    /** PEFT's prefix of every parameter and file key. */
    public static final String PREFIX = "base_model.model.";

    private final Module model;
    private final LinkedHashMap<String, PeftConfig> configs = new LinkedHashMap<>();
    private final LinkedHashMap<String, VeraProjections> projections = new LinkedHashMap<>();
    private final LinkedHashMap<String, List<String>> targetsOf = new LinkedHashMap<>();
    private String active;
    private boolean disabled;

    private PeftModel(Module model) {
        this.model = model;
    }

    /** Wraps {@code model} with adapter {@code "default"} described by {@code config}. */
    public static PeftModel wrap(Module model, PeftConfig config) {
        PeftModel pm = new PeftModel(model);
        pm.addAdapter("default", config);
        return pm;
    }

    /** {@link #wrap(Module, PeftConfig)} with {@code config.build()} (which validates it first). */
    public static PeftModel wrap(Module model, PeftConfig.Builder config) {
        return wrap(model, config.build());
    }

    /** An empty PEFT wrapper (adapters are then added by name). */
    public static PeftModel of(Module model) {
        return new PeftModel(model);
    }

    public Module model() {
        return model;
    }

    public PeftConfig config(String name) {
        PeftConfig c = configs.get(name);
        if (c == null) throw new IllegalArgumentException("no adapter named '" + name + "' (have " + configs.keySet() + ")");
        return c;
    }

    public Set<String> adapterNames() {
        return Set.copyOf(configs.keySet());
    }

    public String activeAdapter() {
        return active;
    }

    /** The module paths adapter {@code name} was injected into. */
    public List<String> targets(String name) {
        config(name);
        return List.copyOf(targetsOf.get(name));
    }

    /** VeRA's shared projections of adapter {@code name}. */
    public VeraProjections projections(String name) {
        VeraProjections p = projections.get(name);
        if (p == null) throw new IllegalArgumentException("adapter '" + name + "' is not a VeRA adapter");
        return p;
    }

    public static String peftName(String name) {
        return PREFIX + name;
    }

    // ------------------------------------------------------------------ target resolution

    /**
     * A Linear (or an already wrapped one) that an adapter can go on, at its dotted path; or, with
     * {@code embedding}, an Embedding with {@code in} = num_embeddings and {@code out} = embedding_dim.
     */
    record Target(String path, int in, int out, boolean embedding) {}

    /** The layers {@code cfg} selects in {@code model}, validated; no side effects. */
    public static List<String> resolve(Module model, PeftConfig cfg) {
        List<String> out = new ArrayList<>();
        for (Target t : resolveTargets(model, cfg)) out.add(t.path());
        return out;
    }

    /** {@link #resolve(Module, PeftConfig)} with {@code cfg.build()}. */
    public static List<String> resolve(Module model, PeftConfig.Builder cfg) {
        return resolve(model, cfg.build());
    }

    static List<Target> resolveTargets(Module model, PeftConfig cfg) {
        if (cfg.targetModules() == null && cfg.targetRegex() == null)
            throw new IllegalArgumentException("PEFT config: no target_modules given");
        LinkedHashMap<String, Module> all = candidates(model);
        boolean allLinear = cfg.allLinear();
        if (cfg.targetModules() != null && !allLinear) {
            for (String t : cfg.targetModules()) {
                if (t == null || t.isEmpty()) throw new IllegalArgumentException("PEFT config: empty target module name");
                boolean found = false;
                for (String k : all.keySet()) if (nameMatches(k, t)) { found = true; break; }
                if (!found)
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
            if (!hit || k.isEmpty()) continue;
            if (excluded(k, cfg)) continue;
            if (cfg.layersToTransform() != null && !cfg.layersToTransform().isEmpty()) {
                Integer idx = layerIndex(k, cfg.layersPattern());
                if (idx == null || !cfg.layersToTransform().contains(idx)) continue;
            }
            boolean isEmbedding = m instanceof dev.vectorgrad.autograd.nn.Embedding || m instanceof LoraEmbedding;
            if (isEmbedding && !allLinear) {
                if (cfg.type() != PeftConfig.Type.LORA)
                    throw new IllegalArgumentException("target module '" + k + "' is an Embedding; only LoRA adapts embeddings");
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
            if (r <= 0) throw new IllegalArgumentException("PEFT config: r must be positive, got " + r + " for module '" + t.path() + "'");
        }
        return res;
    }

    /** Every module by path, skipping the insides of adapter wrappers (their path stands for the layer). */
    private static LinkedHashMap<String, Module> candidates(Module model) {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        List<String> wrappers = new ArrayList<>();
        outer:
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            String k = e.getKey();
            for (String w : wrappers) if (k.startsWith(w + ".")) continue outer;
            if (e.getValue() instanceof AdapterLinear || e.getValue() instanceof LoraEmbedding) wrappers.add(k);
            out.put(k, e.getValue());
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

    static int rankFor(PeftConfig cfg, String path) {
        return patternValue(cfg.rankPattern(), path, cfg.r());
    }

    static double alphaFor(PeftConfig cfg, String path) {
        return patternValue(cfg.alphaPattern(), path, cfg.alpha());
    }

    // ------------------------------------------------------------------ adding adapters

    /** Adds adapter {@code name}; on any error nothing changes. The new adapter becomes the active one. */
    public void addAdapter(String name, PeftConfig cfg) {
        addAdapter(name, cfg, null);
    }

    /** {@link #addAdapter(String, PeftConfig)} with {@code cfg.build()} (which validates it first). */
    public void addAdapter(String name, PeftConfig.Builder cfg) {
        addAdapter(name, cfg.build());
    }

    /** The same with VeRA projections given (e.g. read from a file) instead of drawn from the key. */
    void addAdapter(String name, PeftConfig cfg, VeraProjections given) {
        if (name == null || name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("bad adapter name '" + name + "'");
        if (configs.containsKey(name)) throw new IllegalArgumentException("adapter '" + name + "' already exists");
        java.util.Objects.requireNonNull(cfg, "PEFT config");
        List<Target> targets = resolveTargets(model, cfg);
        for (Target t : targets) {
            Module cur = moduleAt(t.path());
            if ((cur instanceof AdapterLinear a && a.isMerged()) || (cur instanceof LoraEmbedding le && le.isMerged()))
                throw new IllegalStateException("module '" + t.path() + "' has merged adapters; unmerge before adding another");
        }
        VeraProjections proj = null;
        if (cfg.type() == PeftConfig.Type.VERA) {
            int maxIn = 0, maxOut = 0;
            for (Target t : targets) { maxIn = Math.max(maxIn, t.in()); maxOut = Math.max(maxOut, t.out()); }
            if (given != null) {
                if (given.r() != cfg.r() || given.maxIn() < maxIn || given.maxOut() < maxOut)
                    throw new IllegalArgumentException("VeRA: given projections " + given.r() + "×" + given.maxIn() + " / " + given.maxOut() + "×" + given.r()
                            + " do not fit r=" + cfg.r() + ", max in " + maxIn + ", max out " + maxOut);
                proj = given;
            } else {
                proj = VeraProjections.fromKey(cfg.projectionPrngKey(), cfg.r(), maxIn, maxOut);
            }
            for (Map.Entry<String, PeftConfig> e : configs.entrySet())
                if (e.getValue().type() == PeftConfig.Type.VERA && e.getValue().projectionPrngKey() != cfg.projectionPrngKey())
                    throw new IllegalArgumentException("VeRA: all VeRA adapters of a model share one projection_prng_key (adapter '" + e.getKey()
                            + "' has " + e.getValue().projectionPrngKey() + ", the new one " + cfg.projectionPrngKey() + ")");
        }
        // Everything validated: from here on nothing is expected to fail.
        if (configs.isEmpty()) model.requiresGrad(false);
        Rng rng = new Rng(cfg.seed());
        List<String> paths = new ArrayList<>();
        for (Target t : targets) {
            Module cur = moduleAt(t.path());
            if (cur instanceof dev.vectorgrad.autograd.nn.Embedding || cur instanceof LoraEmbedding) {
                LoraEmbedding le;
                if (cur instanceof LoraEmbedding x) le = x;
                else {
                    dev.vectorgrad.autograd.nn.Embedding emb = (dev.vectorgrad.autograd.nn.Embedding) cur;
                    le = new LoraEmbedding(emb).tied(tiedToHead(emb));
                    int dot = t.path().lastIndexOf('.');
                    Module parent = dot < 0 ? model : model.namedModules().get(t.path().substring(0, dot));
                    parent.replaceChild(dot < 0 ? t.path() : t.path().substring(dot + 1), le);
                    emb.setForwardDelegate(le::forward);
                }
                le.addAdapter(name, rankFor(cfg, t.path()), alphaFor(cfg, t.path()), cfg.useRslora(), rng);
                paths.add(t.path());
                continue;
            }
            AdapterLinear w = kindOnTop(cur, cfg.type());
            if (w == null) {
                w = cfg.type() == PeftConfig.Type.LORA ? new LoraLinear(cur, cfg.seed() ^ t.path().hashCode()) : new VeraLinear(cur, cfg.seed() ^ t.path().hashCode());
                install(t.path(), cur, w);
            }
            if (w instanceof LoraLinear l) {
                int r = rankFor(cfg, t.path());
                l.addAdapter(name, r, alphaFor(cfg, t.path()), cfg.useRslora(), cfg.dropout(), rng);
                if (cfg.loraInit() != PeftConfig.LoraInit.DEFAULT) LoraInits.apply(l, name, cfg.loraInit(), rng);
                if (cfg.freezeA()) l.a(name).requiresGrad(false);
            } else {
                ((VeraLinear) w).addAdapter(name, proj, cfg.dInitial(), cfg.dropout());
            }
            paths.add(t.path());
        }
        configs.put(name, cfg);
        targetsOf.put(name, paths);
        if (proj != null) projections.put(name, proj);
        setAdapter(name);
    }

    /** Puts the bare Embedding back at {@code path} in place of its LoRA wrapper and stops the forward redirect. */
    private void unwrapEmbedding(String path, LoraEmbedding le) {
        dev.vectorgrad.autograd.nn.Embedding emb = le.embedding();
        int dot = path.lastIndexOf('.');
        Module parent = dot < 0 ? model : model.namedModules().get(path.substring(0, dot));
        parent.replaceChild(dot < 0 ? path : path.substring(dot + 1), emb);
        emb.setForwardDelegate(null);
    }

    /** Whether {@code emb}'s table is also the model's LM head (a GPT ties {@code wte} to its head). */
    private boolean tiedToHead(dev.vectorgrad.autograd.nn.Embedding emb) {
        return model instanceof dev.vectorgrad.transformer.Gpt g && g.transformer.wte == emb;
    }

    /** The LoRA-wrapped embeddings, by path. */
    public LinkedHashMap<String, LoraEmbedding> adaptedEmbeddings() {
        LinkedHashMap<String, LoraEmbedding> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : candidates(model).entrySet())
            if (e.getValue() instanceof LoraEmbedding le) out.put(e.getKey(), le);
        return out;
    }

    /** The wrapper of {@code type} at the top of a layer's wrapper chain, or null. */
    private static AdapterLinear kindOnTop(Module cur, PeftConfig.Type type) {
        if (type == PeftConfig.Type.LORA && cur instanceof LoraLinear l) return l;
        if (type == PeftConfig.Type.VERA && cur instanceof VeraLinear v) return v;
        return null;
    }

    Module moduleAt(String path) {
        Module m = model.namedModules().get(path);
        if (m == null) throw new IllegalArgumentException("no module '" + path + "'");
        return m;
    }

    private void install(String path, Module old, Module replacement) {
        int dot = path.lastIndexOf('.');
        Module parent = dot < 0 ? model : model.namedModules().get(path.substring(0, dot));
        parent.replaceChild(dot < 0 ? path : path.substring(dot + 1), replacement);
        Linear l = AdapterLinear.innermost(replacement instanceof AdapterLinear a ? a : old);
        l.setForwardDelegate(replacement instanceof Linear ? null : replacement);
    }

    /** Every wrapper (nested ones included), outermost first per layer. */
    public List<AdapterLinear> adapterLayers() {
        List<AdapterLinear> out = new ArrayList<>();
        for (Module m : candidates(model).values()) {
            Module cur = m;
            while (cur instanceof AdapterLinear a) {
                out.add(a);
                cur = a.base;
            }
        }
        return out;
    }

    /** The outermost wrapper of each adapted layer, by path. */
    public LinkedHashMap<String, AdapterLinear> adaptedLayers() {
        LinkedHashMap<String, AdapterLinear> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : candidates(model).entrySet())
            if (e.getValue() instanceof AdapterLinear a) out.put(e.getKey(), a);
        return out;
    }

    // ------------------------------------------------------------------ switching

    /** Makes {@code name} the only active adapter; only its parameters require grad (LoRA-FA's A stays frozen). */
    public void setAdapter(String name) {
        PeftConfig cfg = config(name);
        for (AdapterLinear a : adapterLayers()) {
            a.setActive(Set.of(name));
            for (String n : a.adapterNames()) {
                boolean on = n.equals(name);
                for (Variable p : a.adapterParameters(n)) p.requiresGrad(on);
                if (on && cfg.freezeA() && a instanceof LoraLinear l) l.a(n).requiresGrad(false);
            }
        }
        for (LoraEmbedding le : adaptedEmbeddings().values()) {
            boolean has = le.hasAdapter(name);
            le.setActive(has ? name : null);
            for (String n : le.adapterNames()) for (Variable p : le.adapterParameters(n)) p.requiresGrad(n.equals(name));
            if (has && cfg.freezeA()) le.a(name).requiresGrad(false);
        }
        active = name;
    }

    /** Turns every adapter off (true: the base model's outputs) or back on. */
    public void setAdaptersDisabled(boolean off) {
        for (AdapterLinear a : adapterLayers()) a.setDisabled(off);
        for (LoraEmbedding le : adaptedEmbeddings().values()) le.setDisabled(off);
        disabled = off;
    }

    public boolean adaptersDisabled() {
        return disabled;
    }

    /** Deletes adapter {@code name}; layers left without adapters get their plain Linear back. */
    public void deleteAdapter(String name) {
        config(name);
        for (Map.Entry<String, AdapterLinear> e : adaptedLayers().entrySet()) {
            String path = e.getKey();
            Module top = e.getValue();
            // rebuild the chain without wrappers that end up empty
            List<AdapterLinear> chain = new ArrayList<>();
            Module cur = top;
            while (cur instanceof AdapterLinear a) { chain.add(a); cur = a.base; }
            for (AdapterLinear a : chain) if (a.hasAdapter(name)) a.deleteAdapter(name);
            Module newTop = cur; // the Linear
            for (int i = chain.size() - 1; i >= 0; i--) {
                AdapterLinear a = chain.get(i);
                if (a.adapterNames().isEmpty()) continue;
                if (a.base != newTop) a.rebase(newTop);
                newTop = a;
            }
            if (newTop != top) install(path, top, newTop);
        }
        for (Map.Entry<String, LoraEmbedding> e : adaptedEmbeddings().entrySet()) {
            LoraEmbedding le = e.getValue();
            if (!le.hasAdapter(name)) continue;
            le.deleteAdapter(name);
            if (le.adapterNames().isEmpty()) unwrapEmbedding(e.getKey(), le);
        }
        configs.remove(name);
        targetsOf.remove(name);
        projections.remove(name);
        if (name.equals(active)) {
            active = null;
            if (!configs.isEmpty()) setAdapter(configs.keySet().iterator().next());
        }
    }

    // ------------------------------------------------------------------ merging

    /** Merges the active adapter into the base weights (safe merge: refuses non-finite results). */
    public void merge() {
        merge(true);
    }

    /**
     * Folds the active adapter of every adapted layer into its base weight (PEFT's {@code merge_adapter}); the
     * adapted layers then compute the bare layer's product on the merged weight and nothing else
     * ({@link AdapterLinear#passThrough}). All or nothing: with {@code safe}, every layer's merged weight is
     * computed and checked before any is written, and a non-finite value anywhere throws an
     * {@link IllegalStateException} naming the module and adapter, with every weight left bit-identical. A LoRA
     * on an embedding tied to the LM head is refused up front the same way.
     */
    public void merge(boolean safe) {
        // a tied embedding refuses before anything is merged
        for (Map.Entry<String, LoraEmbedding> e : adaptedEmbeddings().entrySet())
            if (e.getValue().isTied() && e.getValue().pendingMerge() != null)
                throw new IllegalStateException("cannot merge: '" + e.getKey() + "' is tied to the LM head, and merging LoRA into it would change the head too "
                        + "(merged ≠ unmerged); keep the adapter unmerged, or untie the head first");
        LinkedHashMap<String, AdapterLinear> layers = adaptedLayers();
        LinkedHashMap<String, LoraEmbedding> embeddings = adaptedEmbeddings();
        if (safe) {
            // Pass 1 checks every merged value and writes nothing. Pass 2 repeats the same operations in the same
            // order (so it writes exactly the values checked); one layer's copy is alive at a time, not all.
            for (Map.Entry<String, AdapterLinear> e : layers.entrySet()) mergedWeight(e.getKey(), e.getValue(), true, false);
            for (Map.Entry<String, LoraEmbedding> e : embeddings.entrySet()) e.getValue().plan(true, "'" + e.getKey() + "'");
        }
        for (Map.Entry<String, AdapterLinear> e : layers.entrySet()) mergedWeight(e.getKey(), e.getValue(), false, true);
        for (Map.Entry<String, LoraEmbedding> e : embeddings.entrySet()) e.getValue().merge(false);
    }

    /**
     * The merged weight of the layer at {@code path}: W₀ plus the pending adapters of each wrapper in its chain,
     * outermost first, on a copy ({@code check}: each sum must be finite). With {@code commit} it is written and
     * the adapters are marked merged. Null when nothing on the layer is pending.
     */
    private static Tensor mergedWeight(String path, AdapterLinear top, boolean check, boolean commit) {
        Tensor w = null;
        List<AdapterLinear> wrappers = new ArrayList<>();
        List<List<String>> names = new ArrayList<>();
        for (Module cur = top; cur instanceof AdapterLinear a; cur = a.base) {
            List<String> pending = a.pendingMerges();
            if (pending.isEmpty()) continue;
            w = a.applyPending(w == null ? a.linear().weight.data() : w, pending, check, "'" + path + "'");
            wrappers.add(a);
            names.add(pending);
        }
        if (commit && w != null) {
            wrappers.get(0).commitMerge(w, names.get(0)); // every wrapper of the chain shares this W₀
            for (int i = 1; i < wrappers.size(); i++) wrappers.get(i).markMerged(names.get(i));
        }
        return w;
    }

    public void unmerge() {
        for (LoraEmbedding le : adaptedEmbeddings().values()) le.unmerge();
        List<AdapterLinear> all = adapterLayers();
        for (int i = all.size() - 1; i >= 0; i--) all.get(i).unmerge();
    }

    /**
     * Merges the active adapter (safe: all or nothing) and returns the plain model: every adapted layer is its
     * bare {@link Linear} / {@link dev.vectorgrad.autograd.nn.Embedding} again, in the module tree and for
     * callers holding it in a field, with the merged weight. On a refused merge nothing changes.
     */
    public Module mergeAndUnload() {
        merge(true);
        return unload();
    }

    /** Removes every wrapper without merging (weights stay as they are, merged or not); returns the plain model. */
    public Module unload() {
        for (Map.Entry<String, AdapterLinear> e : adaptedLayers().entrySet()) {
            Linear l = e.getValue().linear();
            install(e.getKey(), e.getValue(), l);
        }
        for (Map.Entry<String, LoraEmbedding> e : adaptedEmbeddings().entrySet()) unwrapEmbedding(e.getKey(), e.getValue());
        configs.clear();
        targetsOf.clear();
        projections.clear();
        active = null;
        return model;
    }

    // ------------------------------------------------------------------ counting

    public long trainableParameters() {
        return model.numParameters(true);
    }

    public long totalParameters() {
        return model.numParameters(false);
    }

    /** As PEFT's {@code print_trainable_parameters}. */
    public String summary() {
        long t = trainableParameters(), all = totalParameters();
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f", t, all, all == 0 ? 0.0 : 100.0 * t / all);
    }

    /** Adapter {@code name}'s parameters by PEFT name ({@code base_model.model.…lora_A.default.weight}), embeddings' included. */
    public LinkedHashMap<String, Variable> namedAdapterParameters(String name) {
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        Set<Variable> mine = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (AdapterLinear a : adapterLayers()) if (a.hasAdapter(name)) mine.addAll(a.adapterParameters(name));
        for (LoraEmbedding le : adaptedEmbeddings().values()) if (le.hasAdapter(name)) mine.addAll(le.adapterParameters(name));
        for (Map.Entry<String, Variable> e : model.namedParameters().entrySet())
            if (mine.contains(e.getValue())) out.put(peftName(e.getKey()), e.getValue());
        return out;
    }

    static Set<String> set(String... s) {
        return new LinkedHashSet<>(List.of(s));
    }
}
