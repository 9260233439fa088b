package dev.vectorgrad.transformer.layers;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A PyTorch-style module: named parameters and named child modules, with dotted names
 * ({@code transformer.h.0.attn.c_attn.weight}) in registration order, and a training flag.
 *
 * <p>Interim: autograd's {@code nn} package (branch {@code autograd}) is to provide the shared one; this keeps
 * the GPT's structure and names identical so that the switch is an import change.
 */
public abstract class Module {
    private final LinkedHashMap<String, Variable> params = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a trainable parameter (requires grad) over {@code t}. */
    protected final Variable param(String name, Tensor t) {
        Variable v = Variable.param(t).name(name);
        if (params.putIfAbsent(name, v) != null) throw new IllegalArgumentException("parameter '" + name + "' registered twice");
        return v;
    }

    /** Registers a child module. */
    protected final <M extends Module> M child(String name, M m) {
        if (children.putIfAbsent(name, m) != null) throw new IllegalArgumentException("module '" + name + "' registered twice");
        return m;
    }

    /** Direct parameters, by local name. */
    public final Map<String, Variable> parameters() {
        return Collections.unmodifiableMap(params);
    }

    /** Direct children, by local name. */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** Every parameter of this module and its descendants under its dotted name, depth first in registration order. */
    public final Map<String, Variable> namedParameters() {
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        collect("", out);
        return out;
    }

    private void collect(String prefix, Map<String, Variable> out) {
        params.forEach((k, v) -> out.put(prefix + k, v));
        children.forEach((k, m) -> m.collect(prefix + k + ".", out));
    }

    /** Every module (this one under "") by dotted path. */
    public final Map<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        modules("", out);
        return out;
    }

    private void modules(String path, Map<String, Module> out) {
        out.put(path, this);
        children.forEach((k, m) -> m.modules(path.isEmpty() ? k : path + "." + k, out));
    }

    /** Sets training mode here and below (dropout on). */
    public Module train(boolean on) {
        training = on;
        for (Module m : children.values()) m.train(on);
        return this;
    }

    public final boolean isTraining() {
        return training;
    }

    /** Clears every parameter's gradient. */
    public final void zeroGrad() {
        for (Variable v : namedParameters().values()) v.zeroGrad();
    }
}
