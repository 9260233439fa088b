package dev.vectorgrad.peft.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftDemoTest {
    static final List<String> METHODS = List.of("pretrained (no tuning)", "full FT", "BitFit", "LoRA r=1", "LoRA r=8", "rsLoRA r=8",
            "LoRA+ r=8", "LoRA-FA r=8", "PiSSA r=8", "VeRA r=64", "VeRA r=256", "DoRA r=8", "AdaLoRA r=12→8", "LoRA-GA r=8", "LoRA-Pro r=8",
            "FLoRA r=8", "LoRA-Drop r=8", "Adapter (Houlsby)", "Adapter (Pfeiffer)");

    /**
     * A small budget that is still long enough for every method to beat the pretrained model by a clear margin,
     * VeRA included (its λ_b starts at zero, so it moves last): 40 pretraining iterations, 12 tuning steps.
     * VeRA's margin here is ≈ 0.035, the smallest; with the 6 steps of {@link PeftDemo.Plan#quick()} it is 0.006.
     */
    static final PeftDemo.Plan PLAN = new PeftDemo.Plan(120_000, 4, 40, 12, 4, 2);

    @Test
    void everyMethodLowersTheTargetLossAndTwoRunsGiveTheSameLosses(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PeftDemo.Report a = new PeftDemo(PLAN, dir.resolve("a"), new PrintStream(buf, true, StandardCharsets.UTF_8)).run();
        // the repeat runs the rows whose flow is not one plain loop (two phases, gradient passes, a hook, a restructure) and one plain
        // LoRA: each row starts from the same seeds whatever ran before it, so a row alone must give the losses it gave in the full run
        java.util.Set<String> again = java.util.Set.of("LoRA r=8", "VeRA r=256", "AdaLoRA r=12→8", "LoRA-GA r=8", "LoRA-Pro r=8", "LoRA-Drop r=8");
        PeftDemo.Report b = new PeftDemo(PLAN, dir.resolve("b"), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), again::contains).run();
        java.util.Map<String, PeftDemo.Row> bRows = new java.util.HashMap<>();
        for (PeftDemo.Row r : b.rows()) bRows.put(r.method(), r);
        assertThat(bRows.keySet()).containsAll(again);

        String[] lines = a.table().split("\n");
        assertThat(lines[0]).isEqualTo("| method | trainable params | adapter file bytes | target val loss | ms/step | peak heap MB |");
        assertThat(lines).hasSize(2 + METHODS.size());
        for (int i = 0; i < METHODS.size(); i++) {
            assertThat(lines[2 + i]).startsWith("| " + METHODS.get(i) + " |");
            assertThat(lines[2 + i].split("\\|", -1)).hasSize(8);
        }
        assertThat(buf.toString(StandardCharsets.UTF_8)).contains(a.table());
        assertThat(Files.readString(a.markdown())).contains(a.table());
        assertThat(Files.size(a.png())).isPositive();

        assertThat(a.rows()).extracting(PeftDemo.Row::method).containsExactlyElementsOf(METHODS);
        for (int i = 0; i < a.rows().size(); i++) {
            PeftDemo.Row x = a.rows().get(i), y = bRows.get(x.method());
            if (y != null) {
                // same seeds, same batches: bit-identical losses (every kernel sums in a fixed order, JIT or not)
                assertThat(y.evalLoss()).as(x.method()).hasSameSizeAs(x.evalLoss());
                for (int k = 0; k < x.evalLoss().size(); k++)
                    assertThat(y.evalLoss().get(k)).as(x.method() + " eval " + k).isEqualTo(x.evalLoss().get(k));
                assertThat(y.trainable()).isEqualTo(x.trainable());
                assertThat(y.fileBytes()).isEqualTo(x.fileBytes());
            }
            if (i > 0) {
                assertThat(x.trainable()).isPositive();
                assertThat(x.fileBytes()).isPositive();
                assertThat(x.valLoss()).as(x.method()).isFinite();
                // every method adapts: its target loss ends clearly below the pretrained model's
                assertThat(x.valLoss()).as(x.method() + " vs the pretrained model's " + a.targetValPretrained()).isLessThan(a.targetValPretrained() - 0.01);
            }
        }
        // the shift is real: the English model is worse on Dutch than on English
        assertThat(a.targetValPretrained()).isGreaterThan(a.sourceVal());
        // VeRA trains far fewer parameters than LoRA r=8, and its file holds only the λ vectors
        assertThat(a.rows().get(10).trainable()).isLessThan(a.rows().get(4).trainable() / 4);
        assertThat(a.rows().get(10).fileBytes()).isLessThan(a.rows().get(4).fileBytes() / 4);
        // LoRA-Drop shares pairs (never more parameters than LoRA r=8), and the notes say what it kept and what LoRA-GA's passes cost
        assertThat(a.rows().get(METHODS.indexOf("LoRA-Drop r=8")).trainable()).isLessThanOrEqualTo(a.rows().get(METHODS.indexOf("LoRA r=8")).trainable());
        assertThat(a.notes()).anySatisfy(n -> assertThat(n).startsWith("LoRA-Drop r=8: plain LoRA r=8 trained on a sample for the first 1 of the 12 budget steps").contains("kept fraction"));
        assertThat(a.notes()).anySatisfy(n -> assertThat(n).startsWith("LoRA-GA r=8: its first 1 of the 12 budget steps were gradient-estimation passes"));
        assertThat(a.notes()).anySatisfy(n -> assertThat(n).startsWith("AdaLoRA r=12→8:").contains("final ranks per layer"));
        // PiSSA's file is the rank-2r conversion that reproduces the tuned model on the original base (twice LoRA r=8's tensors)
        assertThat(a.rows().get(8).fileBytes()).isGreaterThan(a.rows().get(4).fileBytes() * 19 / 10);
    }
}
