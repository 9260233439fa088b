package dev.vectorgrad.autograd.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.StepArena;
import dev.vectorgrad.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Optimiser steps against the published update rules, computed independently here in double precision.
 * The gradient each step is a fixed function of the current parameters, g = 2·p − c (the loss Σ(p² − c·p)),
 * set by hand, so the reference recomputes it from its own double parameters.
 */
class OptimizerTest {
    // 37 elements: several full vectors plus a scalar tail
    static final int N = 37;
    static final double[] C = new double[N];
    static final double[] P0 = new double[N];

    static {
        for (int i = 0; i < N; i++) {
            C[i] = Math.sin(i * 1.7) * 0.8;
            P0[i] = Math.cos(i * 0.9) * 1.3;
        }
    }

    static Variable param(double[] values) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
        return Variable.param(Tensor.wrap(f, f.length));
    }

    /** g = 2p − c from the current float parameters. */
    static void setGrad(Variable p) {
        float[] d = p.data().toArray();
        float[] g = new float[d.length];
        for (int i = 0; i < d.length; i++) g[i] = (float) (2 * d[i] - C[i]);
        p.setGrad(Tensor.wrap(g, g.length));
    }

    static double[] grad(double[] p) {
        double[] g = new double[p.length];
        for (int i = 0; i < p.length; i++) g[i] = 2 * p[i] - C[i];
        return g;
    }

    static void assertClose(Variable p, double[] ref, double tol) {
        float[] got = p.data().toArray();
        for (int i = 0; i < got.length; i++)
            assertThat((double) got[i]).as("element %d", i).isCloseTo(ref[i], org.assertj.core.data.Offset.offset(tol * Math.max(1, Math.abs(ref[i]))));
    }

    @Test
    void sgdPlainAndWeightDecay() {
        double lr = 0.1, wd = 0.05;
        Variable p = param(P0);
        SGD opt = new SGD(List.of(ParamGroup.of(List.of(p))), lr, 0, 0, wd, false);
        double[] ref = P0.clone();
        for (int step = 0; step < 5; step++) {
            setGrad(p);
            opt.step();
            double[] g = grad(ref);
            for (int i = 0; i < N; i++) ref[i] -= lr * (g[i] + wd * ref[i]);
        }
        assertClose(p, ref, 1e-6);
        assertThat(opt.stateSize()).isZero();
    }

    void sgdMomentum(boolean nesterov, double dampening) {
        double lr = 0.05, mu = 0.9, wd = 0.01;
        Variable p = param(P0);
        SGD opt = new SGD(List.of(ParamGroup.of(List.of(p))), lr, mu, dampening, wd, nesterov);
        double[] ref = P0.clone(), buf = null;
        for (int step = 0; step < 6; step++) {
            setGrad(p);
            opt.step();
            double[] g = grad(ref);
            for (int i = 0; i < N; i++) g[i] += wd * ref[i];
            if (buf == null) buf = g.clone();
            else for (int i = 0; i < N; i++) buf[i] = mu * buf[i] + (1 - dampening) * g[i];
            for (int i = 0; i < N; i++) ref[i] -= lr * (nesterov ? g[i] + mu * buf[i] : buf[i]);
        }
        assertClose(p, ref, 2e-6);
    }

    @Test void sgdMomentum() { sgdMomentum(false, 0); }
    @Test void sgdMomentumDampening() { sgdMomentum(false, 0.3); }
    @Test void sgdNesterov() { sgdMomentum(true, 0); }

    void adam(boolean decoupled, double wd) {
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        Variable p = param(P0);
        Optimizer opt = decoupled ? new AdamW(List.of(ParamGroup.of(List.of(p))), lr, b1, b2, eps, wd)
                : new Adam(List.of(ParamGroup.of(List.of(p))), lr, b1, b2, eps, wd);
        double[] ref = P0.clone(), m = new double[N], v = new double[N];
        for (int t = 1; t <= 7; t++) {
            setGrad(p);
            opt.step();
            double[] g = grad(ref);
            if (!decoupled) for (int i = 0; i < N; i++) g[i] += wd * ref[i];
            else for (int i = 0; i < N; i++) ref[i] *= 1 - lr * wd;
            for (int i = 0; i < N; i++) {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(b1, t)), vHat = v[i] / (1 - Math.pow(b2, t));
                ref[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
        assertClose(p, ref, 2e-6);
    }

    @Test void adamPlain() { adam(false, 0); }
    @Test void adamL2WeightDecay() { adam(false, 0.1); }
    @Test void adamW() { adam(true, 0.1); }

    @Test
    void epsIsOutsideTheSquareRoot() {
        // one step with a tiny gradient: eps dominates only if it is added to √v̂, not to v̂
        double lr = 1, eps = 1e-3;
        Variable p = Variable.param(Tensor.vector(0f));
        Adam opt = new Adam(List.of(ParamGroup.of(List.of(p))), lr, 0.9, 0.999, eps, 0);
        p.setGrad(Tensor.vector(1e-3f));
        opt.step();
        // m̂ = 1e-3, √v̂ = 1e-3 → step = 1e-3 / (1e-3 + 1e-3) = 0.5 (inside the sqrt it would be ≈ 0.03)
        assertThat(p.data().item()).isCloseTo(-0.5f, org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void paramGroupsHaveTheirOwnLrAndWeightDecay() {
        double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        Variable a = param(P0), b = param(P0);
        AdamW opt = new AdamW(List.of(ParamGroup.of(List.of(a)), ParamGroup.of(List.of(b)).lr(0.05).weightDecay(0)), 0.01, b1, b2, eps, 0.1);
        assertThat(opt.paramGroups().get(0).lr()).isEqualTo(0.01);
        assertThat(opt.paramGroups().get(0).weightDecay()).isEqualTo(0.1);
        assertThat(opt.paramGroups().get(1).lr()).isEqualTo(0.05);
        double[][] ref = {P0.clone(), P0.clone()}, m = new double[2][N], v = new double[2][N];
        double[] lrs = {0.01, 0.05}, wds = {0.1, 0};
        for (int t = 1; t <= 4; t++) {
            setGrad(a);
            setGrad(b);
            opt.step();
            for (int k = 0; k < 2; k++) {
                double[] g = grad(ref[k]);
                for (int i = 0; i < N; i++) {
                    ref[k][i] *= 1 - lrs[k] * wds[k];
                    m[k][i] = b1 * m[k][i] + (1 - b1) * g[i];
                    v[k][i] = b2 * v[k][i] + (1 - b2) * g[i] * g[i];
                    ref[k][i] -= lrs[k] * (m[k][i] / (1 - Math.pow(b1, t))) / (Math.sqrt(v[k][i] / (1 - Math.pow(b2, t))) + eps);
                }
            }
        }
        assertClose(a, ref[0], 2e-6);
        assertClose(b, ref[1], 2e-6);
    }

    @Test
    void stateOnlyForParametersThatRequireGradAndHaveOne() {
        Variable a = param(P0), frozen = param(P0).requiresGrad(false), noGrad = param(P0);
        AdamW opt = new AdamW(List.of(a, frozen, noGrad), 0.01);
        setGrad(a);
        frozen.setGrad(Tensor.ones(N)); // even with a stale gradient, a frozen parameter is not updated
        opt.step();
        assertThat(opt.stateSize()).isEqualTo(1);
        assertThat(frozen.data().toArray()).containsExactly(param(P0).data().toArray());
        assertThat(noGrad.data().toArray()).containsExactly(param(P0).data().toArray());
    }

    @Test
    void duplicateParametersAcrossGroupsAreRefused() {
        Variable a = param(P0);
        assertThatThrownBy(() -> new SGD(List.of(ParamGroup.of(List.of(a)), ParamGroup.of(List.of(a))), 0.1, 0, 0, 0, false))
                .hasMessageContaining("more than one parameter group");
    }

    @Test
    void clipGradNormMatchesPyTorch() {
        Variable a = Variable.param(Tensor.zeros(2)), b = Variable.param(Tensor.zeros(1)), none = Variable.param(Tensor.zeros(3));
        a.setGrad(Tensor.vector(3f, 4f));
        b.setGrad(Tensor.vector(12f));
        double norm = Optimizer.clipGradNorm(List.of(a, b, none), 6.5);
        assertThat(norm).isCloseTo(13.0, org.assertj.core.data.Offset.offset(1e-9));
        double coef = 6.5 / (13 + 1e-6);
        assertThat(a.grad().toArray()).containsExactly((float) (3 * coef), (float) (4 * coef));
        assertThat(b.grad().toArray()).containsExactly((float) (12 * coef));
        // below the limit: untouched
        double n2 = Optimizer.clipGradNorm(List.of(a, b), 100);
        assertThat(n2).isCloseTo(6.5, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(b.grad().toArray()).containsExactly((float) (12 * coef));
    }

    @Test
    void clipGradNormVectorPathMatchesADoubleReference() {
        // 1003 and 517 elements: full vectors plus scalar tails, two tensors
        float[] ga = new float[1003], gb = new float[517];
        double sq = 0;
        for (int i = 0; i < ga.length; i++) sq += (double) (ga[i] = (float) Math.sin(i * 0.7)) * ga[i];
        for (int i = 0; i < gb.length; i++) sq += (double) (gb[i] = (float) (3 * Math.cos(i * 1.3))) * gb[i];
        Variable a = Variable.param(Tensor.zeros(ga.length)), b = Variable.param(Tensor.zeros(gb.length));
        a.setGrad(Tensor.of(ga, ga.length));
        b.setGrad(Tensor.of(gb, gb.length));
        double norm = Optimizer.clipGradNorm(List.of(a, b), 1.0);
        assertThat(norm).isCloseTo(Math.sqrt(sq), org.assertj.core.data.Offset.offset(1e-5 * Math.sqrt(sq)));
        float coef = (float) (1.0 / (norm + 1e-6));
        assertThat(a.grad().get(1002)).isEqualTo(ga[1002] * coef);
        assertThat(b.grad().get(5)).isEqualTo(gb[5] * coef);
        assertThat(Optimizer.clipGradNorm(List.of(a, b), 1.0)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
    }

    @Test
    void schedules() {
        LrSchedule wc = LrSchedule.warmupCosine(10, 110, 0.1);
        assertThat(wc.factor(0)).isCloseTo(1 / 11.0, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(wc.factor(9)).isCloseTo(10 / 11.0, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(wc.factor(10)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(wc.factor(60)).isCloseTo(0.55, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(wc.factor(110)).isCloseTo(0.1, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(wc.factor(500)).isEqualTo(0.1);
        LrSchedule lin = LrSchedule.linear(0, 100, 0.0);
        assertThat(lin.factor(0)).isEqualTo(1.0);
        assertThat(lin.factor(50)).isCloseTo(0.5, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(lin.factor(100)).isEqualTo(0.0);
        assertThat(LrSchedule.constant().factor(1234)).isEqualTo(1.0);
        Variable a = param(P0), b = param(P0);
        AdamW opt = new AdamW(List.of(ParamGroup.of(List.of(a)), ParamGroup.of(List.of(b)).lr(0.004)), 0.001, 0.9, 0.999, 1e-8, 0);
        opt.applySchedule(lin, 50);
        assertThat(opt.paramGroups().get(0).lr()).isCloseTo(0.0005, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(opt.paramGroups().get(1).lr()).isCloseTo(0.002, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void largeParametersUseTheParallelPathIdentically() {
        int n = 100_003;
        float[] init = new float[n], g = new float[n];
        for (int i = 0; i < n; i++) {
            init[i] = (float) Math.sin(i);
            g[i] = (float) Math.cos(i * 0.3);
        }
        Variable big = Variable.param(Tensor.of(init, n));
        AdamW opt = new AdamW(List.of(big), 0.01);
        big.setGrad(Tensor.of(g, n));
        opt.step();
        // each element equals the same update done on a one-element parameter
        for (int i : new int[] {0, 7, 8, 32767, 32768, 65535, 100_002}) {
            Variable one = Variable.param(Tensor.vector(init[i]));
            AdamW o1 = new AdamW(List.of(one), 0.01);
            one.setGrad(Tensor.vector(g[i]));
            o1.step();
            assertThat(big.data().get(i)).as("element %d", i).isCloseTo(one.data().item(), org.assertj.core.data.Offset.offset(1e-7f));
        }
    }

    // ---------------------------------------------------------------- state dict

    static int[] bits(Tensor t) {
        float[] d = t.toArray();
        int[] b = new int[d.length];
        for (int i = 0; i < d.length; i++) b[i] = Float.floatToRawIntBits(d[i]);
        return b;
    }

    /** Three parameters: a matrix with weight decay, a vector without, and a large one (parallel chunks, tail). */
    static List<Variable> stateParams() {
        float[] big = new float[70_001];
        for (int i = 0; i < big.length; i++) big[i] = (float) Math.sin(i * 0.37);
        return List.of(Variable.param(Tensor.wrap(Arrays.copyOf(toFloats(P0), 36), 4, 9)), param(P0), Variable.param(Tensor.wrap(big, big.length)));
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static Adam stateOptimizer(List<Variable> ps, boolean decoupled) {
        List<ParamGroup> groups = List.of(ParamGroup.of(List.of(ps.get(0), ps.get(2))), ParamGroup.of(List.of(ps.get(1))).weightDecay(0));
        return decoupled ? new AdamW(groups, 0.01, 0.9, 0.95, 1e-8, 0.1) : new Adam(groups, 0.01, 0.9, 0.95, 1e-8, 0.1);
    }

    /**
     * Step {@code t} (from 0): gradients g = sin(t + 0.1·i·(k+1)) + 0.5·p, a learning rate that changes every step
     * (as a schedule), and the vector parameter left without a gradient on every third step, so its own step
     * count falls behind the others'.
     */
    static void stateStep(Adam opt, List<Variable> ps, int t) {
        for (int k = 0; k < ps.size(); k++) {
            Variable p = ps.get(k);
            if (k == 1 && t % 3 == 1) {
                p.zeroGrad();
                continue;
            }
            float[] d = p.data().toArray(), g = new float[d.length];
            for (int i = 0; i < d.length; i++) g[i] = (float) Math.sin(t + 0.1 * i * (k + 1)) + 0.5f * d[i];
            p.setGrad(Tensor.wrap(g, p.shape()));
        }
        opt.setLr(0.01 * (1 + 0.1 * t));
        opt.step();
    }

    static List<Variable> copies(List<Variable> ps) {
        List<Variable> out = new ArrayList<>();
        for (Variable p : ps) out.add(Variable.param(p.data().copy()));
        return out;
    }

    void stateDictResumesBitForBit(boolean decoupled) {
        int k = 5, total = 11;
        List<Variable> u = stateParams();
        Adam uninterrupted = stateOptimizer(u, decoupled);
        for (int t = 0; t < total; t++) stateStep(uninterrupted, u, t);

        List<Variable> a = stateParams();
        Adam first = stateOptimizer(a, decoupled);
        for (int t = 0; t < k; t++) stateStep(first, a, t);
        Map<Integer, Adam.ParamState> saved = first.stateDict();
        assertThat(saved.keySet()).containsExactly(0, 1, 2); // the parameters() numbering: group 0's two, then group 1's
        assertThat(saved.get(0).step()).isEqualTo(k);
        assertThat(saved.get(2).step()).isEqualTo(k - 2); // the vector (index 2) skipped steps 1 and 4
        int[] before = bits(saved.get(0).expAvg());
        stateStep(first, a, k); // the snapshot is a copy: training on does not change it
        assertThat(bits(saved.get(0).expAvg())).containsExactly(before);

        // a fresh optimiser over fresh parameters holding the values they had after k steps
        List<Variable> b = stateParams();
        Adam replay = stateOptimizer(b, decoupled);
        for (int t = 0; t < k; t++) stateStep(replay, b, t);
        List<Variable> r = copies(b);
        Adam resumed = stateOptimizer(r, decoupled);
        resumed.loadStateDict(saved);
        for (int t = k; t < total; t++) stateStep(resumed, r, t);

        for (int i = 0; i < u.size(); i++) assertThat(bits(r.get(i).data())).as("parameter %d", i).containsExactly(bits(u.get(i).data()));
        Map<Integer, Adam.ParamState> su = uninterrupted.stateDict(), sr = resumed.stateDict();
        assertThat(sr.keySet()).isEqualTo(su.keySet());
        for (int i : su.keySet()) {
            assertThat(sr.get(i).step()).isEqualTo(su.get(i).step());
            assertThat(bits(sr.get(i).expAvg())).containsExactly(bits(su.get(i).expAvg()));
            assertThat(bits(sr.get(i).expAvgSq())).containsExactly(bits(su.get(i).expAvgSq()));
        }
    }

    @Test void adamWStateDictResumesBitForBit() { stateDictResumesBitForBit(true); }
    @Test void adamStateDictResumesBitForBit() { stateDictResumesBitForBit(false); }

    @Test
    void stateDictHoldsOnlyParametersWithStateAndLoadReplacesIt() {
        List<Variable> ps = stateParams();
        Adam opt = stateOptimizer(ps, true);
        assertThat(opt.stateDict()).isEmpty();
        assertThat(opt.parameters()).containsExactly(ps.get(0), ps.get(2), ps.get(1));
        ps.get(1).setGrad(Tensor.ones(N));
        opt.step();
        Map<Integer, Adam.ParamState> sd = opt.stateDict();
        assertThat(sd.keySet()).containsExactly(2);
        assertThat(sd.get(2).step()).isEqualTo(1);
        assertThat(sd.get(2).expAvg().shape()).containsExactly(N);
        // m = (1 − β₁)·g, v = (1 − β₂)·g² after one step with g = 1
        assertThat(sd.get(2).expAvg().get(0)).isEqualTo((float) (1 - 0.9));
        assertThat(sd.get(2).expAvgSq().get(0)).isEqualTo((float) (1 - 0.95));
        opt.loadStateDict(Map.of());
        assertThat(opt.stateSize()).isZero();
    }

    @Test
    void loadStateDictChecksBeforeReplacing() {
        List<Variable> ps = stateParams();
        Adam opt = stateOptimizer(ps, true);
        stateStep(opt, ps, 0);
        Map<Integer, Adam.ParamState> sd = opt.stateDict();
        Adam.ParamState ok = sd.get(0), wrongShape = new Adam.ParamState(3, Tensor.zeros(9, 4), Tensor.zeros(4, 9));
        assertThatThrownBy(() -> opt.loadStateDict(Map.of(0, ok, 1, wrongShape))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("shape [9, 4]");
        assertThatThrownBy(() -> opt.loadStateDict(Map.of(3, ok))).hasMessageContaining("out of range");
        assertThatThrownBy(() -> new Adam.ParamState(-1, ok.expAvg(), ok.expAvgSq())).hasMessageContaining("negative step");
        assertThat(opt.stateDict().get(1).step()).isEqualTo(1); // unchanged
        assertThat(opt.stateSize()).isEqualTo(3);
    }

    @Test
    void stateCreatedInsideAStepArenaIsNotTheArenas() {
        // the first step creates the moments lazily; inside an open arena they must still be plain arrays
        List<Variable> u = stateParams(), a = stateParams();
        Adam plain = stateOptimizer(u, true), inArena = stateOptimizer(a, true);
        StepArena arena = StepArena.open();
        stateStep(inArena, a, 0);
        assertThat(arena.lentCount()).isZero();
        Map<Integer, Adam.ParamState> sd = inArena.stateDict();
        assertThat(arena.lentCount()).isZero();
        arena.close();
        // had a moment array come from the pool, these requests would hand it out again, to be overwritten
        try (StepArena again = arena.reopen()) {
            for (Variable p : a) Arrays.fill(StepArena.floats(p.numel()), Float.NaN);
        }
        stateStep(plain, u, 0);
        stateStep(plain, u, 1);
        stateStep(inArena, a, 1);
        for (int i = 0; i < u.size(); i++) assertThat(bits(a.get(i).data())).as("parameter %d", i).containsExactly(bits(u.get(i).data()));
        // state loaded inside an arena is copied into plain arrays too
        try (StepArena again = arena.reopen()) {
            inArena.loadStateDict(sd);
            assertThat(again.lentCount()).isZero();
        }
        try (StepArena again = arena.reopen()) {
            for (Variable p : a) Arrays.fill(StepArena.floats(p.numel()), Float.NaN);
        }
        assertThat(inArena.stateDict().get(1).expAvg().toArray()).doesNotContain(Float.NaN); // index 1: the pooled-size one
    }
}
