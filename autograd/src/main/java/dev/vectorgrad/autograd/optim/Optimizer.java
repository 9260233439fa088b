package dev.vectorgrad.autograd.optim;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Tensor;
import dev.vectorgrad.tensor.VectorMath;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Base of the optimisers: parameter groups, per-parameter state (created only for parameters that require
 * grad and have one, as PyTorch's lazy state), {@link #zeroGrad()}, and schedules.
 */
public abstract class Optimizer {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    protected final List<ParamGroup> groups;
    /** Per-parameter state (momentum buffers, moments), by identity. */
    protected final IdentityHashMap<Variable, State> state = new IdentityHashMap<>();

    /** Buffers and step count of one parameter. */
    protected static final class State {
        public long step;
        public float[] a, b;
    }

    protected Optimizer(List<ParamGroup> groups, double defaultLr, double defaultWd) {
        if (groups.isEmpty()) throw new IllegalArgumentException("optimizer got an empty parameter list");
        IdentityHashMap<Variable, Boolean> seen = new IdentityHashMap<>();
        for (ParamGroup g : groups) {
            g.resolve(defaultLr, defaultWd);
            for (Variable p : g.params) {
                if (seen.put(p, Boolean.TRUE) != null)
                    throw new IllegalArgumentException("some parameters appear in more than one parameter group");
                if (!p.isLeaf()) throw new IllegalArgumentException("can't optimize a non-leaf variable");
            }
        }
        this.groups = List.copyOf(groups);
    }

    static List<ParamGroup> single(Collection<Variable> params) {
        return List.of(ParamGroup.of(params));
    }

    public List<ParamGroup> paramGroups() {
        return groups;
    }

    /**
     * Every parameter, the groups in order and then each group's parameters in order: the numbering of the
     * per-parameter state in a state dict (PyTorch's).
     */
    public List<Variable> parameters() {
        List<Variable> out = new ArrayList<>();
        for (ParamGroup g : groups) out.addAll(g.params);
        return out;
    }

    /** Applies one update to every parameter that requires grad and has a gradient. */
    public abstract void step();

    /** Clears every parameter's gradient (PyTorch's {@code set_to_none=True}). */
    public void zeroGrad() {
        for (ParamGroup g : groups) for (Variable p : g.params) p.zeroGrad();
    }

    /** Sets the learning rate of every group. */
    public void setLr(double lr) {
        for (ParamGroup g : groups) g.setLr(lr);
    }

    /** Sets each group's learning rate to its initial one times {@code schedule.factor(step)}. */
    public void applySchedule(LrSchedule schedule, long step) {
        double f = schedule.factor(step);
        for (ParamGroup g : groups) g.setLr(g.initialLr * f);
    }

    /** Number of parameters that currently hold optimiser state. */
    public int stateSize() {
        return state.size();
    }

    /** The parameter's data as a dense array region (parameters are dense; views are refused). */
    static void checkDense(Variable p) {
        if (!p.data().isContiguous())
            throw new IllegalArgumentException("optimizer: parameter of shape " + Arrays.toString(p.shape()) + " is not contiguous");
    }

    /** Elements per parallel chunk of an update loop (fixed, so results never depend on the thread count). */
    static final int CHUNK = 1 << 15;

    interface Range {
        void run(int start, int end);
    }

    static void chunks(int n, Range r) {
        if (n <= CHUNK) {
            r.run(0, n);
            return;
        }
        int tasks = (n + CHUNK - 1) / CHUNK;
        Parallel.forRange(tasks, t -> r.run(t * CHUNK, Math.min(n, (t + 1) * CHUNK)));
    }

    /**
     * Scales the gradients of {@code params} so that their global L2 norm is at most {@code maxNorm}, as
     * {@code torch.nn.utils.clip_grad_norm_}: coefficient maxNorm / (norm + 1e-6), applied only when below 1.
     * Returns the norm before clipping. Parameters without a gradient are skipped.
     *
     * <p>Each gradient's sum of squares is one vector pass with float lanes (FMA), the lanes then added in a fixed
     * order; the scalar tail and the tensors' sums (in the order given) are added in double. The result depends
     * on the vector width but never on the thread count.
     */
    public static double clipGradNorm(Collection<Variable> params, double maxNorm) {
        List<Tensor> grads = new ArrayList<>();
        for (Variable p : params) if (p.grad() != null) grads.add(p.grad());
        if (grads.isEmpty()) return 0;
        double sq = 0;
        for (Tensor g : grads) sq += sumOfSquares(g.contiguous());
        double total = Math.sqrt(sq);
        double coef = maxNorm / (total + 1e-6);
        if (coef < 1) for (Tensor g : grads) g.mulInPlace((float) coef);
        return total;
    }

    private static double sumOfSquares(Tensor c) {
        float[] d = c.storage();
        int o = c.offset(), n = c.numel(), i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, d, o + i);
            acc = x.fma(x, acc);
        }
        double s = VectorMath.sumLanes(acc);
        for (; i < n; i++) s += (double) d[o + i] * d[o + i];
        return s;
    }
}
