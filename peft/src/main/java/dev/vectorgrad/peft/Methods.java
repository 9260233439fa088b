package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.LayerNorm;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.autograd.optim.ParamGroup;
import dev.vectorgrad.tensor.Safetensors;
import dev.vectorgrad.tensor.SafetensorsFile;
import dev.vectorgrad.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The baselines and optimiser recipes around the adapters: LoRA+, LoRA-FA, BitFit, full fine-tuning. */
public final class Methods {
    /** LoRA+'s default ratio of B's learning rate to A's. */
    public static final double LORA_PLUS_RATIO = 16;

    private Methods() {}

    /**
     * LoRA+ parameter groups, as PEFT's {@code create_loraplus_optimizer} builds them (its code in 0.20.0, which
     * differs from its docstring), over the trainable parameters, in this order (empty groups left out):
     * <ol>
     * <li>at {@code lr}, weight decay {@code weightDecay}: everything not below — the {@code lora_A} matrices and
     * <em>both</em> {@code lora_embedding_A} and {@code lora_embedding_B}. PEFT's separate embedding group (meant
     * for these, at {@code loraplus_lr_embedding} = 1e-6) stays empty in 0.20.0: it looks the owning module up by
     * the parameter's own name, which never is an Embedding (fixed on PEFT's main branch after 0.20.0, #3503);
     * {@code lora_embedding_B} does not contain {@code "lora_B"}, so it lands here too;</li>
     * <li>at {@code lr·ratio}, weight decay {@code weightDecay}: every {@code lora_B} matrix and every other 1-D
     * parameter (VeRA's λ_b and λ_d, ...);</li>
     * <li>at {@code lr·ratio}, weight decay 0 (PEFT's {@code groupB_no_decay}): those of group 2 whose name
     * contains {@code "bias"} or that belong to a LayerNorm (not in transformers' {@code decay_parameters}).</li>
     * </ol>
     * {@code weightDecay} is PEFT's {@code loraplus_weight_decay} (default 0): PEFT sets every group's decay
     * itself, so the optimiser's own {@code weight_decay} argument never applies.
     */
    public static List<ParamGroup> loraPlusGroups(Module model, double lr, double ratio, double weightDecay) {
        List<String> layerNorms = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet())
            if (e.getValue() instanceof LayerNorm) layerNorms.add(e.getKey().isEmpty() ? "" : e.getKey() + ".");
        List<Variable> a = new ArrayList<>(), b = new ArrayList<>(), bNoDecay = new ArrayList<>();
        for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) {
            Variable p = e.getValue();
            if (!p.requiresGrad()) continue;
            String k = e.getKey();
            if (k.contains("lora_B") || p.shape().length == 1) {
                boolean decays = !k.contains("bias") && layerNorms.stream().noneMatch(k::startsWith);
                (decays ? b : bNoDecay).add(p);
            } else {
                a.add(p);
            }
        }
        List<ParamGroup> groups = new ArrayList<>();
        if (!a.isEmpty()) groups.add(ParamGroup.of(a).lr(lr).weightDecay(weightDecay));
        if (!b.isEmpty()) groups.add(ParamGroup.of(b).lr(lr * ratio).weightDecay(weightDecay));
        if (!bNoDecay.isEmpty()) groups.add(ParamGroup.of(bNoDecay).lr(lr * ratio).weightDecay(0));
        return groups;
    }

    /** AdamW (β = 0.9, 0.999, ε = 1e-8) over {@link #loraPlusGroups}, {@code weightDecay} being PEFT's {@code loraplus_weight_decay}. */
    public static AdamW loraPlusAdamW(Module model, double lr, double ratio, double weightDecay) {
        return new AdamW(loraPlusGroups(model, lr, ratio, weightDecay), lr, 0.9, 0.999, 1e-8, weightDecay);
    }

    /**
     * LoRA-FA's optimiser for the active adapter of {@code pm}, as PEFT's {@code create_lorafa_optimizer}: every
     * LoRA layer's A is frozen and B's gradient projected ({@link LoraFaOptimizer}). The default LoRA-FA.
     */
    public static Optimizer loraFaAdamW(PeftModel pm, double lr, double weightDecay) {
        return loraFaAdamW(pm, lr, weightDecay, true);
    }

    /**
     * LoRA-FA with PEFT's projected B gradient ({@code projected}) or in its plain form: A frozen, B trained by
     * AdamW (β = 0.9, 0.999, ε = 1e-8) on its raw gradient, as the paper's first description. Either way the A
     * matrices of the active adapter are frozen and left out of the optimiser. Refused for an adapter with no
     * LoRA Linear layer or with a LoRA on an embedding (whose A starts at zero and would never move).
     */
    public static Optimizer loraFaAdamW(PeftModel pm, double lr, double weightDecay, boolean projected) {
        String name = pm.activeAdapter();
        if (name == null) throw new IllegalArgumentException("LoRA-FA: the model has no active adapter");
        for (Map.Entry<String, LoraEmbedding> e : pm.adaptedEmbeddings().entrySet())
            if (e.getValue().hasAdapter(name))
                throw new IllegalArgumentException("LoRA-FA: adapter '" + name + "' has a LoRA on embedding '" + e.getKey()
                        + "', whose A starts at zero: frozen, it would keep that adapter at zero; leave the embedding out of LoRA-FA's targets");
        List<LoraFaOptimizer.Pair> pairs = new ArrayList<>();
        Set<Variable> frozen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (AdapterLinear l : pm.adapterLayers())
            if (l instanceof LoraLinear lora && lora.hasAdapter(name)) {
                lora.a(name).requiresGrad(false);
                frozen.add(lora.a(name));
                pairs.add(new LoraFaOptimizer.Pair(lora.a(name), lora.b(name), lora.scaling(name)));
            }
        if (pairs.isEmpty()) throw new IllegalArgumentException("LoRA-FA: adapter '" + name + "' has no LoRA Linear layer (" + pm.config(name).type() + ")");
        List<Variable> params = new ArrayList<>();
        for (Variable p : pm.model().parameters()) if (p.requiresGrad() && !frozen.contains(p)) params.add(p);
        return projected ? new LoraFaOptimizer(params, pairs, lr, weightDecay)
                : new AdamW(List.of(ParamGroup.of(params).lr(lr)), lr, 0.9, 0.999, 1e-8, weightDecay);
    }

    /**
     * LoRA-Pro's optimiser for the active adapter of {@code pm} ({@link LoraProOptimizer}): the LoRA gradients of
     * every Linear layer replaced by the closed-form optimal ones after an AdamW step of the equivalent full
     * gradient, then an SGD step with {@code lr} and decoupled weight decay {@code weightDecay}. Refused for an
     * adapter with no LoRA Linear layer, a LoRA on an embedding, or other trainable parameters (LoRA-Pro optimises
     * (A, B) pairs only, as the reference).
     */
    public static Optimizer loraProAdamW(PeftModel pm, double lr, double weightDecay) {
        String name = pm.activeAdapter();
        if (name == null) throw new IllegalArgumentException("LoRA-Pro: the model has no active adapter");
        for (Map.Entry<String, LoraEmbedding> e : pm.adaptedEmbeddings().entrySet())
            if (e.getValue().hasAdapter(name))
                throw new IllegalArgumentException("LoRA-Pro: adapter '" + name + "' has a LoRA on embedding '" + e.getKey()
                        + "'; LoRA-Pro adjusts Linear (A, B) pairs only: leave the embedding out of the targets");
        List<LoraProOptimizer.Pair> pairs = new ArrayList<>();
        Set<Variable> inPairs = Collections.newSetFromMap(new IdentityHashMap<>());
        for (AdapterLinear l : pm.adapterLayers())
            if (l instanceof LoraLinear lora && lora.hasAdapter(name)) {
                if (lora instanceof DoraLinear d && d.isDora(name))
                    throw new IllegalArgumentException("LoRA-Pro: adapter '" + name + "' is a DoRA adapter; LoRA-Pro's closed form is for plain LoRA pairs");
                pairs.add(new LoraProOptimizer.Pair(lora.a(name), lora.b(name), lora.scaling(name)));
                inPairs.add(lora.a(name));
                inPairs.add(lora.b(name));
            }
        if (pairs.isEmpty()) throw new IllegalArgumentException("LoRA-Pro: adapter '" + name + "' has no LoRA Linear layer (" + pm.config(name).type() + ")");
        for (Map.Entry<String, Variable> e : pm.model().namedParameters().entrySet())
            if (e.getValue().requiresGrad() && !inPairs.contains(e.getValue()))
                throw new IllegalArgumentException("LoRA-Pro: parameter '" + e.getKey() + "' is trainable but is no LoRA A or B of adapter '" + name
                        + "'; LoRA-Pro optimises (A, B) pairs only: freeze it or train it with another optimiser");
        return new LoraProOptimizer(pairs, lr, weightDecay);
    }

    /** BitFit: only the biases train; returns their element count. */
    public static long bitFit(Module model) {
        long n = 0;
        for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) {
            String k = e.getKey();
            boolean bias = k.equals("bias") || k.endsWith(".bias");
            e.getValue().requiresGrad(bias);
            if (bias) n += e.getValue().numel();
        }
        return n;
    }

    /** Full fine-tuning: everything trains; returns the parameter count. */
    public static long fullFineTune(Module model) {
        model.requiresGrad(true);
        return model.numParameters(true);
    }

    /**
     * Writes the trainable parameters of {@code model} (BitFit's biases) to one safetensors file, under their
     * names in the model, atomically. {@link #loadTrained} puts them back into a fresh copy of the base model.
     */
    public static void saveTrained(Module model, Path file) throws IOException {
        Safetensors.Writer w = Safetensors.writer().metadata("format", "pt");
        int n = 0;
        for (Map.Entry<String, Variable> e : model.namedParameters().entrySet())
            if (e.getValue().requiresGrad()) {
                w.put(e.getKey(), e.getValue().data().contiguous());
                n++;
            }
        if (n == 0) throw new IllegalArgumentException("saveTrained: " + model.getClass().getSimpleName() + " has no trainable parameter");
        if (file.getParent() != null) Files.createDirectories(file.getParent());
        w.write(file);
    }

    /**
     * Copies every tensor of a {@link #saveTrained} file into the parameter of the same name of {@code model}.
     * A name the model lacks or a shape that differs is an error naming the file and the tensor; then nothing
     * was written.
     */
    public static void loadTrained(Module model, Path file) throws IOException {
        Map<String, Variable> params = model.namedParameters();
        try (SafetensorsFile f = Safetensors.read(file)) {
            List<String> names = new ArrayList<>(new TreeSet<>(f.names()));
            List<Tensor> values = new ArrayList<>();
            for (String k : names) {
                Variable p = params.get(k);
                if (p == null) throw new IllegalArgumentException(file + ": tensor '" + k + "' is not a parameter of " + model.getClass().getSimpleName());
                Tensor t = f.tensor(k);
                if (!Arrays.equals(t.shape(), p.shape()))
                    throw new IllegalArgumentException(file + ": tensor '" + k + "' has shape " + Arrays.toString(t.shape()) + ", the model's is " + Arrays.toString(p.shape()));
                values.add(t);
            }
            for (int i = 0; i < names.size(); i++) params.get(names.get(i)).data().copyFrom(values.get(i));
        }
    }
}
