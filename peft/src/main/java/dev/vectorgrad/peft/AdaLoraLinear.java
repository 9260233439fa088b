package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Grad;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdaLoRA (Zhang et al., ICLR 2023) on a Linear / GPT-2 Conv1D, as HF PEFT's {@code SVDLinear}: per adapter
 * A (r × in) "right singular vectors", E (r × 1) "singular values" and B (out × r) "left singular vectors", with
 * {@code y = W₀x + b + dropout(x)·(A ⊙ E)ᵀ·Bᵀ · α / (init_r + 1e-5)}. The scale uses init_r for good: pruning a
 * triplet zeroes its E_i ({@link RankAllocator}) and never changes the scale, and a loaded adapter with fewer
 * rows keeps the init_r of its config. Init as PEFT's: E = 0, A and B ~ N(0, 0.02) (so ΔW = 0 at the start).
 *
 * <p>Parameters are ParameterDict entries, so names and file keys carry no {@code .weight}: {@code lora_A.<ad>},
 * {@code lora_E.<ad>}, {@code lora_B.<ad>}; saved as {@code .lora_A} (r_k, in), {@code .lora_E} (r_k, 1),
 * {@code .lora_B} (out, r_k), sliced by the layer's kept-triplet pattern ({@link #pattern}) when it has one.
 */
public final class AdaLoraLinear extends AdapterLinear {
    private NamedDict loraA, loraE, loraB;
    private final Map<String, Float> scaling = new HashMap<>();
    private final Map<String, Integer> initR = new HashMap<>();
    private final Map<String, Float> dropout = new HashMap<>();
    /** Kept triplets (length init_r) once ranks were allocated or a pattern was loaded; absent: all kept. */
    private final Map<String, boolean[]> pattern = new HashMap<>();
    private final Rng dropoutRng;

    public AdaLoraLinear(Module base, long dropoutSeed) {
        super(base);
        base.requiresGrad(false);
        loraA = registerModule("lora_A", new NamedDict());
        loraE = registerModule("lora_E", new NamedDict());
        loraB = registerModule("lora_B", new NamedDict());
        dropoutRng = new Rng(dropoutSeed);
    }

    /**
     * Adds adapter {@code name} with {@code rows} triplets (init_r when training; the file's r_k, possibly 0, when
     * loading) and the scale α / (initR + 1e-5); E zeros, A then B drawn N(0, 0.02) from {@code rng}.
     */
    public AdaLoraLinear addAdapter(String name, int rows, int initRank, double alpha, double dropoutP, Rng rng) {
        if (hasAdapter(name)) throw new IllegalArgumentException("AdaLoRA: adapter '" + name + "' already exists on this layer");
        if (rows < 0 || rows > initRank) throw new IllegalArgumentException("AdaLoRA: " + rows + " triplets on a layer with init_r " + initRank);
        Tensor a = Tensor.zeros(rows, in), b = Tensor.zeros(out, rows);
        Init.normal(a, rng, 0, 0.02);
        Init.normal(b, rng, 0, 0.02);
        loraA.putParameter(name, Variable.param(a));
        loraE.putParameter(name, Variable.param(Tensor.zeros(rows, 1)));
        loraB.putParameter(name, Variable.param(b));
        // PEFT: scaling = lora_alpha (or r when α ≤ 0), divided by ranknum + 1e-5 with ranknum = init_r in forward
        double alphaOrR = alpha > 0 ? alpha : initRank;
        scaling.put(name, (float) (alphaOrR / (initRank + 1e-5)));
        initR.put(name, initRank);
        dropout.put(name, (float) dropoutP);
        added(name);
        return this;
    }

    public Variable a(String name) { return req(loraA.parameter(name), name); }

    public Variable e(String name) { return req(loraE.parameter(name), name); }

    public Variable b(String name) { return req(loraB.parameter(name), name); }

    /** α / (init_r + 1e-5). */
    public float scaling(String name) { return req(scaling.get(name), name); }

    /** The layer's init_r for the adapter. */
    public int initRank(String name) { return req(initR.get(name), name); }

    /** The kept-triplet pattern (length init_r), or null when every triplet is kept and none was ever pruned. */
    public boolean[] pattern(String name) {
        req(initR.get(name), name);
        boolean[] p = pattern.get(name);
        return p == null ? null : p.clone();
    }

    /** Records the kept triplets (length init_r); {@link RankAllocator} after a mask, the loader from the config. */
    void setPattern(String name, boolean[] keep) {
        if (keep.length != initRank(name)) throw new IllegalArgumentException("AdaLoRA: pattern of " + keep.length + " for init_r " + initRank(name));
        pattern.put(name, keep.clone());
    }

    private static <T> T req(T t, String name) {
        if (t == null) throw new IllegalArgumentException("AdaLoRA: no adapter '" + name + "' on this layer");
        return t;
    }

    @Override
    Variable delta(String name, Variable x) {
        if (a(name).shape()[0] == 0) return F.linear(x, Variable.of(Tensor.zeros(out, in)), null); // an empty adapter (all pruned)
        float p = dropout.get(name);
        Variable xd = p > 0 ? F.dropout(x, p, isTraining(), dropoutRng) : x;
        // Δy = x_d · (A ⊙ E)ᵀ · Bᵀ · scale   [.., in] → [.., r] → [.., out]
        return F.linear(F.linear(xd, a(name).mul(e(name)), null), b(name), null).mul(scaling(name));
    }

    /** ΔW = B · diag(E) · A · scale [out, in]. */
    @Override
    public Tensor deltaWeight(String name) {
        try (var g = Grad.disabled()) {
            if (a(name).shape()[0] == 0) return Tensor.zeros(out, in);
            return b(name).data().matmul(a(name).data().mul(e(name).data())).mul(scaling(name));
        }
    }

    @Override
    public List<Variable> adapterParameters(String name) {
        return List.of(a(name), e(name), b(name));
    }

    /** The shapes a file holds for r kept triplets on an in → out layer, by key suffix (as {@link #fileTensors}). */
    static LinkedHashMap<String, int[]> fileShapes(int r, int in, int out) {
        LinkedHashMap<String, int[]> m = new LinkedHashMap<>();
        m.put(".lora_A", new int[] {r, in});
        m.put(".lora_B", new int[] {out, r});
        m.put(".lora_E", new int[] {r, 1});
        return m;
    }

    /** PEFT's keys, no {@code .weight}: {@code .lora_A}, {@code .lora_B}, {@code .lora_E}. */
    @Override
    LinkedHashMap<String, Variable> fileTensors(String name) {
        LinkedHashMap<String, Variable> m = new LinkedHashMap<>();
        m.put(".lora_A", a(name));
        m.put(".lora_B", b(name));
        m.put(".lora_E", e(name));
        return m;
    }

    /** As PEFT saves them: the kept rows of A and E and columns of B, unless the tensors already have that size. */
    @Override
    LinkedHashMap<String, Tensor> savedTensors(String name) {
        LinkedHashMap<String, Tensor> m = super.savedTensors(name);
        boolean[] keep = pattern.get(name);
        if (keep == null) return m;
        int kept = 0;
        for (boolean k : keep) if (k) kept++;
        if (kept == a(name).shape()[0]) return m;
        float[] av = a(name).data().contiguous().toArray(), ev = e(name).data().contiguous().toArray(), bv = b(name).data().contiguous().toArray();
        int r = keep.length;
        float[] ak = new float[kept * in], ek = new float[kept], bk = new float[out * kept];
        for (int i = 0, j = 0; i < r; i++) {
            if (!keep[i]) continue;
            System.arraycopy(av, i * in, ak, j * in, in);
            ek[j] = ev[i];
            for (int o = 0; o < out; o++) bk[o * kept + j] = bv[o * r + i];
            j++;
        }
        m.put(".lora_A", Tensor.wrap(ak, kept, in));
        m.put(".lora_B", Tensor.wrap(bk, out, kept));
        m.put(".lora_E", Tensor.wrap(ek, kept, 1));
        return m;
    }

    @Override
    void removeParameters(String name) {
        loraA = withoutEntry("lora_A", loraA, name);
        loraE = withoutEntry("lora_E", loraE, name);
        loraB = withoutEntry("lora_B", loraB, name);
        scaling.remove(name);
        initR.remove(name);
        dropout.remove(name);
        pattern.remove(name);
    }
}
