package dev.vectorgrad.transformer.layers;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Children named "0", "1", … (PyTorch's {@code nn.ModuleList}). */
public final class ModuleList<M extends Module> extends Module {
    private final List<M> items = new ArrayList<>();

    public ModuleList<M> add(M m) {
        child(Integer.toString(items.size()), m);
        items.add(m);
        return this;
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    public List<M> items() {
        return Collections.unmodifiableList(items);
    }
}
