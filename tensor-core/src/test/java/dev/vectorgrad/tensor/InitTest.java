package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.vectorgrad.tensor.Init.FanMode;
import dev.vectorgrad.tensor.Init.Nonlinearity;
import org.junit.jupiter.api.Test;

class InitTest {

    @Test
    void gainsMatchCalculateGain() {
        for (Nonlinearity n : new Nonlinearity[] {Nonlinearity.LINEAR, Nonlinearity.IDENTITY, Nonlinearity.CONV1D,
                Nonlinearity.CONV2D, Nonlinearity.CONV3D, Nonlinearity.CONV_TRANSPOSE1D, Nonlinearity.CONV_TRANSPOSE2D,
                Nonlinearity.CONV_TRANSPOSE3D, Nonlinearity.SIGMOID})
            assertThat(Init.calculateGain(n)).isEqualTo(1.0);
        assertThat(Init.calculateGain(Nonlinearity.TANH)).isEqualTo(5.0 / 3);
        assertThat(Init.calculateGain(Nonlinearity.RELU)).isEqualTo(Math.sqrt(2));
        assertThat(Init.calculateGain(Nonlinearity.RELU, 0.3)).isEqualTo(Math.sqrt(2));
        assertThat(Init.calculateGain(Nonlinearity.SELU)).isEqualTo(0.75);
        assertThat(Init.calculateGain(Nonlinearity.LEAKY_RELU)).isEqualTo(Math.sqrt(2 / (1 + 0.01 * 0.01)));
        assertThat(Init.calculateGain(Nonlinearity.LEAKY_RELU, 0.2)).isEqualTo(Math.sqrt(2 / 1.04));
        assertThat(Init.calculateGain(Nonlinearity.LEAKY_RELU, 0)).isEqualTo(Math.sqrt(2));
        assertThat(Init.calculateGain(Nonlinearity.LEAKY_RELU, Math.sqrt(5))).isCloseTo(Math.sqrt(1 / 3.0), within(1e-15));
        assertThat(Nonlinearity.fromTorchName("leaky_relu")).isEqualTo(Nonlinearity.LEAKY_RELU);
        assertThatThrownBy(() -> Nonlinearity.fromTorchName("swish")).hasMessageContaining("swish");
    }

    @Test
    void fans() {
        assertThat(Init.fanIn(5, 7)).isEqualTo(7);
        assertThat(Init.fanOut(5, 7)).isEqualTo(5);
        assertThat(Init.fanIn(16, 3, 5, 5)).isEqualTo(75);
        assertThat(Init.fanOut(16, 3, 5, 5)).isEqualTo(400);
        assertThat(Init.fan(FanMode.FAN_OUT, 8, 4, 3)).isEqualTo(24);
        assertThatThrownBy(() -> Init.fanIn(10)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fewer than 2 dimensions");
        assertThatThrownBy(() -> Init.kaimingUniform(Tensor.zeros(10), new Rng(1)))
                .hasMessageContaining("fewer than 2 dimensions");
        assertThatThrownBy(() -> Init.xavierNormal(Tensor.scalar(0), new Rng(1)))
                .hasMessageContaining("fewer than 2 dimensions");
    }

    @Test
    void kaimingUniformWithSqrt5IsTheLinearDefault() {
        int out = 300, in = 400;
        double bound = Init.kaimingUniformBound(new int[] {out, in}, Math.sqrt(5), FanMode.FAN_IN, Nonlinearity.LEAKY_RELU);
        assertThat(bound).isCloseTo(1 / Math.sqrt(in), within(1e-15));
        Tensor w = Init.kaimingUniform(Tensor.zeros(out, in), new Rng(1), Math.sqrt(5), FanMode.FAN_IN, Nonlinearity.LEAKY_RELU);
        Stats s = Stats.of(w);
        assertThat(s.maxAbs).isLessThanOrEqualTo((float) bound).isGreaterThan((float) (0.99 * bound));
        assertThat(s.mean).isCloseTo(0, within(5 * bound / Math.sqrt(3 * s.n)));
        assertThat(s.std).isCloseTo(bound / Math.sqrt(3), within(0.01 * bound));
    }

    @Test
    void kaimingUniformDefaultsAndModes() {
        Tensor w = Init.kaimingUniform(Tensor.zeros(256, 64, 3, 3), new Rng(2));
        double bound = Math.sqrt(2) * Math.sqrt(3.0 / (64 * 9));
        Stats s = Stats.of(w);
        assertThat(s.maxAbs).isLessThanOrEqualTo((float) bound).isGreaterThan((float) (0.99 * bound));
        assertThat(s.std).isCloseTo(bound / Math.sqrt(3), within(0.01 * bound));

        Tensor v = Init.kaimingUniform(Tensor.zeros(100, 1000), new Rng(3), 0, FanMode.FAN_OUT, Nonlinearity.RELU);
        double b2 = Math.sqrt(2) * Math.sqrt(3.0 / 100);
        assertThat(Stats.of(v).maxAbs).isLessThanOrEqualTo((float) b2).isGreaterThan((float) (0.99 * b2));
    }

    @Test
    void kaimingNormalStd() {
        Tensor w = Init.kaimingNormal(Tensor.zeros(500, 800), new Rng(4), 0, FanMode.FAN_IN, Nonlinearity.RELU);
        Stats s = Stats.of(w);
        double std = Math.sqrt(2.0 / 800);
        assertThat(s.mean).isCloseTo(0, within(5 * std / Math.sqrt(s.n)));
        assertThat(s.std).isCloseTo(std, within(0.01 * std));
        Tensor t = Init.kaimingNormal(Tensor.zeros(400, 20, 5), new Rng(4), 0, FanMode.FAN_OUT, Nonlinearity.TANH);
        assertThat(Stats.of(t).std).isCloseTo(5.0 / 3 / Math.sqrt(2000), within(0.02 * 5.0 / 3 / Math.sqrt(2000)));
    }

    @Test
    void xavier() {
        Tensor w = Init.xavierUniform(Tensor.zeros(300, 500), new Rng(5), 2.0);
        double bound = 2.0 * Math.sqrt(6.0 / 800);
        Stats s = Stats.of(w);
        assertThat(s.maxAbs).isLessThanOrEqualTo((float) bound).isGreaterThan((float) (0.99 * bound));
        assertThat(s.std).isCloseTo(bound / Math.sqrt(3), within(0.01 * bound));

        Tensor n = Init.xavierNormal(Tensor.zeros(300, 500), new Rng(6));
        double std = Math.sqrt(2.0 / 800);
        assertThat(Stats.of(n).std).isCloseTo(std, within(0.01 * std));
        assertThat(Stats.of(n).mean).isCloseTo(0, within(5 * std / Math.sqrt(150_000)));
    }

    @Test
    void normalAndUniformAndConstants() {
        Stats n = Stats.of(Init.normal(Tensor.zeros(1000, 200), new Rng(7), 2.5, 0.3));
        assertThat(n.mean).isCloseTo(2.5, within(5 * 0.3 / Math.sqrt(200_000)));
        assertThat(n.std).isCloseTo(0.3, within(0.003));

        Tensor u = Init.uniform(Tensor.zeros(1000, 200), new Rng(8), -1, 3);
        Stats s = Stats.of(u);
        assertThat(s.min).isGreaterThanOrEqualTo(-1f);
        assertThat(s.max).isLessThanOrEqualTo(3f);
        assertThat(s.mean).isCloseTo(1, within(0.02));
        assertThat(s.std).isCloseTo(4 / Math.sqrt(12), within(0.01));

        Tensor z = Tensor.full(5f, 3, 4);
        assertThat(Init.zeros(z)).isSameAs(z);
        assertThat(z.toArray()).containsOnly(0f);
        assertThat(Init.ones(z).toArray()).containsOnly(1f);
        assertThat(Init.constant(z, -2.5f).toArray()).containsOnly(-2.5f);
        assertThatThrownBy(() -> Init.normal(z, new Rng(1), 0, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fillsViewsInPlaceWithoutTouchingTheRest() {
        Tensor base = Tensor.zeros(6, 8);
        Tensor view = base.transpose(0, 1).narrow(0, 2, 3); // [3, 6], not contiguous
        Init.uniform(view, new Rng(9), 1, 2);
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 8; j++) {
                float v = base.get(i, j);
                if (j >= 2 && j < 5) assertThat(v).isBetween(1f, 2f);
                else assertThat(v).isZero();
            }
        // Same draws, same row-major order, as filling a fresh contiguous tensor.
        Tensor fresh = Init.uniform(Tensor.zeros(3, 6), new Rng(9), 1, 2);
        assertThat(view.toArray()).containsExactly(fresh.toArray());
    }

    @Test
    void reproducibleAndEmptyIsANoOp() {
        Tensor a = Init.kaimingUniform(Tensor.zeros(8, 8), new Rng(10));
        Tensor b = Init.kaimingUniform(Tensor.zeros(8, 8), new Rng(10));
        assertThat(a.toArray()).containsExactly(b.toArray());
        Tensor e = Tensor.zeros(0, 5);
        assertThat(Init.kaimingUniform(e, new Rng(1))).isSameAs(e);
    }

    private record Stats(int n, double mean, double std, float min, float max, float maxAbs) {
        static Stats of(Tensor t) {
            float[] v = t.toArray();
            double s = 0, s2 = 0;
            float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
            for (float x : v) {
                s += x;
                s2 += (double) x * x;
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
            double mean = s / v.length;
            return new Stats(v.length, mean, Math.sqrt(s2 / v.length - mean * mean), min, max, Math.max(-min, max));
        }
    }
}
