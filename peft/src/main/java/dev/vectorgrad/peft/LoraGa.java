package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntConsumer;

/**
 * LoRA-GA (Wang, Yu, Li 2024, arXiv 2407.05000): LoRA whose A₀, B₀ come from the full gradient, so that the first
 * LoRA step follows the best rank-2r approximation of a full fine-tuning step. As PEFT's
 * {@code preprocess_loraga} + {@code init_lora_weights="lora_ga"}:
 * <ol>
 * <li>{@link #estimateGradients}: only the targets' weights require grad, the user's callback runs the forward /
 *     backward passes of a few batches, and each weight's accumulated gradient is divided by the number of
 *     batches (PEFT divides by the backward passes counted per module; the same when each batch is one pass).</li>
 * <li>Per layer, the top 2r singular triplets of the averaged gradient G (out × in) by {@link Svd#topR} (q = 4r,
 *     niter = 4, as both implementations' {@code svd_lowrank}); A₀ takes rows of Vᵀ and B₀ columns of U as the
 *     {@link Direction} says.</li>
 * <li>The {@link Scale}: PEFT's default {@code stable} (B₀ = U·diag(S)·out^{1/4}/√γ, A₀ unscaled) or the paper's
 *     "stable" (the original repo: A₀ and B₀ both times d_out^{1/4}/√γ, no singular values).</li>
 * <li>W ← W − s·B₀A₀ (the function at init is unchanged); A₀, B₀ kept as the layer's initial factors, so that
 *     {@link PeftFiles#save} writes PEFT's rank-2r conversion (A' = [A; A₀], B' = [B, −B₀], r and α doubled),
 *     which loads onto the <em>original</em> model, as PiSSA's and MiLoRA's files do.</li>
 * </ol>
 * LoRA-GA is only an initialiser: train with any optimiser. Linear / Conv1D targets only (as PEFT).
 */
public final class LoraGa {
    private LoraGa() {}

    /** Which singular vectors A₀ (rows of Vᵀ) and B₀ (columns of U) take, §3.3 of the doc / PEFT's {@code direction}. */
    public enum Direction {
        /** A: Vᵀ[0:r], B: U[:, r:2r] (the default). */
        ARB2R,
        /** A: Vᵀ[r:2r], B: U[:, 0:r]. */
        A2RBR,
        /** A: Vᵀ[1:2r:2], B: U[:, 0:2r:2]. */
        ARBR,
        /** PEFT's: the same r indices, a random subset of 0..2r, for A and B. */
        RANDOM
    }

    /** The scale presets. */
    public enum Scale {
        /** PEFT's {@code scale="stable"} (its default): B₀ = U·diag(S)·out^{1/4}/√γ, A₀ = Vᵀ rows. */
        PEFT_STABLE,
        /** The paper's / original repo's "stable": A₀ = Vᵀ rows and B₀ = U columns, both times d_out^{1/4}/√γ. */
        PAPER_STABLE
    }

    /** The init's settings; {@link #DEFAULTS} are PEFT's ({@code ArB2r}, {@code stable}, γ = 16). */
    public record Options(Direction direction, Scale scale, double stableGamma, long seed) {
        public static final Options DEFAULTS = new Options(Direction.ARB2R, Scale.PEFT_STABLE, 16, 0);

        public Options {
            Objects.requireNonNull(direction, "LoRA-GA: direction");
            Objects.requireNonNull(scale, "LoRA-GA: scale");
            if (!(stableGamma > 0)) throw new IllegalArgumentException("LoRA-GA: stable_gamma must be positive, got " + stableGamma);
        }

        public Options direction(Direction d) { return new Options(d, scale, stableGamma, seed); }

        public Options scale(Scale s) { return new Options(direction, s, stableGamma, seed); }

        public Options stableGamma(double g) { return new Options(direction, scale, g, seed); }
    }

    /**
     * Estimates the gradients, wraps {@code model} with adapter "default" of {@code cfg} and initialises it by
     * LoRA-GA. {@code step} is called with 0, 1, …, {@code batches} − 1 and must run one forward and backward pass
     * (e.g. {@code i -> model.loss(x[i], y[i]).backward()}).
     */
    public static PeftModel wrap(Module model, PeftConfig cfg, int batches, IntConsumer step, Options opts) {
        Map<String, Tensor> grads = estimateGradients(model, cfg, batches, step);
        PeftModel pm = PeftModel.wrap(model, cfg);
        init(pm, "default", grads, opts);
        return pm;
    }

    /** {@link #wrap(Module, PeftConfig, int, IntConsumer, Options)} with PEFT's defaults. */
    public static PeftModel wrap(Module model, PeftConfig cfg, int batches, IntConsumer step) {
        return wrap(model, cfg, batches, step, Options.DEFAULTS);
    }

    /**
     * The average gradient of each target's weight (out × in) over {@code batches} calls of {@code step}, by module
     * path, with only those weights requiring grad meanwhile; every parameter's flag and gradient are restored
     * / cleared afterwards. The targets must be bare Linear layers (call this before adding adapters).
     */
    public static LinkedHashMap<String, Tensor> estimateGradients(Module model, PeftConfig cfg, int batches, IntConsumer step) {
        if (batches <= 0) throw new IllegalArgumentException("LoRA-GA: batches must be positive, got " + batches);
        if (cfg.type() != PeftConfig.Type.LORA) throw new IllegalArgumentException("LoRA-GA initialises LoRA adapters, not " + cfg.type());
        if (cfg.useDora() || cfg.loraInit() != PeftConfig.LoraInit.DEFAULT)
            throw new IllegalArgumentException("LoRA-GA: the config must be a plain LoRA with the default init (got " + cfg + ")");
        Map<String, Module> modules = model.namedModules();
        LinkedHashMap<String, Linear> targets = new LinkedHashMap<>();
        for (TargetResolver.Target t : TargetResolver.resolve(model, cfg)) {
            if (t.slice() != null)
                throw new IllegalArgumentException("LoRA-GA: target '" + t.path() + "' is an output slice of '" + t.module() + "'; LoRA-GA initialises whole Linear layers only");
            Module m = modules.get(t.path());
            if (!(m instanceof Linear l) || t.embedding())
                throw new IllegalArgumentException("LoRA-GA: target '" + t.path() + "' is a " + (m == null ? "missing module" : m.getClass().getSimpleName())
                        + "; LoRA-GA adapts bare Linear / Conv1D layers only (estimate the gradients before adding adapters)");
            int r = TargetResolver.rankFor(cfg, t.path());
            if (2 * r > Math.min(l.inFeatures, l.outFeatures))
                throw new IllegalArgumentException("LoRA-GA: 2r = " + 2 * r + " exceeds min(in, out) = " + Math.min(l.inFeatures, l.outFeatures) + " of '" + t.path() + "'");
            targets.put(t.path(), l);
        }
        IdentityHashMap<Variable, Boolean> flags = new IdentityHashMap<>();
        for (Variable p : model.parameters()) flags.put(p, p.requiresGrad());
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (Variable p : model.parameters()) {
                p.requiresGrad(false);
                p.zeroGrad();
            }
            for (Linear l : targets.values()) l.weight.requiresGrad(true);
            for (int i = 0; i < batches; i++) step.accept(i);
            for (Map.Entry<String, Linear> e : targets.entrySet()) {
                Tensor g = e.getValue().weight.grad();
                if (g == null) throw new IllegalStateException("LoRA-GA: the training step gave no gradient to '" + e.getKey() + ".weight'");
                out.put(e.getKey(), g.mul(1f / batches).contiguous());
            }
        } finally {
            for (Variable p : model.parameters()) {
                p.zeroGrad();
                p.requiresGrad(flags.get(p));
            }
        }
        return out;
    }

    /**
     * Initialises adapter {@code name} (already added with the default init) of every layer in {@code grads} from
     * that layer's averaged gradient (out × in), and rewrites the layer's W to W − s·B₀A₀.
     */
    public static void init(PeftModel pm, String name, Map<String, Tensor> grads, Options opts) {
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
            if (!(pm.adaptedLayers().get(e.getKey()) instanceof LoraLinear l) || !l.hasAdapter(name))
                throw new IllegalArgumentException("LoRA-GA: no LoRA adapter '" + name + "' on '" + e.getKey() + "'");
            initLayer(l, name, e.getValue(), opts);
        }
    }

    /** One layer: A₀, B₀ from the top-2r SVD of {@code grad} (out × in), W ← W − s·B₀A₀. */
    static void initLayer(LoraLinear l, String name, Tensor grad, Options opts) {
        int r = l.rank(name), out = l.outFeatures(), in = l.inFeatures();
        if (grad.rank() != 2 || grad.size(0) != out || grad.size(1) != in)
            throw new IllegalArgumentException("LoRA-GA: gradient of shape " + java.util.Arrays.toString(grad.shape()) + " for a layer of weight [" + out + ", " + in + "]");
        if (l.initialFactors(name) != null) throw new IllegalStateException("LoRA-GA: adapter '" + name + "' was already initialised from the weights");
        try (var g = Grad.disabled()) {
            Svd.Result d = Svd.topR(grad, 2 * r, Math.min(4 * r, Math.min(out, in)), 4, opts.seed());
            int[][] idx = indices(opts.direction(), r, opts.seed());
            float[] u = d.u().contiguous().toArray(), s = d.s().contiguous().toArray(), v = d.v().contiguous().toArray(); // u: out × 2r, v: in × 2r
            int k = 2 * r;
            float[] a = new float[r * in], b = new float[out * r];
            double c = Math.pow(out, 0.25) / Math.sqrt(opts.stableGamma());
            boolean peft = opts.scale() == Scale.PEFT_STABLE;
            for (int j = 0; j < r; j++) {
                int ia = idx[0][j], ib = idx[1][j];
                double fa = peft ? 1 : c, fb = peft ? c * s[ib] : c;
                for (int i = 0; i < in; i++) a[j * in + i] = (float) (fa * v[i * k + ia]);
                for (int o = 0; o < out; o++) b[o * r + j] = (float) (fb * u[o * k + ib]);
            }
            apply(l, name, Tensor.wrap(a, r, in), Tensor.wrap(b, out, r));
        }
    }

    /** A = A₀, B = B₀, W ← W − s·B₀A₀, and A₀, B₀ recorded as the layer's initial factors. */
    private static void apply(LoraLinear l, String name, Tensor a0, Tensor b0) {
        try (var g = Grad.disabled()) {
            l.a(name).data().copyFrom(a0);
            l.b(name).data().copyFrom(b0);
            Tensor w = l.linear().weight.data();
            w.copyFrom(w.sub(b0.matmul(a0).mul(l.scaling(name))));
            l.setInitialFactors(name, a0, b0);
        }
    }

    /**
     * Writes the init of adapter {@code name} (A₀ and B₀ of every layer, as {@code <path>.A0} (r × in) and
     * {@code <path>.B0} (out × r)) to a safetensors file, so that a resumed run repeats it exactly with
     * {@link #wrapFromInit} instead of estimating the gradients again (PEFT's {@code cache_file} plays that part,
     * holding the gradients).
     */
    public static void saveInit(PeftModel pm, String name, Path file) throws IOException {
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
        int n = 0;
        for (String path : pm.targets(name))
            if (pm.adaptedLayers().get(path) instanceof LoraLinear l && l.hasAdapter(name) && l.initialFactors(name) != null) {
                Tensor[] f = l.initialFactors(name);
                w.put(path + ".A0", f[0].contiguous());
                w.put(path + ".B0", f[1].contiguous());
                n++;
            }
        if (n == 0) throw new IllegalArgumentException("LoRA-GA: adapter '" + name + "' has no LoRA-GA init to save");
        w.write(file);
    }

    /**
     * Wraps {@code model} with adapter "default" of {@code cfg} and applies the init {@link #saveInit} wrote to
     * {@code file}: the same A₀, B₀ and W − s·B₀A₀ as the run that wrote it, bit for bit, without a gradient
     * estimate. Every target needs its A₀ (r × in) and B₀ (out × r) and the file nothing else; errors name the file.
     */
    public static PeftModel wrapFromInit(Module model, PeftConfig cfg, Path file) throws IOException {
        PeftModel pm = PeftModel.wrap(model, cfg);
        try (SafetensorsFile f = Safetensors.read(file)) {
            Set<String> expected = new TreeSet<>();
            Map<LoraLinear, Tensor[]> init = new LinkedHashMap<>();
            for (String path : pm.targets("default")) {
                if (!(pm.adaptedLayers().get(path) instanceof LoraLinear l))
                    throw new IllegalArgumentException("LoRA-GA: target '" + path + "' is no LoRA Linear layer");
                Tensor[] t = new Tensor[2];
                int[][] shapes = {{l.rank("default"), l.inFeatures()}, {l.outFeatures(), l.rank("default")}};
                for (int i = 0; i < 2; i++) {
                    String key = path + (i == 0 ? ".A0" : ".B0");
                    expected.add(key);
                    if (!f.contains(key)) throw new IllegalArgumentException(file + ": LoRA-GA init of '" + path + "' is missing (no tensor '" + key + "')");
                    t[i] = f.tensor(key);
                    if (!Arrays.equals(t[i].shape(), shapes[i]))
                        throw new IllegalArgumentException(file + ": tensor '" + key + "' has shape " + Arrays.toString(t[i].shape()) + ", the layer needs "
                                + Arrays.toString(shapes[i]));
                }
                init.put(l, t);
            }
            for (String k : f.names())
                if (!expected.contains(k)) throw new IllegalArgumentException(file + ": tensor '" + k + "' is not the init of a target of this adapter");
            init.forEach((l, t) -> apply(l, "default", t[0].contiguous(), t[1].contiguous()));
        }
        return pm;
    }

    /** {A's indices into the 2r triplets, B's}, each of length r, for the direction. */
    static int[][] indices(Direction dir, int r, long seed) {
        int[] ia = new int[r], ib = new int[r];
        switch (dir) {
            case ARB2R -> { for (int j = 0; j < r; j++) { ia[j] = j; ib[j] = r + j; } }
            case A2RBR -> { for (int j = 0; j < r; j++) { ia[j] = r + j; ib[j] = j; } }
            case ARBR -> { for (int j = 0; j < r; j++) { ia[j] = 2 * j + 1; ib[j] = 2 * j; } }
            case RANDOM -> {
                int[] perm = new int[2 * r];
                for (int i = 0; i < perm.length; i++) perm[i] = i;
                Rng rng = new Rng(seed);
                for (int i = perm.length - 1; i > 0; i--) {
                    int j = rng.nextInt(i + 1), t = perm[i];
                    perm[i] = perm[j];
                    perm[j] = t;
                }
                for (int j = 0; j < r; j++) ia[j] = ib[j] = perm[j];
            }
        }
        return new int[][] {ia, ib};
    }
}
