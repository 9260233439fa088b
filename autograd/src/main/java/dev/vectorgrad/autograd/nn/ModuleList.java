package dev.vectorgrad.autograd.nn;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** An indexed list of child modules, named "0", "1", ... as {@code torch.nn.ModuleList}. */
public class ModuleList<M extends Module> extends Module implements Iterable<M> {
    private final List<M> items = new ArrayList<>();

    public ModuleList() {}

    @SafeVarargs
    public ModuleList(M... modules) {
        for (M m : modules) add(m);
    }

    /** Appends a module; returns this. */
    public ModuleList<M> add(M m) {
        registerModule(Integer.toString(items.size()), m);
        items.add(m);
        return this;
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    @Override
    public Iterator<M> iterator() {
        return java.util.Collections.unmodifiableList(items).iterator();
    }
}
