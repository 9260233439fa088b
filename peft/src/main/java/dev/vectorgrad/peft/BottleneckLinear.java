package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.F;
import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bottleneck adapters (Houlsby et al. 2019, "Parameter-Efficient Transfer Learning for NLP"; AdapterHub's
 * {@code adapters} library, {@code methods/modeling.py} class {@code Adapter}) on the output of a Linear:
 * {@code y = W₀x + b}, then for each active adapter in turn {@code y ← y + up(f(down(y)))}, with down a Linear
 * d → ⌊d / reduction_factor⌋ (at least 1), f the config's non-linearity (ReLU or swish = x·σ(x)), up a Linear back
 * to d, and the residual around the adapter. Named as AdapterHub names them:
 * {@code adapter_down.<adapter>.weight/bias}, {@code adapter_up.<adapter>.weight/bias}.
 *
 * <p><b>Placement.</b> Wrapping a block's output projection ({@code attn.c_proj}, {@code mlp.c_proj}) puts the
 * adapter after the sublayer's output projection and before the block's residual add, which is Houlsby's figure 2
 * and AdapterHub's {@code DoubleSeqBnConfig} ({@code original_ln_before=False, residual_before_ln=True}: the adapter
 * reads the sublayer output, its own residual is that output, and the block's residual add and layer norm come
 * after it — {@code original_ln_after=True}; on GPT-2, AdapterHub's {@code modeling_gpt2.py} passes no layer norm,
 * so only the residual add follows). Two differences from AdapterHub on a GPT: the adapter runs before
 * {@code resid_dropout} where AdapterHub's runs after it (the same with dropout 0 or in eval), and Pfeiffer
 * ({@code SeqBnConfig}) sets {@code original_ln_before=True}, so there the adapter reads the sublayer output
 * <em>plus the block's residual</em> (with the post-LN models' layer norm) while its own residual is still the
 * sublayer output. Here Pfeiffer's one adapter per block, after the FFN, reads the FFN output as Houlsby's does;
 * reproducing {@code original_ln_before} would need the block's residual inside the adapter, i.e. an edit of
 * {@code Block}. The block's layer norms stay frozen, as AdapterHub's {@code train_adapter} freezes them. On the
 * BERT encoder (module {@code encoder}), {@code Bert.houlsby()} / {@code Bert.pfeiffer()} wrap
 * {@code attention.output.dense} and {@code output.dense}, before the residual add and the post-LayerNorm; their
 * Javadoc gives AdapterHub's BERT placement and where Pfeiffer's differs there.
 *
 * <p><b>Init.</b> down: PyTorch's Linear init (kaiming_uniform, a = √5), bias zero; up: weight and bias zero, so a
 * freshly added adapter is the identity and the wrapped model computes exactly the base model. That is
 * AdapterHub's {@code init_weights="mam_adapter"}; its default {@code "bert"} draws both projections from
 * N(0, 0.02) (biases zero), so its adapters start near, not at, the identity, and {@code "houlsby"} uses a
 * truncated N(0, 0.01) for both.
 *
 * <p>An adapter is not linear in x, so it cannot be merged into W₀ ({@link #mergeInto} refuses), which is why
 * adapters cost inference latency that merged LoRA does not.
 */
public final class BottleneckLinear extends AdapterLinear {
    private NamedDict down, up;
    private final Map<String, PeftConfig.NonLinearity> nonLinearity = new HashMap<>();
    private final Map<String, Float> dropout = new HashMap<>();
    private final Rng dropoutRng;

    public BottleneckLinear(Module base, long dropoutSeed) {
        super(base);
        base.requiresGrad(false);
        this.down = registerModule("adapter_down", new NamedDict());
        this.up = registerModule("adapter_up", new NamedDict());
        this.dropoutRng = new Rng(dropoutSeed);
    }

    public BottleneckLinear(Module base) {
        this(base, 0);
    }

    /**
     * Adds adapter {@code name} with a bottleneck of {@code size}: down drawn from {@code rng} (kaiming_uniform),
     * its bias, up's weight and up's bias zero. {@code dropoutP} drops the adapter's output (AdapterHub's
     * {@code dropout}) in training.
     */
    public BottleneckLinear addAdapter(String name, int size, PeftConfig.NonLinearity f, double dropoutP, Rng rng) {
        if (hasAdapter(name)) throw new IllegalArgumentException("bottleneck: adapter '" + name + "' already exists on this layer");
        if (size <= 0) throw new IllegalArgumentException("bottleneck: size must be positive, got " + size);
        if (!(dropoutP >= 0 && dropoutP < 1)) throw new IllegalArgumentException("bottleneck: dropout must be in [0, 1), got " + dropoutP);
        Linear d = new Linear(out, size, true, rng);
        d.bias.data().fill(0f);
        Linear u = new Linear(size, out, true, rng);
        u.weight.data().fill(0f);
        u.bias.data().fill(0f);
        down.putModule(name, d);
        up.putModule(name, u);
        nonLinearity.put(name, java.util.Objects.requireNonNull(f, "non-linearity"));
        dropout.put(name, (float) dropoutP);
        added(name);
        return this;
    }

    public Linear down(String name) {
        return require((Linear) down.module(name), name);
    }

    public Linear up(String name) {
        return require((Linear) up.module(name), name);
    }

    public PeftConfig.NonLinearity nonLinearity(String name) {
        return require(nonLinearity.get(name), name);
    }

    private static <T> T require(T t, String name) {
        if (t == null) throw new IllegalArgumentException("bottleneck: no adapter '" + name + "' on this layer");
        return t;
    }

    /** The adapter with its residual: {@code y + up(f(down(y)))}, dropout (in training) on the up-projection's output. */
    static Variable apply(Variable y, Variable downW, Variable downB, PeftConfig.NonLinearity f, Variable upW, Variable upB, float p, boolean training, Rng rng) {
        Variable h = F.linear(y, downW, downB);
        h = f == PeftConfig.NonLinearity.RELU ? h.relu() : h.mul(h.sigmoid());
        Variable u = F.linear(h, upW, upB);
        if (p > 0) u = F.dropout(u, p, training, rng);
        return y.add(u);
    }

    @Override
    public Variable forward(Variable x) {
        if (passThrough()) return F.linear(x, linear().weight, linear().bias);
        Variable y = base instanceof AdapterLinear a ? a.forward(x) : F.linear(x, linear().weight, linear().bias);
        if (isDisabled()) return y;
        for (String n : active()) {
            Linear d = down(n), u = up(n);
            y = apply(y, d.weight, d.bias, nonLinearity(n), u.weight, u.bias, dropout.get(n), isTraining(), dropoutRng);
        }
        return y;
    }

    @Override
    Variable delta(String name, Variable x) {
        throw new UnsupportedOperationException("a bottleneck adapter reads the layer's output, not its input");
    }

    /** Nothing here is ever merged: a model merge leaves these adapters as they are (and refuses when one is active). */
    @Override
    List<String> pendingMerges() {
        return List.of();
    }

    @Override
    Tensor mergeInto(String name, Tensor w) {
        throw notMergeable(name);
    }

    @Override
    public Tensor deltaWeight(String name) {
        throw notMergeable(name);
    }

    static IllegalStateException notMergeable(String name) {
        return new IllegalStateException("bottleneck adapter '" + name + "' has a non-linearity between its projections: it is no weight update and cannot be merged");
    }

    @Override
    void removeParameters(String name) {
        down = withoutEntry("adapter_down", down, name);
        up = withoutEntry("adapter_up", up, name);
        nonLinearity.remove(name);
        dropout.remove(name);
    }

    @Override
    public List<Variable> adapterParameters(String name) {
        return List.of(down(name).weight, down(name).bias, up(name).weight, up(name).bias);
    }

    /** The shapes a file holds for an adapter of bottleneck {@code size} on a layer with {@code out} outputs, by key suffix. */
    static LinkedHashMap<String, int[]> fileShapes(int size, int in, int out) {
        LinkedHashMap<String, int[]> m = new LinkedHashMap<>();
        m.put(".adapter_down.weight", new int[] {size, out});
        m.put(".adapter_down.bias", new int[] {size});
        m.put(".adapter_up.weight", new int[] {out, size});
        m.put(".adapter_up.bias", new int[] {out});
        return m;
    }

    /** vectorgrad's keys (AdapterHub's parameter names without the adapter name; not an AdapterHub file). */
    @Override
    LinkedHashMap<String, Variable> fileTensors(String name) {
        LinkedHashMap<String, Variable> m = new LinkedHashMap<>();
        m.put(".adapter_down.weight", down(name).weight);
        m.put(".adapter_down.bias", down(name).bias);
        m.put(".adapter_up.weight", up(name).weight);
        m.put(".adapter_up.bias", up(name).bias);
        return m;
    }
}
