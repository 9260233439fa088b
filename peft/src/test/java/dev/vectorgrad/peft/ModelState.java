package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Linear;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything observable about a model, to assert that a failed operation changed nothing: the module tree
 * (path → the very instance), each Linear's forward redirect, each parameter (the same Variable, its
 * requires-grad flag and its raw float bits).
 */
final class ModelState {
    private final LinkedHashMap<String, Module> modules;
    private final LinkedHashMap<String, Module> delegates = new LinkedHashMap<>();
    private final LinkedHashMap<String, Variable> params;
    private final LinkedHashMap<String, Boolean> grads = new LinkedHashMap<>();
    private final LinkedHashMap<String, int[]> bits = new LinkedHashMap<>();

    private ModelState(Module m) {
        modules = new LinkedHashMap<>(m.namedModules());
        for (Map.Entry<String, Module> e : modules.entrySet())
            if (e.getValue() instanceof Linear l) delegates.put(e.getKey(), l.forwardDelegate());
        params = new LinkedHashMap<>(m.namedParameters());
        for (Map.Entry<String, Variable> e : params.entrySet()) {
            grads.put(e.getKey(), e.getValue().requiresGrad());
            bits.put(e.getKey(), bits(e.getValue().data()));
        }
    }

    static ModelState of(Module m) {
        return new ModelState(m);
    }

    static int[] bits(Tensor t) {
        float[] v = t.contiguous().toArray();
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }

    /** Raw-bit equality of two tensors (NaN payloads and signed zeros included). */
    static boolean sameBits(Tensor a, Tensor b) {
        return java.util.Arrays.equals(a.shape(), b.shape()) && java.util.Arrays.equals(bits(a), bits(b));
    }

    /** Asserts that {@code m} is as it was when this snapshot was taken. */
    void assertUnchanged(Module m) {
        ModelState now = new ModelState(m);
        assertThat(now.modules.keySet()).as("module paths").containsExactlyElementsOf(modules.keySet());
        List<String> swapped = new ArrayList<>();
        for (String k : modules.keySet()) if (now.modules.get(k) != modules.get(k)) swapped.add(k);
        assertThat(swapped).as("modules replaced").isEmpty();
        for (String k : delegates.keySet()) assertThat(now.delegates.get(k)).as("forward delegate of " + k).isSameAs(delegates.get(k));
        assertThat(now.params.keySet()).as("parameter names").containsExactlyElementsOf(params.keySet());
        for (String k : params.keySet()) {
            assertThat(now.params.get(k)).as("parameter " + k).isSameAs(params.get(k));
            assertThat(now.grads.get(k)).as("requires grad of " + k).isEqualTo(grads.get(k));
            assertThat(now.bits.get(k)).as("bits of " + k).isEqualTo(bits.get(k));
        }
    }
}
