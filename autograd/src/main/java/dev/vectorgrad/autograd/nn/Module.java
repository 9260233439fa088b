package dev.vectorgrad.autograd.nn;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Base of every layer, as {@code torch.nn.Module}: parameters and child modules registered by name, in
 * registration order; {@link #namedParameters()} walks them depth-first with dotted paths exactly as PyTorch
 * names them ({@code h.0.attn.c_attn.weight}); train/eval mode; freezing; state dicts.
 */
public abstract class Module {
    private final LinkedHashMap<String, Variable> params = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    private static Rng defaultRng = new Rng(0);

    /** The generator layers use for their initialisation when none is given (seed it with {@link #manualSeed}). */
    public static synchronized Rng defaultRng() {
        return defaultRng;
    }

    /** Reseeds the default initialisation generator, as {@code torch.manual_seed}. */
    public static synchronized void manualSeed(long seed) {
        defaultRng = new Rng(seed);
    }

    /**
     * The forward pass of a single-input module. Deliberately not abstract, as in PyTorch (whose base
     * {@code Module.forward} raises NotImplementedError): containers (ModuleList, Gpt's parts) and modules with
     * other inputs (Embedding takes token ids) define their own entry points and inherit this, which says so.
     */
    public Variable forward(Variable x) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not take a single input");
    }

    // ------------------------------------------------------------------ registration

    /** Registers a parameter (a leaf that requires grad, or null for an absent optional one); returns it. */
    protected final Variable registerParameter(String name, Variable p) {
        checkName(name);
        if (p != null && !p.isLeaf()) throw new IllegalArgumentException("registerParameter: '" + name + "' is not a leaf");
        params.put(name, p);
        return p;
    }

    /** Registers a parameter over {@code data} that requires grad; returns it. */
    protected final Variable registerParameter(String name, Tensor data) {
        return registerParameter(name, Variable.param(data));
    }

    /** Registers a child module; returns it. */
    protected final <M extends Module> M registerModule(String name, M m) {
        checkName(name);
        children.put(name, m);
        return m;
    }

    /**
     * Replaces the existing child {@code name} with {@code m} (as PyTorch's {@code setattr} on a submodule), so
     * that traversal and state dicts see the new module; returns the old one. Code that holds the old child in
     * a field keeps calling it: see {@link Linear#setForwardDelegate} for how wrappers reach such call sites.
     */
    public final Module replaceChild(String name, Module m) {
        if (!children.containsKey(name))
            throw new IllegalArgumentException(getClass().getSimpleName() + " has no child module '" + name + "'");
        return children.put(name, m);
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains("."))
            throw new IllegalArgumentException("module attribute names must be non-empty and contain no '.', got '" + name + "'");
        if (params.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException("attribute '" + name + "' is already registered in " + getClass().getSimpleName());
    }

    // ------------------------------------------------------------------ traversal

    /** This module's own parameters (not the children's), by name, in registration order. */
    public final Map<String, Variable> ownParameters() {
        return Collections.unmodifiableMap(params);
    }

    /** The direct children by name, in registration order. */
    public final Map<String, Module> namedChildren() {
        return Collections.unmodifiableMap(children);
    }

    /** Every parameter by dotted path, depth-first in registration order; a shared parameter appears once. */
    public final LinkedHashMap<String, Variable> namedParameters() {
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        collect("", out, new IdentityHashMap<>(), new IdentityHashMap<>());
        return out;
    }

    private void collect(String prefix, Map<String, Variable> out, IdentityHashMap<Variable, Boolean> seen, IdentityHashMap<Module, Boolean> seenModules) {
        if (seenModules.put(this, Boolean.TRUE) != null) return;
        for (var e : params.entrySet()) {
            Variable p = e.getValue();
            if (p == null || seen.put(p, Boolean.TRUE) != null) continue;
            out.put(prefix + e.getKey(), p);
        }
        for (var e : children.entrySet()) {
            if (e.getValue() != null) e.getValue().collect(prefix + e.getKey() + ".", out, seen, seenModules);
        }
    }

    /** Every parameter, in {@link #namedParameters()} order. */
    public final List<Variable> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Every module (this one first, named "") by dotted path, depth-first. */
    public final LinkedHashMap<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        ArrayList<Object[]> stack = new ArrayList<>();
        stack.add(new Object[] {"", this});
        IdentityHashMap<Module, Boolean> seen = new IdentityHashMap<>();
        while (!stack.isEmpty()) {
            Object[] top = stack.remove(stack.size() - 1);
            Module m = (Module) top[1];
            if (seen.put(m, Boolean.TRUE) != null) continue;
            String name = (String) top[0];
            out.put(name, m);
            List<Map.Entry<String, Module>> kids = new ArrayList<>(m.children.entrySet());
            for (int i = kids.size() - 1; i >= 0; i--) {
                var e = kids.get(i);
                if (e.getValue() != null) stack.add(new Object[] {name.isEmpty() ? e.getKey() : name + "." + e.getKey(), e.getValue()});
            }
        }
        return out;
    }

    /** Number of parameter elements (optionally only trainable ones). */
    public final long numParameters(boolean trainableOnly) {
        long n = 0;
        for (Variable p : parameters()) if (!trainableOnly || p.requiresGrad()) n += p.numel();
        return n;
    }

    // ------------------------------------------------------------------ modes

    /** Sets training mode on this module and every descendant; returns this. */
    public Module train(boolean on) {
        for (Module m : namedModules().values()) m.training = on;
        return this;
    }

    public Module train() {
        return train(true);
    }

    public Module eval() {
        return train(false);
    }

    public final boolean isTraining() {
        return training;
    }

    /** Freezes (false) or unfreezes (true) every parameter; returns this. */
    public Module requiresGrad(boolean on) {
        for (Variable p : parameters()) p.requiresGrad(on);
        return this;
    }

    /** Clears every parameter's gradient. */
    public void zeroGrad() {
        for (Variable p : parameters()) p.zeroGrad();
    }

    // ------------------------------------------------------------------ state dicts

    /** Name → parameter tensor (shared with the module, not copied), in {@link #namedParameters()} order. */
    public LinkedHashMap<String, Tensor> stateDict() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : namedParameters().entrySet()) out.put(e.getKey(), e.getValue().data());
        return out;
    }

    /** What {@link #loadStateDict} did not match. */
    public record LoadResult(List<String> missingKeys, List<String> unexpectedKeys) {}

    /**
     * Copies the tensors of {@code state} into the parameters of the same name. A shape mismatch is always an
     * error; with {@code strict}, so are missing and unexpected keys (the message lists them all, as PyTorch's).
     */
    public LoadResult loadStateDict(Map<String, Tensor> state, boolean strict) {
        LinkedHashMap<String, Variable> mine = namedParameters();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), mismatched = new ArrayList<>();
        for (String k : mine.keySet()) if (!state.containsKey(k)) missing.add(k);
        for (String k : state.keySet()) if (!mine.containsKey(k)) unexpected.add(k);
        for (var e : state.entrySet()) {
            Variable p = mine.get(e.getKey());
            if (p != null && !Arrays.equals(p.shape(), e.getValue().shape()))
                mismatched.add("size mismatch for " + e.getKey() + ": copying a param with shape " + Arrays.toString(e.getValue().shape())
                        + ", the shape in current model is " + Arrays.toString(p.shape()));
        }
        List<String> errors = new ArrayList<>();
        if (strict && !missing.isEmpty()) errors.add("Missing key(s) in state_dict: " + quoted(missing));
        if (strict && !unexpected.isEmpty()) errors.add("Unexpected key(s) in state_dict: " + quoted(unexpected));
        errors.addAll(mismatched);
        if (!errors.isEmpty())
            throw new IllegalArgumentException("Error(s) in loading state_dict for " + getClass().getSimpleName() + ":\n\t" + String.join("\n\t", errors));
        for (var e : state.entrySet()) {
            Variable p = mine.get(e.getKey());
            if (p != null) p.data().copyFrom(e.getValue());
        }
        return new LoadResult(missing, unexpected);
    }

    private static String quoted(List<String> keys) {
        StringBuilder sb = new StringBuilder();
        for (String k : keys) sb.append(sb.length() == 0 ? "" : ", ").append('"').append(k).append('"');
        return sb.append('.').toString();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append('(').append(extraRepr());
        if (!children.isEmpty()) {
            sb.append('\n');
            for (var e : children.entrySet())
                sb.append("  (").append(e.getKey()).append("): ").append(String.valueOf(e.getValue()).replace("\n", "\n  ")).append('\n');
        }
        return sb.append(')').toString();
    }

    /** Extra text inside this module's {@link #toString()} (sizes, options). */
    protected String extraRepr() {
        return "";
    }
}
