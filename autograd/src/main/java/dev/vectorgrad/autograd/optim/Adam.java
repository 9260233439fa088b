package dev.vectorgrad.autograd.optim;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Parallel;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Adam (Kingma & Ba) with PyTorch's formulas, per parameter at step t:
 * g ← grad (+ wd·p for Adam's L2 weight decay); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + eps) — eps added outside the square root.
 * {@link AdamW} instead decays the weights directly first, p ← p·(1 − lr·wd). One fused pass over p, g, m, v.
 *
 * <p>The step count t is kept per parameter, as PyTorch does: it counts the updates that parameter received
 * (a step in which it had no gradient does not count). {@link #stateDict()} and {@link #loadStateDict} save and
 * restore that state, so that a run can be checkpointed and resumed bit for bit.
 */
public class Adam extends Optimizer {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    public final double beta1, beta2, eps;
    private final boolean decoupled;

    public Adam(Collection<Variable> params, double lr) {
        this(single(params), lr, 0.9, 0.999, 1e-8, 0);
    }

    public Adam(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay) {
        this(groups, lr, beta1, beta2, eps, weightDecay, false);
    }

    Adam(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay, boolean decoupled) {
        super(groups, lr, weightDecay);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
            throw new IllegalArgumentException("Adam: betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.decoupled = decoupled;
    }

    /**
     * One parameter's state, as an entry of PyTorch's {@code optimizer.state_dict()["state"]}: {@code step}, the
     * number of updates applied to the parameter, and the moment estimates {@code exp_avg} (m) and
     * {@code exp_avg_sq} (v), each of the parameter's shape.
     */
    public record ParamState(long step, Tensor expAvg, Tensor expAvgSq) {
        public ParamState {
            if (step < 0) throw new IllegalArgumentException("Adam state: negative step " + step);
            if (expAvg == null || expAvgSq == null) throw new IllegalArgumentException("Adam state: exp_avg and exp_avg_sq are required");
        }
    }

    /**
     * The per-parameter state, as PyTorch's {@code optimizer.state_dict()["state"]}: keyed by the parameter's index in
     * {@link #parameters()} (the groups in order, then the parameters of each group in order). Only parameters
     * that hold state appear: state is created at a parameter's first update. The tensors are copies, so the
     * snapshot does not change as training goes on. The group options (lr, weight decay) are not included: they
     * belong to the {@link ParamGroup}s the optimiser is built with, and a schedule sets the lr each step.
     */
    public Map<Integer, ParamState> stateDict() {
        Map<Integer, ParamState> out = new LinkedHashMap<>();
        List<Variable> ps = parameters();
        for (int i = 0; i < ps.size(); i++) {
            State st = state.get(ps.get(i));
            if (st == null) continue;
            int[] shape = ps.get(i).shape();
            // plain copies, never arena arrays: the snapshot outlives any StepArena scope it is taken in
            out.put(i, new ParamState(st.step, Tensor.wrap(st.a.clone(), shape), Tensor.wrap(st.b.clone(), shape)));
        }
        return out;
    }

    /**
     * Replaces the per-parameter state with a copy of {@code stateDict} (as {@link #stateDict()} returns it, possibly
     * from another optimiser over other parameters of the same shapes), as PyTorch's {@code load_state_dict}:
     * parameters without an entry start fresh. After {@code loadStateDict(saved)}, continuing gives bit for bit the updates
     * the optimiser that saved it would have made, given the same gradients and learning rates. Everything is
     * checked before anything is replaced: an index out of range or a moment whose shape is not its parameter's
     * throws {@link IllegalArgumentException} and leaves the state as it was.
     */
    public void loadStateDict(Map<Integer, ParamState> stateDict) {
        List<Variable> ps = parameters();
        IdentityHashMap<Variable, State> loaded = new IdentityHashMap<>();
        for (Map.Entry<Integer, ParamState> e : stateDict.entrySet()) {
            int i = e.getKey();
            if (i < 0 || i >= ps.size())
                throw new IllegalArgumentException("Adam state: parameter index " + i + " is out of range (" + ps.size() + " parameters)");
            Variable p = ps.get(i);
            ParamState s = e.getValue();
            for (Tensor t : List.of(s.expAvg(), s.expAvgSq()))
                if (!Arrays.equals(t.shape(), p.shape()))
                    throw new IllegalArgumentException("Adam state: parameter " + i + " has shape " + Arrays.toString(p.shape())
                            + " but its moments have shape " + Arrays.toString(t.shape()));
            State st = new State();
            st.step = s.step();
            st.a = s.expAvg().toArray(); // new arrays, outside any StepArena
            st.b = s.expAvgSq().toArray();
            loaded.put(p, st);
        }
        state.clear();
        state.putAll(loaded);
    }

    /**
     * One parallel section for all parameters, each split into one contiguous part per thread, tasks ordered part
     * first: thread t's share is part t of every parameter, the rows of each gradient it computed itself (the
     * weight-gradient GEMMs hand each thread a band of rows) and the same slice of the moments as every step
     * before. (A section per large parameter gave 12 joins per step of the baby GPT, the c_attn ones split
     * 32K + 17K, and the small parameters ran on the caller alone.) The update is elementwise, so the split
     * changes no bit.
     */
    @Override
    public void step() {
        List<Optimizer.Range> updates = new ArrayList<>();
        List<Integer> sizes = new ArrayList<>();
        for (ParamGroup g : groups) {
            double lr = g.lr(), wd = g.weightDecay();
            for (Variable p : g.params) {
                if (!p.requiresGrad() || p.grad() == null) continue;
                checkDense(p);
                int n = p.numel();
                State st = state.get(p);
                if (st == null) {
                    // plain new arrays even when a StepArena is open: the state outlives the step
                    st = new State();
                    st.a = new float[n];
                    st.b = new float[n];
                    state.put(p, st);
                }
                long t = ++st.step;
                double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
                float stepSize = (float) (lr / bc1);
                float invSqrtBc2 = (float) (1 / Math.sqrt(bc2));
                float decay = decoupled ? (float) (1 - lr * wd) : 1f;
                float l2 = decoupled ? 0f : (float) wd;
                float b1 = (float) beta1, b2 = (float) beta2, c1 = (float) (1 - beta1), c2 = (float) (1 - beta2), e = (float) eps;
                float[] pd = p.data().storage(), m = st.a, v = st.b;
                var gt = p.grad().contiguous();
                float[] gd = gt.storage();
                int po = p.data().offset(), go = gt.offset();
                updates.add((s, end) -> update(pd, po, gd, go, m, v, s, end, decay, l2, b1, b2, c1, c2, stepSize, invSqrtBc2, e));
                sizes.add(n);
            }
        }
        long total = 0;
        for (int n : sizes) total += n;
        int parts = total < CHUNK ? 1 : Parallel.threads(), count = updates.size();
        Parallel.forRange(parts * count, t -> {
            int part = t / count, i = t % count, n = sizes.get(i);
            updates.get(i).run(Parallel.chunkStart(n, parts, part), Parallel.chunkStart(n, parts, part + 1));
        });
    }

    private static void update(float[] p, int po, float[] g, int go, float[] m, float[] v, int s, int e, float decay, float l2,
                               float b1, float b2, float c1, float c2, float stepSize, float invSqrtBc2, float eps) {
        int i = s;
        for (int up = s + S.loopBound(e - s); i < up; i += S.length()) {
            FloatVector pv = FloatVector.fromArray(S, p, po + i);
            FloatVector gv = FloatVector.fromArray(S, g, go + i);
            if (l2 != 0f) gv = pv.mul(l2).add(gv);
            if (decay != 1f) pv = pv.mul(decay);
            FloatVector mv = FloatVector.fromArray(S, m, i).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromArray(S, v, i).mul(b2).add(gv.mul(gv).mul(c2));
            mv.intoArray(m, i);
            vv.intoArray(v, i);
            FloatVector denom = vv.sqrt().mul(invSqrtBc2).add(eps);
            pv.sub(mv.div(denom).mul(stepSize)).intoArray(p, po + i);
        }
        for (; i < e; i++) {
            float pi = p[po + i], gi = g[go + i];
            if (l2 != 0f) gi += l2 * pi;
            if (decay != 1f) pi *= decay;
            float mi = m[i] * b1 + gi * c1, vi = v[i] * b2 + gi * gi * c2;
            m[i] = mi;
            v[i] = vi;
            float denom = (float) Math.sqrt(vi) * invSqrtBc2 + eps;
            p[po + i] = pi - stepSize * (mi / denom);
        }
    }
}
