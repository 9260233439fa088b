package dev.vectorgrad.autograd.optim;

import dev.vectorgrad.autograd.Variable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * A set of parameters with its own learning rate and weight decay, as an entry of PyTorch's
 * {@code param_groups}. An option left unset takes the optimiser's default when the optimiser is built.
 */
public final class ParamGroup {
    final List<Variable> params;
    Double lr, weightDecay;
    /** The learning rate the group started with; schedules scale this. */
    double initialLr;

    private ParamGroup(Collection<Variable> params) {
        this.params = List.copyOf(new ArrayList<>(params));
    }

    public static ParamGroup of(Collection<Variable> params) {
        return new ParamGroup(params);
    }

    /** Sets this group's learning rate; returns this. */
    public ParamGroup lr(double lr) {
        this.lr = lr;
        return this;
    }

    /** Sets this group's weight decay; returns this. */
    public ParamGroup weightDecay(double wd) {
        this.weightDecay = wd;
        return this;
    }

    public List<Variable> params() {
        return params;
    }

    public double lr() {
        return lr;
    }

    public double weightDecay() {
        return weightDecay;
    }

    public double initialLr() {
        return initialLr;
    }

    /** Sets the current learning rate (what a schedule does each step). */
    public void setLr(double lr) {
        this.lr = lr;
    }

    void resolve(double defaultLr, double defaultWd) {
        if (lr == null) lr = defaultLr;
        if (weightDecay == null) weightDecay = defaultWd;
        initialLr = lr;
    }
}
