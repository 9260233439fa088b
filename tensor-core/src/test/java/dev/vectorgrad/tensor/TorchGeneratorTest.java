package dev.vectorgrad.tensor;

import dev.vectorgrad.testdata.TestData;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class TorchGeneratorTest {

    @Test
    void mt19937ReferenceOutputsForSeed5489() {
        TorchGenerator g = new TorchGenerator(5489);
        long[] first = {3499211612L, 581869302L, 3890346734L, 3586334585L, 545404204L};
        for (long e : first) assertThat(g.nextUInt32() & 0xFFFFFFFFL).isEqualTo(e);
        for (int i = 6; i < 10000; i++) g.nextUInt32();
        assertThat(g.nextUInt32() & 0xFFFFFFFFL).as("10000th output").isEqualTo(4123659995L);
    }

    @Test
    void seedUsesTheLow32Bits() {
        TorchGenerator a = new TorchGenerator(1234), b = new TorchGenerator(1234 + (7L << 32));
        for (int i = 0; i < 1000; i++) assertThat(a.nextUInt32()).isEqualTo(b.nextUInt32());
    }

    @Test
    void uniformUsesOneOutputPerElementWith24Bits() {
        TorchGenerator a = new TorchGenerator(42), b = new TorchGenerator(42);
        float[] d = new float[1000];
        a.uniform(d, 0, d.length, -0.5f, 2f);
        for (float v : d) {
            float x = (b.nextUInt32() & 0xFFFFFF) / 16777216f;
            assertThat(v).isEqualTo(Math.fma(x, 2.5f, -0.5f)).isBetween(-0.5f, 2f);
        }
        assertThat(a.nextUInt32()).isEqualTo(b.nextUInt32());
    }

    @Test
    void veraProjectionBound() {
        Tensor t = TorchGenerator.veraProjection(new TorchGenerator(0), 64, 600);
        float bound = (float) Math.sqrt(6.0 / 600);
        float max = 0;
        for (float v : t.toArray()) max = Math.max(max, Math.abs(v));
        assertThat(max).isLessThanOrEqualTo(bound).isGreaterThan(0.99f * bound);
        assertThat(t.shape()).containsExactly(64, 600);
    }

    @Test
    void reproducesPeftVeraProjectionsBitExactly() throws Exception {
        Path file = TestData.hf("gpt2-small-vera/adapter/adapter_model.safetensors");
        try (SafetensorsFile f = Safetensors.read(file)) {
            Tensor a = f.tensor("base_model.vera_A"), b = f.tensor("base_model.vera_B");
            int r = a.size(0), maxIn = a.size(1), maxOut = b.size(0);
            assertThat(b.size(1)).isEqualTo(r);
            Tensor[] mine = TorchGenerator.veraProjections(1234, r, maxIn, maxOut);
            assertBitExact(mine[0], a, "vera_A");
            assertBitExact(mine[1], b, "vera_B");
        }
    }

    @Test
    void kaimingUniformLikeTorchWithSqrt5MatchesTheLinearBound() {
        TorchGenerator g = new TorchGenerator(3), ref = new TorchGenerator(3);
        Tensor w = g.kaimingUniformLikeTorch(Tensor.zeros(8, 50), Math.sqrt(5), Init.FanMode.FAN_IN, Init.Nonlinearity.LEAKY_RELU);
        float[] expect = new float[400];
        double a = Math.sqrt(5), bound = Math.sqrt(3.0) * (Math.sqrt(2.0 / (1 + a * a)) / Math.sqrt(50));
        ref.uniform(expect, 0, 400, (float) -bound, (float) bound);
        assertThat(w.toArray()).containsExactly(expect);
        assertThat(bound).isCloseTo(1 / Math.sqrt(50), org.assertj.core.api.Assertions.within(1e-12));
    }

    private static void assertBitExact(Tensor mine, Tensor ref, String what) {
        assertThat(mine.shape()).as(what + " shape").containsExactly(ref.shape());
        float[] m = mine.toArray(), r = ref.toArray();
        for (int i = 0; i < m.length; i++)
            assertThat(Float.floatToRawIntBits(m[i])).as("%s element %d: %s vs %s", what, i, m[i], r[i])
                    .isEqualTo(Float.floatToRawIntBits(r[i]));
    }

}
