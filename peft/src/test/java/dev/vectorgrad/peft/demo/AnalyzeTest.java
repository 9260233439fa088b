package dev.vectorgrad.peft.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bookkeeping of {@code analyze} that needs no training (the notebook 05 runs the training pieces in CI). */
class AnalyzeTest {
    @Test
    void ranksAreScaledSoThatTheLargestStaysAtAnEighthOfTheWidth() {
        assertThat(Analyze.rankScale(128)).isEqualTo(0.25);
        assertThat(Analyze.rankScale(512)).isEqualTo(1.0);
        assertThat(Analyze.rankScale(768)).isEqualTo(1.0);
        assertThat(Analyze.rankScale(64)).isEqualTo(0.125);
        for (int d : new int[] {64, 96, 128, 256, 512, 768}) assertThat(Analyze.scaled(64, d) * 8).as("d = %d", d).isLessThanOrEqualTo(d);
        assertThat(Analyze.scaled(8, 128)).isEqualTo(2);
        assertThat(Analyze.scaled(4, 128)).isEqualTo(1);
        assertThat(Analyze.scaled(4, 64)).isEqualTo(1); // never below 1
    }

    @Test
    void everyExperimentsRunIsPlannedOnceAndTable5HasEqualBudgets() {
        List<Analyze.Spec> specs = Analyze.specs(128);
        assertThat(new HashSet<>(specs)).hasSameSizeAs(specs);
        // Table 5 (7) + Table 6's new ranks (8) + φ / amplification extras (r = 16, two seed-2 runs) + VeRA (4)
        assertThat(specs).hasSize(22);
        for (int r : new int[] {1, 2, 4, 8, 16, 64}) assertThat(specs).contains(new Analyze.Spec("lora", Analyze.QV, r, Analyze.SEED));
        assertThat(specs).contains(new Analyze.Spec("lora", Analyze.QV, 64, Analyze.SEED2), new Analyze.Spec("lora", Analyze.QV, 16, Analyze.SEED2));
        // at d = 512 the scaled ranks are the paper's, so nothing extra is run for them
        assertThat(Analyze.specs(512)).hasSize(21);
        // equal trainable parameters in Table 5: r·(number of weight types) = 8
        for (Analyze.Spec s : specs.subList(0, 7)) assertThat(s.r() * s.targets().size()).as(s.name()).isEqualTo(8);
        assertThat(specs.get(6).name()).isEqualTo("LoRA q+k+v+o r=2");
    }

    @Test
    void interpolationIsLinearInLogX() {
        List<Double> x = List.of(1000.0, 10000.0), y = List.of(3.0, 2.0);
        assertThat(Analyze.interpolate(x, y, Math.sqrt(1000.0 * 10000.0))).isCloseTo(2.5, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(Analyze.interpolate(x, y, 10)).isEqualTo(3.0);
        assertThat(Analyze.interpolate(x, y, 1e6)).isEqualTo(2.0);
        assertThat(Analyze.clock(125.4)).isEqualTo("2:05");
    }
}
