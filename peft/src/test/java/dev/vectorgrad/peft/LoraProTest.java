package dev.vectorgrad.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.autograd.optim.Optimizer;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** LoRA-Pro's closed form against dense projections and the Sylvester equation formed here, and a few training steps. */
class LoraProTest {
    static double[] randn(Rng rng, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = rng.nextGaussian();
        return x;
    }

    /** Dense n × n matrix product, naive. */
    static double[] mm(double[] x, double[] y, int n, int k, int m) {
        double[] z = new double[n * m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) {
                double acc = 0;
                for (int l = 0; l < k; l++) acc += x[i * k + l] * y[l * m + j];
                z[i * m + j] = acc;
            }
        return z;
    }

    static double[] tr(double[] x, int n, int m) {
        double[] z = new double[n * m];
        for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) z[j * n + i] = x[i * m + j];
        return z;
    }

    /** Inverse of a small SPD matrix by Gauss–Jordan (no pivoting needed). */
    static double[] inv(double[] a, int r) {
        double[] m = a.clone(), e = new double[r * r];
        for (int i = 0; i < r; i++) e[i * r + i] = 1;
        for (int c = 0; c < r; c++) {
            double p = m[c * r + c];
            for (int j = 0; j < r; j++) { m[c * r + j] /= p; e[c * r + j] /= p; }
            for (int i = 0; i < r; i++) {
                if (i == c) continue;
                double f = m[i * r + c];
                for (int j = 0; j < r; j++) { m[i * r + j] -= f * m[c * r + j]; e[i * r + j] -= f * e[c * r + j]; }
            }
        }
        return e;
    }

    static double relErr(double[] got, double[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < got.length; i++) { num += (got[i] - want[i]) * (got[i] - want[i]); den += want[i] * want[i]; }
        return Math.sqrt(num / den);
    }

    @Test
    void theEquivalentGradientIsTheProjectionOfTheFullGradientAndXSolvesTheSylvesterEquation() {
        int out = 9, in = 7, r = 3;
        double s = 1.7;
        Rng rng = new Rng(4);
        double[] a = randn(rng, r * in), b = randn(rng, out * r), g = randn(rng, out * in); // G formed densely
        // the LoRA gradients of W = W₀ + s·B·A: g_A = s·BᵀG, g_B = s·G·Aᵀ
        double[] ga = mm(tr(b, out, r), g, r, out, in), gb = mm(g, tr(a, r, in), out, in, r);
        for (int i = 0; i < ga.length; i++) ga[i] *= s;
        for (int i = 0; i < gb.length; i++) gb[i] *= s;
        LoraProOptimizer.Optimal o = LoraProOptimizer.optimal(a, b, ga, gb, out, in, r, s, true);
        double[] geq = LoraProOptimizer.equivalent(a, b, o.ga(), o.gb(), out, in, r, s);
        // P_B = B(BᵀB)⁻¹Bᵀ, P_A = Aᵀ(AAᵀ)⁻¹A; want P_B·G + G·P_A − P_B·G·P_A
        double[] btb = mm(tr(b, out, r), b, r, out, r), aat = mm(a, tr(a, r, in), r, in, r);
        double[] pb = mm(mm(b, inv(btb, r), out, r, r), tr(b, out, r), out, r, out);
        double[] pa = mm(mm(tr(a, r, in), inv(aat, r), in, r, r), a, in, r, in);
        double[] pbg = mm(pb, g, out, out, in), gpa = mm(g, pa, out, in, in), pbgpa = mm(pbg, pa, out, in, in);
        double[] want = new double[out * in];
        for (int i = 0; i < want.length; i++) want[i] = pbg[i] + gpa[i] - pbgpa[i];
        assertThat(relErr(geq, want)).isLessThan(1e-6);
        // X with (BᵀB)X + X(AAᵀ) = −(1/s²)(BᵀB)⁻¹·g_A·Aᵀ
        double[] x = o.x();
        double[] lhs = mm(btb, x, r, r, r), xa = mm(x, aat, r, r, r);
        for (int i = 0; i < lhs.length; i++) lhs[i] += xa[i];
        double[] rhs = mm(mm(inv(btb, r), ga, r, r, in), tr(a, r, in), r, in, r);
        for (int i = 0; i < rhs.length; i++) rhs[i] *= -1 / (s * s);
        assertThat(relErr(lhs, rhs)).isLessThan(1e-6);
        assertThat(relErr(x, new double[r * r])).as("X is not trivially zero").isGreaterThan(1e-3);
        // and X is the minimiser of ‖g^A − g_A‖² + ‖g^B − g_B‖² along the X family: a perturbed X does worse
        LoraProOptimizer.Optimal zero = LoraProOptimizer.optimal(a, b, ga, gb, out, in, r, s, false);
        double best = dist(o, ga, gb), atZero = dist(zero, ga, gb);
        assertThat(best).isLessThanOrEqualTo(atZero);
    }

    private static double dist(LoraProOptimizer.Optimal o, double[] ga, double[] gb) {
        double d = 0;
        for (int i = 0; i < ga.length; i++) d += (o.ga()[i] - ga[i]) * (o.ga()[i] - ga[i]);
        for (int i = 0; i < gb.length; i++) d += (o.gb()[i] - gb[i]) * (o.gb()[i] - gb[i]);
        return d;
    }

    @Test
    void sylvesterSolverMatchesAKnownSolution() {
        int r = 4;
        Rng rng = new Rng(8);
        double[] m = randn(rng, r * r), n = randn(rng, r * r), x = randn(rng, r * r);
        double[] p = mm(m, tr(m, r, r), r, r, r), q = mm(n, tr(n, r, r), r, r, r);
        for (int i = 0; i < r; i++) { p[i * r + i] += 0.1; q[i * r + i] += 0.1; }
        double[] c = mm(p, x, r, r, r), xq = mm(x, q, r, r, r);
        for (int i = 0; i < c.length; i++) c[i] += xq[i];
        assertThat(relErr(LoraProOptimizer.sylvester(p, q, c, r), x)).isLessThan(1e-9);
    }

    @Test
    void aFewStepsLowerTheLossAndOtherTrainableParametersAreRefused() {
        Toy t = new Toy(6, 2, 1);
        PeftModel pm = PeftModel.wrap(t, PeftConfig.lora(2, 8, "fc", "q_proj").seed(3));
        Optimizer opt = Methods.loraProAdamW(pm, 1e-2, 0.0);
        Tensor x = PeftModelTest.input(8, 6, 5), y = PeftModelTest.input(8, 5, 6);
        double first = 0, last = 0;
        for (int step = 0; step < 15; step++) {
            opt.zeroGrad();
            Variable loss = t.forward(Variable.of(x)).sub(Variable.of(y)).square().mean();
            if (step == 0) first = loss.item();
            last = loss.item();
            loss.backward();
            opt.step();
        }
        assertThat(last).isLessThan(0.9 * first);
        // the first step moves only B (B = 0: g^A = 0) and every A stays put
        Toy t2 = new Toy(6, 2, 1);
        PeftModel pm2 = PeftModel.wrap(t2, PeftConfig.lora(2, 8, "fc").seed(3));
        LoraLinear fc = (LoraLinear) pm2.adaptedLayers().get("layers.0.fc");
        Tensor a0 = fc.a("default").data().copy();
        Optimizer opt2 = Methods.loraProAdamW(pm2, 1e-2, 0.0);
        t2.forward(Variable.of(x)).sub(Variable.of(y)).square().mean().backward();
        opt2.step();
        assertThat(PeftModelTest.maxAbsDiff(fc.a("default").data(), a0)).isZero();
        assertThat(PeftModelTest.maxAbsDiff(fc.b("default").data(), Tensor.zeros(12, 2))).isGreaterThan(1e-4);

        t2.layers.get(0).norm.weight.requiresGrad(true);
        assertThatThrownBy(() -> Methods.loraProAdamW(pm2, 1e-2, 0)).hasMessageContaining("layers.0.norm.weight");
    }
}
