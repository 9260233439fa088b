package dev.vectorgrad.autograd.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Tensor;
import java.util.List;
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
}
