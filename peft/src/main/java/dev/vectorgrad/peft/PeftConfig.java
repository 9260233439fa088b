package dev.vectorgrad.peft;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * What to adapt and how, as PEFT's {@code LoraConfig} / {@code VeraConfig}: an immutable value, validated when it
 * is built. Make one with a {@link Builder}:
 *
 * <pre>{@code
 * PeftConfig lora = PeftConfig.lora(8).alpha(16).targets("c_attn", "c_proj").dropout(0.05).build();
 * PeftConfig vera = PeftConfig.vera(256).projectionPrngKey(0).targets("c_attn", "c_proj", "c_fc").build();
 * PeftConfig same = PeftConfig.lora(8, 16, "c_attn", "c_proj").build();   // shorthand: r, α, targets
 * }</pre>
 *
 * <p>{@link PeftModel#wrap(dev.vectorgrad.autograd.nn.Module, Builder)} and
 * {@link PeftModel#addAdapter(String, Builder)} also take a builder and build it, so
 * {@code PeftModel.wrap(model, PeftConfig.lora(8, 16, "c_attn"))} works as it reads.
 *
 * <p>Targets: a list of names (a module matches when its dotted path equals a name or ends with
 * {@code "." + name}), a regex that must match the whole path ({@link Builder#targetRegex}), or
 * {@link #ALL_LINEAR}. Defaults are PEFT's (LoRA r = 8, α = 8, dropout 0; VeRA r = 256, key 0,
 * save_projection true, d_initial 0.1).
 *
 * <p>Output slices (vectorgrad only; PEFT cannot do this on a fused layer): GPT-2's {@code c_attn} computes
 * [q | k | v] in one Linear, and a target {@code c_attn.q}, {@code c_attn.k} or {@code c_attn.v} adapts that block
 * alone — the LoRA paper's W_q, W_k, W_v ({@link OutputSlice}). LoRA (rsLoRA, LoRA-FA, LoRA+, LoRA-Pro, Gaussian
 * init) and VeRA take slices; DoRA, PiSSA / MiLoRA, AdaLoRA, FLoRA, LoRA-GA and bottleneck adapters refuse them.
 *
 * <pre>{@code
 * PeftModel pm = PeftModel.wrap(gpt, PeftConfig.lora(4).alpha(8).targets("c_attn.q", "c_attn.v"));
 * pm.targets("default");       // [transformer.h.0.attn.c_attn.q, transformer.h.0.attn.c_attn.v, transformer.h.1...]
 * LoraLinear q = (LoraLinear) pm.layer("transformer.h.0.attn.c_attn.q", "default");
 * q.a("default");              // A [r, n_embd]; q.b("default") is B [n_embd, r]: rows of the q block only
 * q.deltaWeight("default");    // ΔW_q [n_embd, n_embd]; q.baseWeightSlice() is W_q (a view of c_attn's rows [0, n_embd))
 * PeftModel.wrap(gpt, PeftConfig.vera(256).targets("c_attn.q", "c_attn.v"));   // VeRA: projections sized in → n_embd
 * }</pre>
 */
public final class PeftConfig {
    /** The adapter method. */
    public enum Type { LORA, VERA, ADALORA, FLORA, BOTTLENECK }

    /** A bottleneck adapter's non-linearity (AdapterHub's {@code non_linearity}): {@code relu}, or {@code swish} = x·σ(x). */
    public enum NonLinearity { RELU, SWISH }

    /** The targets of a Houlsby config on a GPT: the attention's and the MLP's output projections. */
    public static final List<String> HOULSBY_TARGETS = List.of("attn.c_proj", "mlp.c_proj");

    /** The target of a Pfeiffer config on a GPT: the MLP's output projection. */
    public static final List<String> PFEIFFER_TARGETS = List.of("mlp.c_proj");

    /** How LoRA's A and B start. */
    public enum LoraInit { DEFAULT, GAUSSIAN, PISSA, MILORA }

    /** The {@code target_modules} value meaning every Linear but the output head. */
    public static final String ALL_LINEAR = "all-linear";

    private final Type type;
    private final int r;
    private final double alpha;
    private final List<String> targetModules;
    private final String targetRegex;
    private final List<String> excludeModules;
    private final String excludeRegex;
    private final List<Integer> layersToTransform;
    private final List<String> layersPattern;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Double> alphaPattern;
    private final double dropout;
    private final boolean useRslora;
    private final boolean fanInFanOut;
    private final LoraInit loraInit;
    private final boolean freezeA;
    private final boolean useDora;
    private final int targetR, tinit, tfinal, deltaT, totalStep;
    private final double beta1, beta2, orthRegWeight;
    private final Map<String, List<Boolean>> adaRankPattern;
    private final long seed;
    private final long projectionPrngKey;
    private final boolean saveProjection;
    private final double dInitial;
    private final double reductionFactor;
    private final NonLinearity nonLinearity;
    private final List<String> modulesToSave;

    private PeftConfig(Builder b) {
        type = b.type;
        r = b.r;
        alpha = b.alpha;
        targetModules = b.targetModules == null ? null : List.copyOf(b.targetModules);
        targetRegex = b.targetRegex;
        excludeModules = b.excludeModules == null ? null : List.copyOf(b.excludeModules);
        excludeRegex = b.excludeRegex;
        layersToTransform = b.layersToTransform == null ? null : List.copyOf(b.layersToTransform);
        layersPattern = b.layersPattern == null ? null : List.copyOf(b.layersPattern);
        rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(b.rankPattern)); // order kept: first match wins
        alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(b.alphaPattern));
        dropout = b.dropout;
        useRslora = b.useRslora;
        fanInFanOut = b.fanInFanOut;
        loraInit = b.loraInit;
        freezeA = b.freezeA;
        useDora = b.useDora;
        targetR = b.targetR;
        tinit = b.tinit;
        tfinal = b.tfinal;
        deltaT = b.deltaT;
        totalStep = b.totalStep;
        beta1 = b.beta1;
        beta2 = b.beta2;
        orthRegWeight = b.orthRegWeight;
        LinkedHashMap<String, List<Boolean>> arp = new LinkedHashMap<>();
        b.adaRankPattern.forEach((k, v) -> arp.put(k, List.copyOf(v)));
        adaRankPattern = Collections.unmodifiableMap(arp);
        seed = b.seed;
        projectionPrngKey = b.projectionPrngKey;
        saveProjection = b.saveProjection;
        dInitial = b.dInitial;
        reductionFactor = b.reductionFactor;
        nonLinearity = b.nonLinearity;
        modulesToSave = b.modulesToSave == null ? null : List.copyOf(b.modulesToSave);
    }

    // ------------------------------------------------------------------ entry points

    /**
     * An AdaLoRA builder (PEFT {@code AdaLoraConfig}): {@code initR} triplets per layer pruned to an average of
     * {@code targetR} over {@code totalStep} steps; PEFT's other defaults (α = 8, tinit = tfinal = 0, deltaT = 1,
     * β1 = β2 = 0.85, orth_reg_weight = 0.5).
     */
    public static Builder adalora(int initR, int targetR, int totalStep) {
        return new Builder(Type.ADALORA).r(initR).targetR(targetR).totalStep(totalStep);
    }

    /** A LoRA builder with rank {@code r} and PEFT's other defaults (α = 8, dropout 0, default init). */
    public static Builder lora(int r) {
        return new Builder(Type.LORA).r(r);
    }

    /** Shorthand for {@code lora(r).alpha(alpha).targets(targets)} (no targets given: set them on the builder). */
    public static Builder lora(int r, double alpha, String... targets) {
        Builder b = lora(r).alpha(alpha);
        if (targets.length > 0) b.targets(targets);
        return b;
    }

    /**
     * A FLoRA builder (Si et al., 2-D form, {@link FloraLinear}): rank {@code r}, α = 8, dropout 0. Takes LoRA's
     * α, dropout, targets and rank / alpha patterns; none of rsLoRA, DoRA, LoRA-FA or other inits.
     */
    public static Builder flora(int r) {
        return new Builder(Type.FLORA).r(r);
    }

    /** A VeRA builder with rank {@code r} and PEFT's other defaults (key 0, save_projection, d_initial 0.1). */
    public static Builder vera(int r) {
        return new Builder(Type.VERA).r(r);
    }

    /** Shorthand for {@code vera(r).projectionPrngKey(key).targets(targets)}. */
    public static Builder vera(int r, long projectionPrngKey, String... targets) {
        Builder b = vera(r).projectionPrngKey(projectionPrngKey);
        if (targets.length > 0) b.targets(targets);
        return b;
    }

    /**
     * Houlsby et al. (2019) adapters, as AdapterHub's {@code DoubleSeqBnConfig}: two per block, on the output of
     * the attention's and of the MLP's output projection, bottleneck d/16, swish ({@link BottleneckLinear}). Its
     * targets are the GPT's; on the BERT encoder use {@code Bert.houlsby()} (module {@code encoder}).
     */
    public static Builder houlsby() {
        return new Builder(Type.BOTTLENECK).reductionFactor(16).nonLinearity(NonLinearity.SWISH).targets(HOULSBY_TARGETS);
    }

    /**
     * Pfeiffer et al. (2020) adapters, as AdapterHub's {@code SeqBnConfig}: one per block, on the output of the
     * MLP's output projection, bottleneck d/16, ReLU ({@link BottleneckLinear} says where its placement differs).
     * Its target is the GPT's; on the BERT encoder use {@code Bert.pfeiffer()} (module {@code encoder}).
     */
    public static Builder pfeiffer() {
        return new Builder(Type.BOTTLENECK).reductionFactor(16).nonLinearity(NonLinearity.RELU).targets(PFEIFFER_TARGETS);
    }

    /** A builder for {@code type} with PEFT's defaults for it. */
    public static Builder builder(Type type) {
        return new Builder(type);
    }

    /** A builder holding every setting of this config, to derive another from it. */
    public Builder toBuilder() {
        Builder b = new Builder(type);
        b.r = r;
        b.alpha = alpha;
        b.targetModules = targetModules;
        b.targetRegex = targetRegex;
        b.excludeModules = excludeModules;
        b.excludeRegex = excludeRegex;
        b.layersToTransform = layersToTransform;
        b.layersPattern = layersPattern;
        b.rankPattern.putAll(rankPattern);
        b.alphaPattern.putAll(alphaPattern);
        b.dropout = dropout;
        b.useRslora = useRslora;
        b.fanInFanOut = fanInFanOut;
        b.loraInit = loraInit;
        b.freezeA = freezeA;
        b.useDora = useDora;
        b.targetR = targetR;
        b.tinit = tinit;
        b.tfinal = tfinal;
        b.deltaT = deltaT;
        b.totalStep = totalStep;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.orthRegWeight = orthRegWeight;
        b.adaRankPattern.putAll(adaRankPattern);
        b.seed = seed;
        b.projectionPrngKey = projectionPrngKey;
        b.saveProjection = saveProjection;
        b.dInitial = dInitial;
        b.reductionFactor = reductionFactor;
        b.nonLinearity = nonLinearity;
        b.modulesToSave = modulesToSave;
        return b;
    }

    // ------------------------------------------------------------------ accessors

    /** The method: LoRA (DoRA with {@link #useDora}), VeRA, AdaLoRA or bottleneck adapters. */
    public Type type() { return type; }

    /** The rank (VeRA: of the shared projections). */
    public int r() { return r; }

    /** LoRA's α (scaling α/r, or α/√r with rsLoRA); VeRA has none. */
    public double alpha() { return alpha; }

    /** The target names, or null when targets are a regex; {@code ["all-linear"]} for {@link #ALL_LINEAR}. */
    public List<String> targetModules() { return targetModules; }

    /** The regex a target's whole dotted path must match, or null when targets are names. */
    public String targetRegex() { return targetRegex; }

    /** Names excluded even when targeted (exact or dotted suffix), or null. */
    public List<String> excludeModules() { return excludeModules; }

    /** A regex of whole paths excluded, or null. */
    public String excludeRegex() { return excludeRegex; }

    /** Only these layer indices are adapted (PEFT's {@code layers_to_transform}), or null for all. */
    public List<Integer> layersToTransform() { return layersToTransform; }

    /** The names in front of the layer index ({@code layers_pattern}), or null for any. */
    public List<String> layersPattern() { return layersPattern; }

    /** Per-module ranks by name suffix regex, in order (first match wins); unmodifiable. */
    public Map<String, Integer> rankPattern() { return rankPattern; }

    /** Per-module α by name suffix regex, in order (first match wins); unmodifiable. */
    public Map<String, Double> alphaPattern() { return alphaPattern; }

    /** Dropout on the adapter's input, in [0, 1). */
    public double dropout() { return dropout; }

    /** rsLoRA: scaling α/√r instead of α/r. */
    public boolean useRslora() { return useRslora; }

    /** PEFT's {@code fan_in_fan_out} (kept for the file; vectorgrad's Linear weights are always [out, in]). */
    public boolean fanInFanOut() { return fanInFanOut; }

    /** How LoRA's A and B start. */
    public LoraInit loraInit() { return loraInit; }

    /**
     * LoRA-FA: A frozen after its init, only B trained (with {@link Methods#loraFaAdamW} B's gradient is also
     * projected, as PEFT's {@code LoraFAOptimizer}). Refused on an embedding target, whose A starts at zero.
     */
    public boolean freezeA() { return freezeA; }

    /**
     * DoRA (PEFT {@code use_dora}): each adapted Linear also gets a trainable magnitude per output row, and the
     * layer computes (m / ‖W + s·B·A‖_row) ⊙ (W + s·B·A) ({@link DoraLinear}).
     */
    public boolean useDora() { return useDora; }

    /** AdaLoRA: the final average rank per layer (init_r is {@link #r()}). */
    public int targetR() { return targetR; }

    /** AdaLoRA: steps before pruning starts. */
    public int tinit() { return tinit; }

    /** AdaLoRA: steps at the end with the final ranks fixed. */
    public int tfinal() { return tfinal; }

    /** AdaLoRA: steps between two pruning steps. */
    public int deltaT() { return deltaT; }

    /** AdaLoRA: the total number of training steps the budget schedule spans. */
    public int totalStep() { return totalStep; }

    /** AdaLoRA: the EMA factor of the importance. */
    public double beta1() { return beta1; }

    /** AdaLoRA: the EMA factor of the uncertainty. */
    public double beta2() { return beta2; }

    /** AdaLoRA: the weight of the orthogonal regulariser (added to the loss by the caller). */
    public double orthRegWeight() { return orthRegWeight; }

    /**
     * AdaLoRA: the kept triplets per layer, keyed {@code <module path>.lora_E}, one boolean per initial rank (PEFT's
     * {@code rank_pattern} for AdaLoRA); empty until ranks were allocated.
     */
    public Map<String, List<Boolean>> adaRankPattern() { return adaRankPattern; }

    /** Seed of the engine generator that initialises LoRA's A (and dropout masks). */
    public long seed() { return seed; }

    /** VeRA: the key PyTorch's generator is seeded with to draw the shared A and B. */
    public long projectionPrngKey() { return projectionPrngKey; }

    /** VeRA: whether PEFT directories hold the shared A and B. */
    public boolean saveProjection() { return saveProjection; }

    /** VeRA: the initial value of every λ_d. */
    public double dInitial() { return dInitial; }

    /** Bottleneck adapters: the bottleneck is ⌊d / reductionFactor⌋ (at least 1) for a layer of width d. */
    public double reductionFactor() { return reductionFactor; }

    /** Bottleneck adapters: the non-linearity between the down- and the up-projection. */
    public NonLinearity nonLinearity() { return nonLinearity; }

    /**
     * PEFT's {@code modules_to_save}: modules (matched by exact path or dotted suffix, e.g. a classification head
     * {@code "classifier"}) that train in full beside the adapter and are saved with it, under
     * {@code base_model.model.<path>.<parameter>} as PEFT 0.15+ writes them; null when there are none.
     */
    public List<String> modulesToSave() { return modulesToSave; }

    /** The bottleneck size of a bottleneck adapter on a layer with {@code d} outputs: AdapterHub's {@code int(d // reduction_factor)}, at least 1. */
    public int bottleneck(int d) {
        return Math.max(1, (int) Math.floor(d / reductionFactor));
    }

    boolean allLinear() {
        return targetModules != null && targetModules.size() == 1 && targetModules.get(0).equals(ALL_LINEAR);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("PeftConfig[").append(type).append(", r=").append(r);
        if (type != Type.VERA && type != Type.BOTTLENECK) s.append(", alpha=").append(alpha);
        if (type == Type.BOTTLENECK) s.append(", reductionFactor=").append(reductionFactor).append(", nonLinearity=").append(nonLinearity);
        else s.append(", projectionPrngKey=").append(projectionPrngKey).append(", saveProjection=").append(saveProjection).append(", dInitial=").append(dInitial);
        s.append(", targets=").append(targetRegex != null ? "regex " + targetRegex : targetModules);
        if (excludeModules != null) s.append(", exclude=").append(excludeModules);
        if (excludeRegex != null) s.append(", excludeRegex=").append(excludeRegex);
        if (layersToTransform != null) s.append(", layers=").append(layersToTransform);
        if (layersPattern != null) s.append(", layersPattern=").append(layersPattern);
        if (!rankPattern.isEmpty()) s.append(", rankPattern=").append(rankPattern);
        if (!alphaPattern.isEmpty()) s.append(", alphaPattern=").append(alphaPattern);
        if (dropout != 0) s.append(", dropout=").append(dropout);
        if (useRslora) s.append(", rslora");
        if (loraInit != LoraInit.DEFAULT) s.append(", init=").append(loraInit);
        if (freezeA) s.append(", freezeA");
        if (useDora) s.append(", dora");
        if (modulesToSave != null) s.append(", modulesToSave=").append(modulesToSave);
        return s.append(", seed=").append(seed).append(']').toString();
    }

    // ------------------------------------------------------------------ builder

    /**
     * Collects the settings of a {@link PeftConfig}; every setter returns this builder. Nothing is checked until
     * {@link #build()}, which validates the whole config and throws {@link IllegalArgumentException} naming the
     * setting at fault.
     */
    public static final class Builder {
        private final Type type;
        private int r;
        private double alpha = 8;
        private List<String> targetModules;
        private String targetRegex;
        private List<String> excludeModules;
        private String excludeRegex;
        private List<Integer> layersToTransform;
        private List<String> layersPattern;
        private final LinkedHashMap<String, Integer> rankPattern = new LinkedHashMap<>();
        private final LinkedHashMap<String, Double> alphaPattern = new LinkedHashMap<>();
        private double dropout;
        private boolean useRslora;
        private boolean fanInFanOut;
        private LoraInit loraInit = LoraInit.DEFAULT;
        private boolean freezeA;
        private boolean useDora;
        private int targetR = 8, tinit, tfinal, deltaT = 1, totalStep;
        private double beta1 = 0.85, beta2 = 0.85, orthRegWeight = 0.5;
        private final LinkedHashMap<String, List<Boolean>> adaRankPattern = new LinkedHashMap<>();
        private long seed;
        private long projectionPrngKey;
        private boolean saveProjection = true;
        private double dInitial = 0.1;
        private double reductionFactor = 16;
        private NonLinearity nonLinearity = NonLinearity.RELU;
        private List<String> modulesToSave;

        private Builder(Type type) {
            this.type = Objects.requireNonNull(type, "PEFT config: method (type) must be LORA, VERA, ADALORA or BOTTLENECK, got null");
            this.r = type == Type.VERA ? 256 : 8;
        }

        /** The rank; must be positive. */
        public Builder r(int r) { this.r = r; return this; }

        /** LoRA's α; must be finite. */
        public Builder alpha(double alpha) { this.alpha = alpha; return this; }

        /** A list of names, or the single value {@link #ALL_LINEAR}; replaces a {@link #targetRegex}. */
        public Builder targets(String... names) {
            this.targetModules = nullSafeList(names);
            this.targetRegex = null;
            return this;
        }

        /** The same from a list. */
        public Builder targets(List<String> names) {
            return targets(names.toArray(String[]::new));
        }

        /** A regex that must match a module's whole dotted path; replaces a list of {@link #targets}. */
        public Builder targetRegex(String regex) {
            this.targetRegex = regex;
            this.targetModules = null;
            return this;
        }

        /** Names never adapted (exact or dotted suffix), even when targeted. */
        public Builder exclude(String... names) { this.excludeModules = nullSafeList(names); return this; }

        /** A regex of whole paths never adapted. */
        public Builder excludeRegex(String regex) { this.excludeRegex = regex; return this; }

        /** Only the layers with these indices ({@code layers_to_transform}). */
        public Builder layers(Integer... idx) { this.layersToTransform = nullSafeList(idx); return this; }

        /** The names in front of the layer index ({@code layers_pattern}, e.g. {@code "h"} in {@code transformer.h.3.attn}). */
        public Builder layersPattern(String... names) { this.layersPattern = nullSafeList(names); return this; }

        /** Rank {@code rank} for modules whose path ends with a match of regex {@code key} (first key added wins). */
        public Builder rankPattern(String key, int rank) { rankPattern.put(key, rank); return this; }

        /** α {@code a} for modules whose path ends with a match of regex {@code key} (first key added wins). */
        public Builder alphaPattern(String key, double a) { alphaPattern.put(key, a); return this; }

        /** Dropout on the adapter's input, in [0, 1). */
        public Builder dropout(double p) { this.dropout = p; return this; }

        /** rsLoRA (LoRA only): scaling α/√r. */
        public Builder rslora(boolean on) { this.useRslora = on; return this; }

        /** PEFT's {@code fan_in_fan_out}, carried into saved configs. */
        public Builder fanInFanOut(boolean on) { this.fanInFanOut = on; return this; }

        /** LoRA's initialisation (LoRA only). */
        public Builder init(LoraInit i) { this.loraInit = i; return this; }

        /** LoRA-FA (LoRA only): A frozen after its init. */
        public Builder freezeA(boolean on) { this.freezeA = on; return this; }

        /** AdaLoRA: the target average rank. */
        public Builder targetR(int r) { this.targetR = r; return this; }

        /** AdaLoRA: warm-up steps before pruning, final steps with fixed ranks, steps between pruning steps. */
        public Builder schedule(int tinit, int tfinal, int deltaT) { this.tinit = tinit; this.tfinal = tfinal; this.deltaT = deltaT; return this; }

        /** AdaLoRA: total training steps. */
        public Builder totalStep(int t) { this.totalStep = t; return this; }

        /** AdaLoRA: the importance and uncertainty EMA factors. */
        public Builder betas(double b1, double b2) { this.beta1 = b1; this.beta2 = b2; return this; }

        /** AdaLoRA: the orthogonal regulariser's weight. */
        public Builder orthRegWeight(double w) { this.orthRegWeight = w; return this; }

        /** AdaLoRA: the kept triplets of one layer (key {@code <module path>.lora_E}). */
        public Builder adaRankPattern(String key, List<Boolean> keep) { adaRankPattern.put(key, List.copyOf(keep)); return this; }

        /** DoRA: a trainable magnitude per output row on top of LoRA ({@link PeftConfig#useDora}). */
        public Builder dora(boolean on) { this.useDora = on; return this; }

        /** Seed of the generator that initialises LoRA's A (and dropout masks). */
        public Builder seed(long s) { this.seed = s; return this; }

        /** VeRA: the key of the shared projections. */
        public Builder projectionPrngKey(long key) { this.projectionPrngKey = key; return this; }

        /** VeRA: whether PEFT directories hold the shared A and B. */
        public Builder saveProjection(boolean on) { this.saveProjection = on; return this; }

        /** VeRA: the initial λ_d; must be finite. */
        public Builder dInitial(double d) { this.dInitial = d; return this; }

        /** Bottleneck adapters: the layer width over the bottleneck size; must be positive and finite. */
        public Builder reductionFactor(double f) { this.reductionFactor = f; return this; }

        /** Bottleneck adapters: the non-linearity. */
        public Builder nonLinearity(NonLinearity n) { this.nonLinearity = n; return this; }

        /** PEFT's {@code modules_to_save} (see {@link PeftConfig#modulesToSave()}). */
        public Builder modulesToSave(String... names) { this.modulesToSave = nullSafeList(names); return this; }

        /**
         * Checks every setting and returns the config. Refused: r ≤ 0; α, a pattern's α or d_initial not finite;
         * dropout outside [0, 1); no targets, an empty or null target name, {@code all-linear} beside other
         * names; a regex (targets, excludes, pattern keys) that does not compile; a rank_pattern rank ≤ 0; a
         * negative layer index; and for VeRA any LoRA-only setting (rank/alpha patterns, rsLoRA, init, LoRA-FA).
         */
        public PeftConfig build() {
            if (r <= 0) throw bad("r must be positive, got " + r);
            if (!Double.isFinite(alpha)) throw bad("lora_alpha must be finite, got " + alpha);
            if (!(dropout >= 0 && dropout < 1)) throw bad("dropout must be in [0, 1), got " + dropout);
            if (!Double.isFinite(dInitial)) throw bad("d_initial must be finite, got " + dInitial);
            if (loraInit == null) throw bad("init must not be null");
            if (targetModules == null && targetRegex == null)
                throw bad("no target modules (give targets(...), targetRegex(...) or targets(ALL_LINEAR))");
            if (targetModules != null) {
                if (targetModules.isEmpty()) throw bad("target_modules is empty");
                for (String t : targetModules)
                    if (t == null || t.isEmpty()) throw bad("empty target module name in " + targetModules);
                if (targetModules.contains(ALL_LINEAR) && targetModules.size() > 1)
                    throw bad("'" + ALL_LINEAR + "' must be the only target, got " + targetModules);
            }
            if (targetRegex != null) compiles(targetRegex, "target regex");
            if (excludeRegex != null) compiles(excludeRegex, "exclude regex");
            if (excludeModules != null)
                for (String x : excludeModules) if (x == null || x.isEmpty()) throw bad("empty exclude module name in " + excludeModules);
            if (layersToTransform != null)
                for (Integer i : layersToTransform) if (i == null || i < 0) throw bad("layers_to_transform holds " + i + "; layer indices are ≥ 0");
            if (modulesToSave != null)
                for (String m : modulesToSave) if (m == null || m.isEmpty()) throw bad("empty modules_to_save name in " + modulesToSave);
            if (layersPattern != null)
                for (String p : layersPattern) if (p == null || p.isEmpty()) throw bad("empty layers_pattern in " + layersPattern);
            for (Map.Entry<String, Integer> e : rankPattern.entrySet()) {
                compiles(e.getKey(), "rank_pattern key");
                if (e.getValue() == null || e.getValue() <= 0) throw bad("rank_pattern '" + e.getKey() + "': r must be positive, got " + e.getValue());
            }
            for (Map.Entry<String, Double> e : alphaPattern.entrySet()) {
                compiles(e.getKey(), "alpha_pattern key");
                if (e.getValue() == null || !Double.isFinite(e.getValue())) throw bad("alpha_pattern '" + e.getKey() + "': α must be finite, got " + e.getValue());
            }
            if (type == Type.ADALORA) {
                if (!rankPattern.isEmpty() || !alphaPattern.isEmpty()) throw bad("AdaLoRA takes no rank_pattern / alpha_pattern of ranks or alphas");
                if (useRslora || useDora || freezeA || loraInit != LoraInit.DEFAULT) throw bad("AdaLoRA supports none of rsLoRA, DoRA, LoRA-FA or other inits (PEFT refuses DoRA too)");
                if (targetR < 0 || targetR > r) throw bad("AdaLoRA: target_r must be in [0, init_r = " + r + "], got " + targetR);
                if (totalStep <= 0) throw bad("AdaLoRA: total_step must be positive, got " + totalStep);
                if (tinit < 0 || tfinal < 0 || !(tinit < totalStep - tfinal)) throw bad("AdaLoRA: need 0 ≤ tinit < total_step − tfinal, got tinit " + tinit + ", tfinal " + tfinal + ", total_step " + totalStep);
                if (deltaT <= 0) throw bad("AdaLoRA: deltaT must be positive, got " + deltaT);
                if (!(beta1 > 0 && beta1 < 1 && beta2 > 0 && beta2 < 1)) throw bad("AdaLoRA: beta1 and beta2 must be in (0, 1), got " + beta1 + ", " + beta2);
                if (!(orthRegWeight >= 0)) throw bad("AdaLoRA: orth_reg_weight must be ≥ 0, got " + orthRegWeight);
                for (Map.Entry<String, List<Boolean>> e : adaRankPattern.entrySet())
                    if (e.getValue().size() != r) throw bad("AdaLoRA rank_pattern '" + e.getKey() + "' has " + e.getValue().size() + " entries, init_r is " + r);
            } else if (!adaRankPattern.isEmpty()) throw bad("a boolean rank_pattern is AdaLoRA's");
            if (type == Type.FLORA && (useRslora || useDora || freezeA || loraInit != LoraInit.DEFAULT))
                throw bad("FLoRA supports none of rsLoRA, DoRA, LoRA-FA or other inits");
            if (type == Type.VERA) {
                if (!rankPattern.isEmpty()) throw bad("VeRA has one shared r; rank_pattern is a LoRA option");
                if (!alphaPattern.isEmpty()) throw bad("VeRA has no α; alpha_pattern is a LoRA option");
                if (useRslora) throw bad("rsLoRA is a LoRA option, not VeRA's");
                if (loraInit != LoraInit.DEFAULT) throw bad("init " + loraInit + " is a LoRA option, not VeRA's");
                if (freezeA) throw bad("freezeA (LoRA-FA) is a LoRA option, not VeRA's");
                if (useDora) throw bad("use_dora is a LoRA option, not VeRA's");
            }
            if (type == Type.BOTTLENECK) {
                if (!(reductionFactor > 0) || !Double.isFinite(reductionFactor)) throw bad("reduction_factor must be positive and finite, got " + reductionFactor);
                if (nonLinearity == null) throw bad("non_linearity must not be null");
                if (!rankPattern.isEmpty() || !alphaPattern.isEmpty()) throw bad("bottleneck adapters take no rank_pattern / alpha_pattern (LoRA options)");
                if (useRslora || useDora || freezeA || loraInit != LoraInit.DEFAULT) throw bad("rsLoRA, DoRA, LoRA-FA and LoRA inits are LoRA options, not a bottleneck adapter's");
            }
            return new PeftConfig(this);
        }

        private static void compiles(String regex, String what) {
            try {
                Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw bad(what + " '" + regex + "' is not a valid regex: " + e.getDescription());
            }
        }

        private static IllegalArgumentException bad(String msg) {
            return new IllegalArgumentException("PEFT config: " + msg);
        }

        @SafeVarargs
        private static <T> List<T> nullSafeList(T... xs) {
            return Collections.unmodifiableList(new ArrayList<>(java.util.Arrays.asList(xs))); // List.of rejects nulls; build() names them
        }
    }
}
