package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tuning file and the plan choice; the tuning itself never runs in tests (-Dvectorgrad.gemm.tune=false). */
class GemmTuningTest {
    @TempDir
    Path dir;

    @Test
    void testsRunTheBuiltInPlan() {
        assertThat(System.getProperty("vectorgrad.gemm.tune")).isEqualTo("false");
        if (System.getenv("VECTORGRAD_GEMM") == null) assertThat(Gemm.plan()).isEqualTo(Gemm.builtinPlan());
        assertThat(GemmTuning.describe()).contains(Gemm.plan().toString());
    }

    @Test
    void theFileRoundTripsAndIsWrittenWhole() throws IOException {
        Path f = dir.resolve("sub").resolve("gemm-x.txt");
        Gemm.Plan p = new Gemm.Plan(Gemm.Kernel.K6x2, 128, 96, 2 * Gemm.L * 7);
        GemmTuning.write(f, new GemmTuning.Result(p, "kernel 6x2 1.0 GFLOP/s\n"));
        assertThat(GemmTuning.read(f)).isEqualTo(p);
        assertThat(Files.readString(f)).contains("plan=" + p).contains("# kernel 6x2");
        try (var files = Files.list(f.getParent())) {
            assertThat(files.map(x -> x.getFileName().toString()).toList()).containsExactly("gemm-x.txt");
        }
        Files.writeString(f, "plan=9x9,1,1,1\n");
        assertThatThrownBy(() -> GemmTuning.read(f)).hasMessageContaining("9x9").hasMessageContaining(f.toString());
    }

    @Test
    void candidatesFitTheRegisterFileAndTheFileNamesTheMachine() {
        assertThat(GemmTuning.candidates()).isNotEmpty().allSatisfy(k -> assertThat(k.registers()).isLessThanOrEqualTo(GemmTuning.registers()));
        assertThat(GemmTuning.candidates()).contains(Gemm.builtinPlan().kernel());
        assertThat(GemmTuning.file().getFileName().toString())
                .startsWith("gemm-").endsWith(".txt").contains(Gemm.S.vectorBitSize() + "bit-jdk" + Runtime.version().feature());
    }
}
