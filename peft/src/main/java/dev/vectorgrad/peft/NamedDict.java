package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Module;
import java.util.Map;

/**
 * PyTorch's {@code ModuleDict} / {@code ParameterDict} in one: entries keyed by adapter name, so parameters get
 * PEFT's dotted names ({@code lora_A.default.weight}, {@code vera_lambda_b.default}). Entries are only added;
 * deleting one builds a copy without it ({@link #without}) that replaces this dict in its owner.
 */
final class NamedDict extends Module {
    NamedDict putModule(String name, Module m) {
        registerModule(name, m);
        return this;
    }

    NamedDict putParameter(String name, Variable p) {
        registerParameter(name, p);
        return this;
    }

    Module module(String name) {
        return namedChildren().get(name);
    }

    Variable parameter(String name) {
        return ownParameters().get(name);
    }

    /** A new dict with every entry but {@code name}. */
    NamedDict without(String name) {
        NamedDict d = new NamedDict();
        for (Map.Entry<String, Module> e : namedChildren().entrySet()) if (!e.getKey().equals(name)) d.putModule(e.getKey(), e.getValue());
        for (Map.Entry<String, Variable> e : ownParameters().entrySet()) if (!e.getKey().equals(name)) d.putParameter(e.getKey(), e.getValue());
        return d;
    }
}
