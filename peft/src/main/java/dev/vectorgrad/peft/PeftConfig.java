package dev.vectorgrad.peft;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What to adapt and how, as PEFT's {@code LoraConfig} / {@code VeraConfig}. Targets: a list of names (a module
 * matches when its dotted path equals a name or ends with {@code "." + name}), a regex that must match the
 * whole path ({@link #targetRegex}), or {@link #ALL_LINEAR}. Fluent setters; defaults are PEFT's.
 */
public final class PeftConfig {
    public enum Type { LORA, VERA }

    /** How LoRA's A and B start. */
    public enum LoraInit { DEFAULT, GAUSSIAN, PISSA, MILORA }

    /** The {@code target_modules} value meaning every Linear but the output head. */
    public static final String ALL_LINEAR = "all-linear";

    public Type type = Type.LORA;
    public int r = 8;
    public double alpha = 8;
    public List<String> targetModules;
    public String targetRegex;
    public List<String> excludeModules;
    public String excludeRegex;
    public List<Integer> layersToTransform;
    public List<String> layersPattern;
    public Map<String, Integer> rankPattern = new LinkedHashMap<>();
    public Map<String, Double> alphaPattern = new LinkedHashMap<>();
    public double dropout;
    public boolean useRslora;
    public boolean fanInFanOut;
    public LoraInit loraInit = LoraInit.DEFAULT;
    /** LoRA-FA: A frozen after its init, only B trained. */
    public boolean freezeA;
    /** Seed of the engine generator that initialises LoRA's A (and dropout masks). */
    public long seed;
    public long projectionPrngKey;
    public boolean saveProjection = true;
    public double dInitial = 0.1;

    public static PeftConfig lora(int r, double alpha, String... targets) {
        PeftConfig c = new PeftConfig();
        c.type = Type.LORA;
        c.r = r;
        c.alpha = alpha;
        c.targets(targets);
        return c;
    }

    public static PeftConfig vera(int r, long projectionPrngKey, String... targets) {
        PeftConfig c = new PeftConfig();
        c.type = Type.VERA;
        c.r = r;
        c.projectionPrngKey = projectionPrngKey;
        c.dropout = 0;
        c.targets(targets);
        return c;
    }

    /** A list of names, or the single value {@code "all-linear"}. */
    public PeftConfig targets(String... names) {
        this.targetModules = List.of(names);
        this.targetRegex = null;
        return this;
    }

    /** A regex that must match a module's whole dotted path. */
    public PeftConfig targetRegex(String regex) {
        this.targetRegex = regex;
        this.targetModules = null;
        return this;
    }

    public PeftConfig exclude(String... names) { this.excludeModules = List.of(names); return this; }
    public PeftConfig excludeRegex(String regex) { this.excludeRegex = regex; return this; }
    public PeftConfig layers(Integer... idx) { this.layersToTransform = List.of(idx); return this; }
    public PeftConfig rankPattern(String key, int rank) { rankPattern.put(key, rank); return this; }
    public PeftConfig alphaPattern(String key, double a) { alphaPattern.put(key, a); return this; }
    public PeftConfig dropout(double p) { this.dropout = p; return this; }
    public PeftConfig rslora(boolean on) { this.useRslora = on; return this; }
    public PeftConfig fanInFanOut(boolean on) { this.fanInFanOut = on; return this; }
    public PeftConfig init(LoraInit i) { this.loraInit = i; return this; }
    public PeftConfig freezeA(boolean on) { this.freezeA = on; return this; }
    public PeftConfig seed(long s) { this.seed = s; return this; }
    public PeftConfig saveProjection(boolean on) { this.saveProjection = on; return this; }
    public PeftConfig dInitial(double d) { this.dInitial = d; return this; }

    boolean allLinear() {
        return targetModules != null && targetModules.size() == 1 && targetModules.get(0).equals(ALL_LINEAR);
    }
}
