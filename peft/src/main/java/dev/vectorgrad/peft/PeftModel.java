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
import java.util.function.BiFunction;
import java.util.function.Predicate;

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
    private final LinkedHashMap<String, List<TargetResolver.Target>> targetsOf = new LinkedHashMap<>();
    private String active;
    private RankAllocator allocator;
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

    /**
     * The target paths adapter {@code name} was injected into: module paths, and for an {@link OutputSlice}
     * {@code <module path>.<slice>} (e.g. {@code transformer.h.0.attn.c_attn.q}).
     */
    public List<String> targets(String name) {
        config(name);
        return targetsOf.get(name).stream().map(TargetResolver.Target::path).toList();
    }

    /** The resolved targets of adapter {@code name}. */
    List<TargetResolver.Target> targetList(String name) {
        config(name);
        return targetsOf.get(name);
    }

    /**
     * The layer holding adapter {@code name} at target path {@code target} (one of {@link #targets}): the
     * {@link LoraLinear} / {@link VeraLinear} / … wrapper in that module's chain, restricted to the target's
     * output slice if it has one, or the {@link LoraEmbedding}. E.g. ΔW_q of layer 0 is
     * {@code pm.layer("transformer.h.0.attn.c_attn.q", "default").deltaWeight("default")} ([n_embd, n_embd]).
     */
    public AdapterLayer layer(String target, String name) {
        TargetResolver.Target t = null;
        for (TargetResolver.Target x : targetList(name)) if (x.path().equals(target)) t = x;
        if (t == null) throw new IllegalArgumentException("adapter '" + name + "' has no target '" + target + "' (its targets: " + targets(name) + ")");
        Module m = moduleAt(t.module());
        while (m instanceof AdapterLayer a) {
            if (a.hasAdapter(name) && (!(a instanceof AdapterLinear l) || java.util.Objects.equals(l.outputSlice(), t.slice()))) return a;
            if (!(a instanceof AdapterLinear l)) break;
            m = l.base;
        }
        throw new IllegalStateException("no adapter '" + name + "' at " + target);
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

    /** The layers {@code cfg} selects in {@code model}, validated; no side effects ({@link TargetResolver}). */
    public static List<String> resolve(Module model, PeftConfig cfg) {
        List<String> out = new ArrayList<>();
        for (TargetResolver.Target t : TargetResolver.resolve(model, cfg)) out.add(t.path());
        return out;
    }

    /** {@link #resolve(Module, PeftConfig)} with {@code cfg.build()}. */
    public static List<String> resolve(Module model, PeftConfig.Builder cfg) {
        return resolve(model, cfg.build());
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
        if (cfg.type() == PeftConfig.Type.ADALORA)
            for (Map.Entry<String, PeftConfig> e : configs.entrySet())
                if (e.getValue().type() == PeftConfig.Type.ADALORA)
                    throw new IllegalArgumentException("AdaLoRA: one AdaLoRA adapter per model (PEFT allows one trainable); '" + e.getKey() + "' is already one");
        List<TargetResolver.Target> targets = TargetResolver.resolve(model, cfg);
        for (TargetResolver.Target t : targets) {
            Module cur = moduleAt(t.module());
            if (cur instanceof AdapterLayer a && a.isMerged())
                throw new IllegalStateException("module '" + t.module() + "' has merged adapters; unmerge before adding another");
            if (t.slice() != null) requireSliceable(cfg, t);
            // an adapter below a bottleneck one would act on its output after a merge but on its input before
            if (cur instanceof BottleneckLinear && cfg.type() != PeftConfig.Type.BOTTLENECK)
                throw new IllegalArgumentException("module '" + t.path() + "' has a bottleneck adapter; add the " + cfg.type() + " adapter before it, not on top of it");
        }
        VeraProjections proj = null;
        if (cfg.type() == PeftConfig.Type.VERA) {
            int maxIn = 0, maxOut = 0;
            for (TargetResolver.Target t : targets) { maxIn = Math.max(maxIn, t.in()); maxOut = Math.max(maxOut, t.out()); }
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
        LinkedHashMap<String, Module> saved = modulesToSave(model, cfg);
        // Everything validated: from here on nothing is expected to fail.
        if (configs.isEmpty()) model.requiresGrad(false);
        Rng rng = new Rng(cfg.seed());
        for (TargetResolver.Target t : targets) {
            Module cur = moduleAt(t.module());
            if (cur instanceof dev.vectorgrad.autograd.nn.Embedding || cur instanceof LoraEmbedding) {
                LoraEmbedding le;
                if (cur instanceof LoraEmbedding x) le = x;
                else {
                    dev.vectorgrad.autograd.nn.Embedding emb = (dev.vectorgrad.autograd.nn.Embedding) cur;
                    le = (cfg.useDora() ? new DoraEmbedding(emb) : new LoraEmbedding(emb)).tied(tiedToHead(emb));
                    int dot = t.path().lastIndexOf('.');
                    Module parent = dot < 0 ? model : model.namedModules().get(t.path().substring(0, dot));
                    parent.replaceChild(dot < 0 ? t.path() : t.path().substring(dot + 1), le);
                    emb.setForwardDelegate(le::forward);
                }
                le.addAdapter(name, TargetResolver.rankFor(cfg, t.path()), TargetResolver.alphaFor(cfg, t.path()), cfg.useRslora(), rng);
                if (cfg.useDora()) ((DoraEmbedding) le).addMagnitude(name);
                continue;
            }
            LinearMethod method = LinearMethod.of(cfg);
            // the wrapper on top is reused when it is this method's, on the same outputs (all, or the same slice)
            AdapterLinear w = method.layer().isInstance(cur) && java.util.Objects.equals(((AdapterLinear) cur).outputSlice(), t.slice()) ? (AdapterLinear) cur : null;
            if (w == null) {
                long seed = cfg.seed() ^ t.path().hashCode();
                w = t.slice() == null ? method.wrap().apply(cur, seed) : method.sliced().wrap(cur, t.slice(), seed);
                install(t.module(), cur, w);
            }
            method.add().add(w, name, cfg, t.path(), rng, proj);
        }
        configs.put(name, cfg);
        targetsOf.put(name, List.copyOf(targets));
        if (proj != null) projections.put(name, proj);
        setAdapter(name);
        for (Module m : saved.values()) m.requiresGrad(true);
    }

    /**
     * The modules that {@code cfg}'s {@code modules_to_save} names, by path: a module matches a name when its path
     * equals it or ends with {@code "." + name} (PEFT's rule). A name that matches no module, or a module that is
     * also an adapter target, is an error naming it. Unlike PEFT, which trains a copy per adapter
     * ({@code ModulesToSaveWrapper}), the module itself trains: with several adapters they share it.
     */
    static LinkedHashMap<String, Module> modulesToSave(Module model, PeftConfig cfg) {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        if (cfg.modulesToSave() == null) return out;
        Map<String, Module> all = model.namedModules();
        for (String n : cfg.modulesToSave()) {
            boolean found = false;
            for (Map.Entry<String, Module> e : all.entrySet()) {
                String p = e.getKey();
                if (p.isEmpty() || !(p.equals(n) || p.endsWith("." + n))) continue;
                if (e.getValue() instanceof AdapterLayer)
                    throw new IllegalArgumentException("modules_to_save '" + n + "' matches '" + p + "', which holds an adapter");
                out.put(p, e.getValue());
                found = true;
            }
            if (!found) throw new IllegalArgumentException("modules_to_save '" + n + "' matches no module of " + model.getClass().getSimpleName());
        }
        return out;
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
        for (Map.Entry<String, Module> e : TargetResolver.candidates(model).entrySet())
            if (e.getValue() instanceof LoraEmbedding le) out.put(e.getKey(), le);
        return out;
    }

    /**
     * The registration of each method that adapts Linear layers: when a config uses it, its layer class (reused
     * when already on top of a layer's wrapper chain, else wrapped around it) and how it adds a named adapter.
     * A new method adds one entry here; the bookkeeping, target resolution and files need no change.
     */
    private record LinearMethod(Predicate<PeftConfig> uses, Class<? extends AdapterLinear> layer, BiFunction<Module, Long, AdapterLinear> wrap, Adder add,
            FileShapes shapes, SlicedWrap sliced) {
        LinearMethod(Predicate<PeftConfig> uses, Class<? extends AdapterLinear> layer, BiFunction<Module, Long, AdapterLinear> wrap, Adder add, FileShapes shapes) {
            this(uses, layer, wrap, add, shapes, null);
        }

        /** The layer class's constructor for a wrapper on an {@link OutputSlice}; null when the method cannot adapt a slice. */
        interface SlicedWrap {
            AdapterLinear wrap(Module base, OutputSlice slice, long seed);
        }

        interface Adder {
            void add(AdapterLinear w, String name, PeftConfig cfg, String path, Rng rng, VeraProjections proj);
        }

        /** The layer class's {@code fileShapes(r, in, out)}: key suffix → shape, for checking a file before loading it. */
        interface FileShapes {
            LinkedHashMap<String, int[]> of(int r, int in, int out);
        }

        static final List<LinearMethod> ALL = List.of(
                new LinearMethod(c -> c.type() == PeftConfig.Type.VERA, VeraLinear.class, VeraLinear::new,
                        (w, n, c, p, rng, proj) -> ((VeraLinear) w).addAdapter(n, proj, c.dInitial(), c.dropout()), VeraLinear::fileShapes, VeraLinear::new),
                new LinearMethod(c -> c.type() == PeftConfig.Type.LORA && c.useDora(), DoraLinear.class, DoraLinear::new, (w, n, c, p, rng, proj) -> {
                    addLora((LoraLinear) w, n, c, p, rng);
                    ((DoraLinear) w).addMagnitude(n); // after A and B (and any PiSSA rewrite of W): m = ‖W + s·B·A‖
                }, DoraLinear::fileShapes),
                new LinearMethod(c -> c.type() == PeftConfig.Type.ADALORA, AdaLoraLinear.class, AdaLoraLinear::new, (w, n, c, p, rng, proj) -> {
                    AdaLoraLinear l = (AdaLoraLinear) w;
                    l.addAdapter(n, TargetResolver.rankFor(c, p), c.r(), c.alpha(), c.dropout(), rng);
                    List<Boolean> keep = c.adaRankPattern().get(p + ".lora_E");
                    if (keep != null) {
                        boolean[] k = new boolean[keep.size()];
                        for (int i = 0; i < k.length; i++) k[i] = keep.get(i);
                        l.setPattern(n, k);
                    }
                }, AdaLoraLinear::fileShapes),
                new LinearMethod(c -> c.type() == PeftConfig.Type.FLORA, FloraLinear.class, FloraLinear::new,
                        (w, n, c, p, rng, proj) -> ((FloraLinear) w).addAdapter(n, TargetResolver.rankFor(c, p), TargetResolver.alphaFor(c, p), c.dropout(), rng),
                        FloraLinear::fileShapes),
                new LinearMethod(c -> c.type() == PeftConfig.Type.BOTTLENECK, BottleneckLinear.class, BottleneckLinear::new,
                        (w, n, c, p, rng, proj) -> ((BottleneckLinear) w).addAdapter(n, c.bottleneck(w.out), c.nonLinearity(), c.dropout(), rng),
                        BottleneckLinear::fileShapes),
                new LinearMethod(c -> c.type() == PeftConfig.Type.LORA, LoraLinear.class, LoraLinear::new,
                        (w, n, c, p, rng, proj) -> addLora((LoraLinear) w, n, c, p, rng), LoraLinear::fileShapes, LoraLinear::new));

        static LinearMethod of(PeftConfig cfg) {
            for (LinearMethod m : ALL) if (m.uses().test(cfg)) return m;
            throw new IllegalArgumentException("no adapter layer registered for " + cfg);
        }
    }

    /** What a file of adapter config {@code cfg} holds for target {@code t}: key suffix → shape. */
    static LinkedHashMap<String, int[]> fileShapes(PeftConfig cfg, TargetResolver.Target t) {
        if (cfg.type() == PeftConfig.Type.BOTTLENECK) return BottleneckLinear.fileShapes(cfg.bottleneck(t.out()), t.in(), t.out());
        int r = TargetResolver.rankFor(cfg, t.path());
        if (t.embedding()) return cfg.useDora() ? DoraEmbedding.fileShapes(r, t.in(), t.out()) : LoraEmbedding.fileShapes(r, t.in(), t.out());
        return LinearMethod.of(cfg).shapes().of(r, t.in(), t.out());
    }

    /** Refuses, naming the target, a method or an init that cannot adapt an output slice (they read or rewrite all of W₀). */
    private static void requireSliceable(PeftConfig cfg, TargetResolver.Target t) {
        String what = null;
        if (LinearMethod.of(cfg).sliced() == null) what = cfg.useDora() ? "DoRA" : cfg.type().toString();
        else if (cfg.loraInit() == PeftConfig.LoraInit.PISSA || cfg.loraInit() == PeftConfig.LoraInit.MILORA) what = cfg.loraInit() + " init";
        if (what != null)
            throw new IllegalArgumentException("target '" + t.path() + "' is output slice '" + t.slice().name() + "' of '" + t.module() + "'; " + what
                    + " cannot adapt a slice (LoRA and VeRA can: rsLoRA, LoRA-FA, LoRA+, LoRA-Pro, Gaussian init included)");
    }

    private static void addLora(LoraLinear l, String name, PeftConfig cfg, String path, Rng rng) {
        l.addAdapter(name, TargetResolver.rankFor(cfg, path), TargetResolver.alphaFor(cfg, path), cfg.useRslora(), cfg.dropout(), rng);
        if (cfg.loraInit() != PeftConfig.LoraInit.DEFAULT) LoraInits.apply(l, name, cfg.loraInit(), rng);
        if (cfg.freezeA()) l.a(name).requiresGrad(false);
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
        for (Module m : TargetResolver.candidates(model).values()) {
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
        for (Map.Entry<String, Module> e : TargetResolver.candidates(model).entrySet())
            if (e.getValue() instanceof AdapterLinear a) out.put(e.getKey(), a);
        return out;
    }

    // ------------------------------------------------------------------ switching

    /** Makes {@code name} the only active adapter; only its parameters require grad (LoRA-FA's A stays frozen). */
    public void setAdapter(String name) {
        PeftConfig cfg = config(name);
        for (AdapterLayer a : allLayers()) {
            a.setActive(Set.of(name));
            for (String n : a.adapterNames()) {
                boolean on = n.equals(name);
                for (Variable p : a.adapterParameters(n)) p.requiresGrad(on);
                if (on && cfg.freezeA() && a instanceof LoraLinear l) l.a(n).requiresGrad(false);
            }
        }
        active = name;
    }

    /** Every adapter layer: the Linear wrappers (nested ones included, outermost first per layer), then the embeddings. */
    private List<AdapterLayer> allLayers() {
        List<AdapterLayer> out = new ArrayList<>(adapterLayers());
        out.addAll(adaptedEmbeddings().values());
        return out;
    }

    /** Turns every adapter off (true: the base model's outputs) or back on. */
    public void setAdaptersDisabled(boolean off) {
        for (AdapterLayer a : allLayers()) a.setDisabled(off);
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
        allocator = null;
        projections.remove(name);
        if (name.equals(active)) {
            active = null;
            if (!configs.isEmpty()) setAdapter(configs.keySet().iterator().next());
        }
    }

    /**
     * AdaLoRA: PEFT's {@code update_and_allocate(global_step)} for this model's AdaLoRA adapter — call it after each
     * optimizer step, before zeroing the gradients ({@link RankAllocator}).
     */
    public void updateAndAllocate(int globalStep) {
        rankAllocator().updateAndAllocate(globalStep);
    }

    /** The rank allocator of this model's AdaLoRA adapter (made on first use). */
    public RankAllocator rankAllocator() {
        if (allocator == null) {
            String ada = null;
            for (Map.Entry<String, PeftConfig> e : configs.entrySet()) if (e.getValue().type() == PeftConfig.Type.ADALORA) ada = e.getKey();
            if (ada == null) throw new IllegalStateException("no AdaLoRA adapter on this model");
            allocator = new RankAllocator(this, ada);
        }
        return allocator;
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
        if (active != null && !disabled && configs.get(active).type() == PeftConfig.Type.BOTTLENECK)
            throw BottleneckLinear.notMergeable(active);
        // a tied embedding refuses before anything is merged
        for (Map.Entry<String, LoraEmbedding> e : adaptedEmbeddings().entrySet())
            if (e.getValue().isTied() && !e.getValue().pendingMerges().isEmpty())
                throw new IllegalStateException("cannot merge: '" + e.getKey() + "' is tied to the LM head, and merging LoRA into it would change the head too "
                        + "(merged ≠ unmerged); keep the adapter unmerged, or untie the head first");
        LinkedHashMap<String, AdapterLinear> layers = adaptedLayers();
        LinkedHashMap<String, LoraEmbedding> embeddings = adaptedEmbeddings();
        if (safe) {
            // Pass 1 checks every merged value and writes nothing. Pass 2 repeats the same operations in the same
            // order (so it writes exactly the values checked); one layer's copy is alive at a time, not all.
            for (Map.Entry<String, AdapterLinear> e : layers.entrySet()) mergedWeight(e.getKey(), e.getValue(), true, false);
            for (Map.Entry<String, LoraEmbedding> e : embeddings.entrySet()) {
                LoraEmbedding le = e.getValue();
                le.applyPending(le.embedding().weight.data(), le.pendingMerges(), true, "'" + e.getKey() + "'");
            }
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
        allocator = null;
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
        for (AdapterLayer a : allLayers()) if (a.hasAdapter(name)) mine.addAll(a.adapterParameters(name));
        for (Map.Entry<String, Variable> e : model.namedParameters().entrySet())
            if (mine.contains(e.getValue())) out.put(peftName(e.getKey()), e.getValue());
        return out;
    }

    static Set<String> set(String... s) {
        return new LinkedHashSet<>(List.of(s));
    }
}
