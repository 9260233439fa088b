package dev.vectorgrad.autograd.optim;

import dev.vectorgrad.autograd.Variable;
import java.util.Collection;
import java.util.List;

/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, p ← p·(1 − lr·wd) before the Adam update,
 * as {@code torch.optim.AdamW} (default weight decay 0.01).
 */
public final class AdamW extends Adam {
    public AdamW(Collection<Variable> params, double lr) {
        this(single(params), lr, 0.9, 0.999, 1e-8, 0.01);
    }

    public AdamW(Collection<Variable> params, double lr, double weightDecay) {
        this(single(params), lr, 0.9, 0.999, 1e-8, weightDecay);
    }

    public AdamW(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay) {
        super(groups, lr, beta1, beta2, eps, weightDecay, true);
    }
}
