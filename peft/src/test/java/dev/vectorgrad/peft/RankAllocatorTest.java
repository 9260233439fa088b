package dev.vectorgrad.peft;

import static dev.vectorgrad.peft.PeftModelTest.input;
import static dev.vectorgrad.peft.PeftModelTest.maxAbsDiff;
import static dev.vectorgrad.peft.PeftModelTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vectorgrad.autograd.Variable;
import dev.vectorgrad.tensor.Init;
import dev.vectorgrad.tensor.Rng;
import dev.vectorgrad.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AdaLoRA's budget schedule, importance and masking against lora-family.md §1.5–1.6 and hand computations. */
class RankAllocatorTest {
    @Test
    void budgetScheduleReproducesTheTable() {
        // lora-family.md §1.6: init_bgt 48 (4 layers × 12), target_bgt 32, tinit 10, tfinal 20, T 100
        int[] steps = {0, 10, 11, 12, 20, 45, 79, 80, 81, 100};
        int[] want = {48, 48, 47, 46, 42, 34, 32, 32, 32, 32};
        for (int i = 0; i < steps.length; i++)
            assertThat(RankAllocator.budget(steps[i], 48, 32, 10, 20, 100, 1).budget()).as("step " + steps[i]).isEqualTo(want[i]);
        assertThat(RankAllocator.budget(10, 48, 32, 10, 20, 100, 1).mask()).isFalse(); // warm-up
        assertThat(RankAllocator.budget(45, 48, 32, 10, 20, 100, 10).mask()).isFalse(); // not a multiple of deltaT
        assertThat(RankAllocator.budget(50, 48, 32, 10, 20, 100, 10).mask()).isTrue();
        assertThat(RankAllocator.budget(81, 48, 32, 10, 20, 100, 10).mask()).isTrue(); // final phase
    }

    /** Element score after one update from zero EMAs: Ī = (1−β1)·I, Ū = (1−β2)·|I − Ī|, s = Ī·Ū. */
    static double elementScore(double p, double g, double b1, double b2) {
        double ipt = Math.abs(p * g), avg = (1 - b1) * ipt, unc = (1 - b2) * Math.abs(ipt - avg);
        return avg * unc;
    }

    @Test
    void oneStepOfImportanceMasksTheLowestTriplets(@TempDir Path dir) throws Exception {
        // 2 layers (fc: 4 → 8) × init_r 3 = 6 triplets; target_r 1; at step 5 of 10 the budget is
        // int((6 − 2)·0.5³ + 2) = 2, so k = 4 triplets go.
        Toy t = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(t, PeftConfig.adalora(3, 1, 10).betas(0.8, 0.6).targets("fc"));
        Rng rng = new Rng(5);
        for (Variable p : pm.namedAdapterParameters("default").values()) {
            Init.normal(p.data(), rng, 0, 1);
            Tensor g = Tensor.zeros(p.shape());
            Init.normal(g, rng, 0, 1);
            p.setGrad(g);
        }
        // the expected scores, from the values and gradients, by hand
        double[] all = new double[6];
        int idx = 0;
        for (String path : List.of("layers.0.fc", "layers.1.fc")) {
            AdaLoraLinear l = (AdaLoraLinear) pm.adaptedLayers().get(path);
            float[] a = l.a("default").data().toArray(), ga = l.a("default").grad().toArray();
            float[] e = l.e("default").data().toArray(), ge = l.e("default").grad().toArray();
            float[] b = l.b("default").data().toArray(), gb = l.b("default").grad().toArray();
            for (int i = 0; i < 3; i++) {
                double sa = 0, sb = 0;
                for (int j = 0; j < 4; j++) sa += elementScore(a[i * 4 + j], ga[i * 4 + j], 0.8, 0.6);
                for (int j = 0; j < 8; j++) sb += elementScore(b[j * 3 + i], gb[j * 3 + i], 0.8, 0.6);
                all[idx++] = elementScore(e[i], ge[i], 0.8, 0.6) + sa / 4 + sb / 8;
            }
        }
        double[] sorted = all.clone();
        java.util.Arrays.sort(sorted);
        double tau = sorted[3];
        float[][] eBefore = {((AdaLoraLinear) pm.adaptedLayers().get("layers.0.fc")).e("default").data().toArray(),
                ((AdaLoraLinear) pm.adaptedLayers().get("layers.1.fc")).e("default").data().toArray()};

        pm.updateAndAllocate(5);

        int kept = 0;
        for (int layer = 0; layer < 2; layer++) {
            AdaLoraLinear l = (AdaLoraLinear) pm.adaptedLayers().get("layers." + layer + ".fc");
            boolean[] keep = l.pattern("default");
            float[] e = l.e("default").data().toArray();
            for (int i = 0; i < 3; i++) {
                boolean want = all[layer * 3 + i] > tau;
                assertThat(keep[i]).as("layer %d triplet %d", layer, i).isEqualTo(want);
                assertThat(e[i]).isEqualTo(want ? eBefore[layer][i] : 0f);
                if (want) kept++;
            }
        }
        assertThat(kept).isEqualTo(2);
        assertThat(pm.rankAllocator().ranks().values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(2);

        // saved as PEFT saves it (sliced, boolean rank_pattern) and reloaded onto a fresh model: the same outputs
        Tensor x = input(3, 4, 2);
        Tensor y = run(t, x);
        PeftFiles.save(pm, "default", dir);
        String json = java.nio.file.Files.readString(dir.resolve(PeftFiles.CONFIG));
        assertThat(json).contains("\"peft_type\": \"ADALORA\"").contains("layers.0.fc.lora_E");
        Toy fresh = new Toy(4, 2, 1);
        PeftModel back = PeftFiles.load(fresh, dir);
        AdaLoraLinear l0 = (AdaLoraLinear) back.adaptedLayers().get("layers.0.fc");
        AdaLoraLinear orig0 = (AdaLoraLinear) pm.adaptedLayers().get("layers.0.fc");
        int k0 = 0;
        for (boolean b : orig0.pattern("default")) if (b) k0++;
        assertThat(l0.a("default").shape()).containsExactly(k0, 4);
        assertThat(l0.scaling("default")).isEqualTo(orig0.scaling("default")); // from init_r, not r_k
        assertThat(maxAbsDiff(run(fresh, x), y)).isLessThan(1e-6);
    }

    @Test
    void aLayerPrunedToNothingSavesAndLoadsAsAnEmptyAdapter(@TempDir Path dir) throws Exception {
        Toy t = new Toy(4, 2, 1);
        PeftModel pm = PeftModel.wrap(t, PeftConfig.adalora(2, 1, 10).targets("fc"));
        Rng rng = new Rng(6);
        for (Variable p : pm.namedAdapterParameters("default").values()) Init.normal(p.data(), rng, 0, 1);
        AdaLoraLinear l0 = (AdaLoraLinear) pm.adaptedLayers().get("layers.0.fc");
        l0.setPattern("default", new boolean[] {false, false});
        l0.e("default").data().copyFrom(Tensor.zeros(2, 1)); // what the mask does to E
        Tensor x = input(3, 4, 2);
        Tensor y = run(t, x);
        PeftFiles.save(pm, "default", dir);
        Toy fresh = new Toy(4, 2, 1);
        PeftModel back = PeftFiles.load(fresh, dir);
        assertThat(((AdaLoraLinear) back.adaptedLayers().get("layers.0.fc")).a("default").shape()).containsExactly(0, 4);
        assertThat(((AdaLoraLinear) back.adaptedLayers().get("layers.1.fc")).a("default").shape()).containsExactly(2, 4);
        assertThat(maxAbsDiff(run(fresh, x), y)).isLessThan(1e-6);
    }

    @Test
    void orthogonalLossIsTheMeanUnsquaredFrobeniusDistance() {
        Toy t = new Toy(4, 1, 1);
        PeftModel pm = PeftModel.wrap(t, PeftConfig.adalora(2, 1, 10).orthRegWeight(0.5).targets("fc"));
        AdaLoraLinear l = (AdaLoraLinear) pm.adaptedLayers().get("layers.0.fc");
        float[] a = l.a("default").data().toArray(), b = l.b("default").data().toArray(); // A 2×4, B 8×2
        double ra = 0, rb = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                double ca = 0, cb = 0;
                for (int c = 0; c < 4; c++) ca += (double) a[i * 4 + c] * a[j * 4 + c];
                for (int c = 0; c < 8; c++) cb += (double) b[c * 2 + i] * b[c * 2 + j];
                ra += Math.pow(ca - (i == j ? 1 : 0), 2);
                rb += Math.pow(cb - (i == j ? 1 : 0), 2);
            }
        double want = 0.5 * (Math.sqrt(ra) + Math.sqrt(rb)) / 2;
        assertThat((double) pm.rankAllocator().orthogonalLoss().item()).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-5 * want));
    }
}
