package dev.vectorgrad.peft;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.nn.Module;
import dev.vectorgrad.autograd.optim.AdamW;
import dev.vectorgrad.autograd.optim.ParamGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The baselines and optimiser recipes around the adapters: LoRA+, BitFit, full fine-tuning. */
public final class Methods {
    /** LoRA+'s default ratio of B's learning rate to A's. */
    public static final double LORA_PLUS_RATIO = 16;

    private Methods() {}

    /**
     * LoRA+ parameter groups: every trainable {@code lora_B} at {@code lr·ratio}, every other trainable parameter
     * (A, VeRA's λ, …) at {@code lr}. Empty groups are left out.
     */
    public static List<ParamGroup> loraPlusGroups(Module model, double lr, double ratio) {
        List<Variable> a = new ArrayList<>(), b = new ArrayList<>();
        for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) {
            if (!e.getValue().requiresGrad()) continue;
            (e.getKey().contains(".lora_B.") || e.getKey().startsWith("lora_B.") ? b : a).add(e.getValue());
        }
        List<ParamGroup> groups = new ArrayList<>();
        if (!a.isEmpty()) groups.add(ParamGroup.of(a).lr(lr));
        if (!b.isEmpty()) groups.add(ParamGroup.of(b).lr(lr * ratio));
        return groups;
    }

    /** AdamW over {@link #loraPlusGroups} (β = 0.9, 0.999, ε = 1e-8). */
    public static AdamW loraPlusAdamW(Module model, double lr, double ratio, double weightDecay) {
        return new AdamW(loraPlusGroups(model, lr, ratio), lr, 0.9, 0.999, 1e-8, weightDecay);
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
}
