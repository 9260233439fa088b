package dev.vectorgrad.autograd.optim;

import dev.vectorgrad.autograd.Variable;
import java.util.Collection;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Stochastic gradient descent with PyTorch's formulas: g ← grad + wd·p; with momentum μ,
 * buf ← g (first step) else μ·buf + (1 − dampening)·g, and g ← g + μ·buf (Nesterov) or buf; p ← p − lr·g.
 */
public final class SGD extends Optimizer {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    public final double momentum, dampening;
    public final boolean nesterov;

    public SGD(Collection<Variable> params, double lr) {
        this(single(params), lr, 0, 0, 0, false);
    }

    public SGD(Collection<Variable> params, double lr, double momentum, double weightDecay, boolean nesterov) {
        this(single(params), lr, momentum, 0, weightDecay, nesterov);
    }

    public SGD(List<ParamGroup> groups, double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        super(groups, lr, weightDecay);
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new IllegalArgumentException("Nesterov momentum requires a momentum and zero dampening");
        this.momentum = momentum;
        this.dampening = dampening;
        this.nesterov = nesterov;
    }

    @Override
    public void step() {
        for (ParamGroup g : groups) {
            float lr = (float) g.lr(), wd = (float) g.weightDecay();
            for (Variable p : g.params) {
                if (!p.requiresGrad() || p.grad() == null) continue;
                checkDense(p);
                float[] pd = p.data().storage(), gd = p.grad().contiguous().storage();
                int po = p.data().offset(), go = p.grad().contiguous().offset(), n = p.numel();
                if (momentum == 0) {
                    chunks(n, (s, e) -> plain(pd, po, gd, go, s, e, lr, wd));
                    continue;
                }
                State st = state.get(p);
                boolean first = st == null;
                if (first) {
                    st = new State();
                    st.a = new float[n];
                    state.put(p, st);
                }
                st.step++;
                float[] buf = st.a;
                float mu = (float) momentum, damp = first ? 0f : (float) (1 - dampening);
                float keep = first ? 0f : mu;
                chunks(n, (s, e) -> withMomentum(pd, po, gd, go, buf, s, e, lr, wd, mu, keep, first ? 1f : damp, nesterov));
            }
        }
    }

    private static void plain(float[] p, int po, float[] g, int go, int s, int e, float lr, float wd) {
        int i = s;
        for (int up = s + S.loopBound(e - s); i < up; i += S.length()) {
            FloatVector pv = FloatVector.fromArray(S, p, po + i);
            FloatVector gv = FloatVector.fromArray(S, g, go + i);
            if (wd != 0f) gv = pv.mul(wd).add(gv);
            pv.sub(gv.mul(lr)).intoArray(p, po + i);
        }
        for (; i < e; i++) {
            float gi = g[go + i];
            if (wd != 0f) gi += wd * p[po + i];
            p[po + i] -= lr * gi;
        }
    }

    /** buf ← keep·buf + gScale·g (keep 0 and gScale 1 on the first step: buf = g). */
    private static void withMomentum(float[] p, int po, float[] g, int go, float[] buf, int s, int e, float lr, float wd,
                                     float mu, float keep, float gScale, boolean nesterov) {
        int i = s;
        for (int up = s + S.loopBound(e - s); i < up; i += S.length()) {
            FloatVector pv = FloatVector.fromArray(S, p, po + i);
            FloatVector gv = FloatVector.fromArray(S, g, go + i);
            if (wd != 0f) gv = pv.mul(wd).add(gv);
            FloatVector b = FloatVector.fromArray(S, buf, i).mul(keep).add(gv.mul(gScale));
            b.intoArray(buf, i);
            FloatVector d = nesterov ? b.mul(mu).add(gv) : b;
            pv.sub(d.mul(lr)).intoArray(p, po + i);
        }
        for (; i < e; i++) {
            float gi = g[go + i];
            if (wd != 0f) gi += wd * p[po + i];
            float b = buf[i] * keep + gi * gScale;
            buf[i] = b;
            float d = nesterov ? gi + mu * b : b;
            p[po + i] -= lr * d;
        }
    }
}
